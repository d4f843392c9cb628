import { describe, expect, it } from 'vitest';
import { percentileCutoffs, selectEligible } from './eligibility.ts';
import { household, makeRule } from './test-factories.ts';
import type { Eligibility } from './rule-schema.ts';

const elig = (e: Record<string, unknown>): Eligibility => makeRule({ eligibility: e }).eligibility;

describe('percentile within a unit', () => {
  it('takes the poorest ceil(p × n / 100) by PMT in each tehsil and records the cut-off', () => {
    const a = [10, 50, 20, 40, 30].map((pmt) => household({ pmt, tehsil: 'PK70101' }));
    const b = [5, 90, 60].map((pmt) => household({ pmt, tehsil: 'PK70102' }));
    const r = selectEligible(elig({ sources: ['NSER'], poorest_percent: { percent: 60, within_level: 3 } }), [...a, ...b], { stage: 'activation' });
    // 60 % of 5 = 3 → PMT 10, 20, 30; 60 % of 3 = 1.8 → 2 → PMT 5, 60.
    expect(r.eligible).toEqual([a[0]!.id, a[2]!.id, a[4]!.id, b[0]!.id, b[2]!.id]);
    expect(r.cutoffs).toEqual([
      { level: 3, areaCode: 'PK70101', percent: 60, households: 5, rank: 3, pmtCutoff: 30, atOrUnder: 3 },
      { level: 3, areaCode: 'PK70102', percent: 60, households: 3, rank: 2, pmtCutoff: 60, atOrUnder: 2 },
    ]);
    expect(r.excluded.percentile).toBe(3);
  });

  it('includes every household tied at the cut-off score', () => {
    const hs = [10, 20, 20, 20, 50].map((pmt) => household({ pmt }));
    const [cut] = percentileCutoffs(hs, 40, 3);
    expect(cut).toMatchObject({ rank: 2, pmtCutoff: 20, atOrUnder: 4 });
    expect(selectEligible(elig({ sources: ['NSER'], poorest_percent: { percent: 40 } }), hs, { stage: 'activation' }).eligible).toHaveLength(4);
  });

  it('always takes at least one household, and 100 % takes all', () => {
    const hs = [30, 10, 20].map((pmt) => household({ pmt }));
    expect(percentileCutoffs(hs, 1, 3)[0]).toMatchObject({ rank: 1, pmtCutoff: 10 });
    expect(percentileCutoffs(hs, 100, 3)[0]).toMatchObject({ rank: 3, pmtCutoff: 30, atOrUnder: 3 });
  });

  it('ranks within the level asked for: district (2) pools its tehsils', () => {
    const hs = [household({ pmt: 10, tehsil: 'PK70101' }), household({ pmt: 20, tehsil: 'PK70102' })];
    const r = selectEligible(elig({ sources: ['NSER'], poorest_percent: { percent: 50, within_level: 2 } }), hs, { stage: 'activation' });
    expect(r.cutoffs.map((c) => c.areaCode)).toEqual(['PK701']);
    expect(r.eligible).toEqual([hs[0]!.id]);
  });

  it('takes the distribution over the listed sources in the declared area only', () => {
    const inside = household({ pmt: 40, tehsil: 'PK70101' });
    const otherRegistry = household({ pmt: 1, tehsil: 'PK70101', source: 'PSER' });
    const outside = household({ pmt: 2, tehsil: 'PK70201' });
    const r = selectEligible(elig({ sources: ['NSER'], poorest_percent: { percent: 50 } }), [inside, otherRegistry, outside], {
      stage: 'activation',
      areaCodes: ['PK70101'],
    });
    expect(r.eligible).toEqual([inside.id]);
    expect(r.cutoffs).toEqual([expect.objectContaining({ households: 1, pmtCutoff: 40 })]);
    expect(r.excluded).toMatchObject({ source: 1, area: 1 });
  });
});

describe('coverage tiers by severity (drought)', () => {
  const drought = elig({
    sources: ['NSER'],
    coverage: {
      within_level: 2,
      tiers: [
        { severity_at_least: 'Moderate', poorest_percent: 25 },
        { severity_at_least: 'Severe', poorest_percent: 50 },
        { severity_at_least: 'Extreme', poorest_percent: 75 },
      ],
    },
  });
  const hs = Array.from({ length: 8 }, (_, i) => household({ pmt: 10 + i }));

  it.each([
    ['Moderate', 25, 2],
    ['Severe', 50, 4],
    ['Extreme', 75, 6],
  ] as const)('severity %s covers the poorest %d %% (%d of 8)', (severity, percent, count) => {
    const r = selectEligible(drought, hs, { stage: 'activation', severity });
    expect(r.percent).toBe(percent);
    expect(r.eligible).toEqual(hs.slice(0, count).map((h) => h.id));
  });

  it('below the lowest tier nobody is covered, and the result says why', () => {
    const r = selectEligible(drought, hs, { stage: 'activation', severity: 'Minor' });
    expect(r.eligible).toEqual([]);
    expect(r.note).toBe('no coverage tier applies to activation at severity Minor');
  });

  it('a tier may be limited to a stage', () => {
    const e = elig({ sources: ['NSER'], coverage: { tiers: [{ stage: 'readiness', poorest_percent: 100 }, { stage: 'activation', poorest_percent: 50 }] } });
    expect(selectEligible(e, hs, { stage: 'readiness' }).eligible).toHaveLength(8);
    expect(selectEligible(e, hs, { stage: 'activation' }).eligible).toHaveLength(4);
  });
});

describe('other tests', () => {
  const flags = (f: Partial<ReturnType<typeof household>['flags']>) => ({ femaleHeaded: false, disabled: false, elderly: false, childrenUnder5: false, ...f });

  it('pmt_at_most keeps PMT ≤ the threshold', () => {
    const hs = [31, 32, 33].map((pmt) => household({ pmt }));
    expect(selectEligible(elig({ sources: ['NSER'], pmt_at_most: 32 }), hs, { stage: 'activation' }).eligible).toEqual([hs[0]!.id, hs[1]!.id]);
  });

  it('flags_any (heatwave): an elderly or a disabled member', () => {
    const hs = [household({ flags: flags({ elderly: true }) }), household({ flags: flags({ disabled: true }) }), household({ flags: flags({ femaleHeaded: true }) })];
    const r = selectEligible(elig({ sources: ['NSER'], flags_any: ['elderly', 'disabled'] }), hs, { stage: 'activation' });
    expect(r.eligible).toEqual([hs[0]!.id, hs[1]!.id]);
    expect(r.excluded.flags).toBe(1);
  });

  it('flags_all needs every flag', () => {
    const both = household({ flags: flags({ femaleHeaded: true, childrenUnder5: true }) });
    const one = household({ flags: flags({ femaleHeaded: true }) });
    expect(selectEligible(elig({ sources: ['NSER'], flags_all: ['female_headed', 'children_under5'] }), [both, one], { stage: 'activation' }).eligible).toEqual([both.id]);
  });

  it('enrolment required and excluded', () => {
    const kafaalat = household({ enrolments: ['kafaalat'] });
    const none = household();
    const both = household({ enrolments: ['kafaalat', 'sspa-cash'] });
    const e = elig({ sources: ['NSER'], enrolment_required: ['kafaalat'], enrolment_excluded: ['sspa-cash'] });
    const r = selectEligible(e, [kafaalat, none, both], { stage: 'activation' });
    expect(r.eligible).toEqual([kafaalat.id]);
    expect(r.excluded.enrolment).toBe(2);
  });

  it('matches programme names whatever their case: the registry writes KAFAALAT, the Sindh rule `kafaalat`', () => {
    const enrolled = household({ enrolments: ['KAFAALAT'] });
    const barred = household({ enrolments: ['KAFAALAT', 'SSPA-CASH'] });
    const e = elig({ sources: ['NSER'], enrolment_required: ['kafaalat'], enrolment_excluded: ['sspa-cash'] });
    expect(selectEligible(e, [enrolled, barred], { stage: 'activation' }).eligible).toEqual([enrolled.id]);
  });
});
