import { describe, expect, it } from 'vitest';
import { caseload, type CaseloadHouseholds } from './caseload.ts';
import type { Household } from './eligibility.ts';
import { TriggerInputError } from './input-error.ts';
import { household, makeRule } from './test-factories.ts';

const NOW = new Date('2025-08-21T09:00:00Z');
const nothingCommitted = { pkr: 0 };
const at = (list: Household[], over: Partial<CaseloadHouseholds> = {}): CaseloadHouseholds => ({ stage: 'activation', list, ...over });
const sum = (xs: readonly { amountPkr: number }[]) => xs.reduce((s, x) => s + x.amountPkr, 0);

/** 50:50 federal and the household's own province, as the 2022 flood relief was co-financed. */
const coFinanced = (over: Record<string, unknown> = {}) =>
  makeRule({
    funding: {
      ceiling_pkr: 1_000_000_000,
      payers: [
        { agency: 'BISP', jurisdiction: 'federal', share_bp: 5000 },
        { agency: 'Provincial finance', jurisdiction: 'household-province', share_bp: 5000 },
      ],
    },
    ...over,
  });

describe('caseload: payer shares', () => {
  it('splits each line among the payers to the rupee, and the totals by payer and by district add up to what is paid', () => {
    // PKR 1,001 × 3 members = PKR 3,003: an odd amount, so one payer gets the extra rupee.
    const rule = coFinanced({ benefit: { per_member_pkr: 1001 } });
    const list = [household({ size: 3, tehsil: 'PK70101' }), household({ size: 3, tehsil: 'PK70201' }), household({ size: 2, tehsil: 'PK20101' })];
    const r = caseload(rule, at(list), nothingCommitted, NOW);

    for (const line of r.lines) expect(line.payers.reduce((s, p) => s + p.amount, 0)).toBe(line.amount);
    expect(r.lines[0]!.payers.map((p) => p.amount)).toEqual([1502, 1501]);
    expect(r.totals.totalPkr).toBe(3003 + 3003 + 2002);
    expect(sum(r.totals.byPayer)).toBe(r.totals.totalPkr);
    expect(sum(r.totals.byArea)).toBe(r.totals.totalPkr);
    expect(r.totals.byArea).toEqual([
      { district: 'PK701', households: 1, amountPkr: 3003 },
      { district: 'PK702', households: 1, amountPkr: 3003 },
      { district: 'PK201', households: 1, amountPkr: 2002 },
    ]);
  });

  it('charges a household-province payer to the province each household lives in', () => {
    const list = [household({ tehsil: 'PK70101' }), household({ tehsil: 'PK70102' }), household({ tehsil: 'PK20101' })];
    const r = caseload(coFinanced(), at(list), nothingCommitted, NOW);
    expect(r.totals.byPayer).toEqual([
      { agency: 'BISP', jurisdiction: 'federal', households: 3, amountPkr: 37_500 },
      { agency: 'Provincial finance', jurisdiction: 'PK7', households: 2, amountPkr: 25_000 },
      { agency: 'Provincial finance', jurisdiction: 'PK2', households: 1, amountPkr: 12_500 },
    ]);
    const balochistan = r.lines.find((l) => l.householdId === list[2]!.id)!;
    expect(balochistan.payers.map((p) => `${p.agency} ${p.jurisdiction} ${p.amount}`)).toEqual(['BISP federal 12500', 'Provincial finance PK2 12500']);
  });

  it('keeps a household the gazetteer could not place, its provincial share marked province-unknown', () => {
    const unplaced = household({ areaCodes: { province: '', district: '', tehsil: '' } });
    const r = caseload(coFinanced(), at([unplaced]), nothingCommitted, NOW);
    expect(r.lines.map((l) => l.payers.map((p) => p.jurisdiction))).toEqual([['federal', 'province-unknown']]);
    expect(r.totals.byPayer.map((p) => [p.jurisdiction, p.amountPkr])).toEqual([
      ['federal', 12_500],
      ['province-unknown', 12_500],
    ]);
    expect(r.totals.byArea).toEqual([{ district: 'unknown', households: 1, amountPkr: 25_000 }]);
  });
});

describe('caseload: the ceiling', () => {
  const flat = (ceiling: number) =>
    makeRule({ funding: { ceiling_pkr: ceiling, payers: [{ agency: 'BISP', jurisdiction: 'federal', share_bp: 10000 }] } });

  it('pays the poorest first, ties by household number, and returns the cut ones with the ceiling text', () => {
    const list = [household({ id: '300', pmt: 30 }), household({ id: '10', pmt: 20 }), household({ id: '9', pmt: 20 }), household({ id: '7', pmt: 45 })];
    const r = caseload(flat(75_000), at(list), nothingCommitted, NOW);
    // By string "10" would sort before "9"; by number 9 comes first.
    expect(r.lines.map((l) => l.householdId)).toEqual(['9', '10', '300']);
    expect(r.cut.map((l) => l.householdId)).toEqual(['7']);
    expect(r.totals).toMatchObject({ eligible: 4, requestedPkr: 100_000, totalPkr: 75_000, households: 3 });
    expect(r.totals.ceiling).toEqual({
      ceilingPkr: 75_000,
      committedPkr: 0,
      cutHouseholds: 1,
      cutPkr: 25_000,
      text: '1 lines (PKR 25,000) cut: the ceiling of PKR 75,000 leaves PKR 75,000 of headroom, PKR 75,000 used by 3 lines',
    });
  });

  it('counts what is already committed against the ceiling: only the headroom left is paid', () => {
    const list = [household({ id: '1', pmt: 10 }), household({ id: '2', pmt: 11 }), household({ id: '3', pmt: 12 })];
    const r = caseload(flat(100_000), at(list), { pkr: 60_000 }, NOW);
    expect(r.lines.map((l) => l.householdId)).toEqual(['1']);
    expect(r.totals.ceiling).toMatchObject({ ceilingPkr: 100_000, committedPkr: 60_000, cutHouseholds: 2, cutPkr: 50_000 });
    expect(r.totals.ceiling.text).toContain('leaves PKR 40,000 of headroom');
  });
});

describe('caseload: reasons', () => {
  it('names the unit, the cut-off and its rank for a poorest-percent rule, and the benefit', () => {
    const rule = makeRule({ eligibility: { sources: ['NSER'], poorest_percent: { percent: 60, within_level: 3 } }, benefit: { flat_pkr: 25000, instalments: 2 } });
    const list = [10, 50, 20, 40, 30].map((pmt) => household({ pmt, tehsil: 'PK70101' }));
    const r = caseload(rule, at(list, { areaCodes: ['PK701'] }), nothingCommitted, NOW);
    expect(r.lines.map((l) => l.pmt)).toEqual([10, 20, 30]);
    expect(r.lines[2]!.reasons).toEqual([
      "listed in NSER, one of the rule's registries",
      "lives in PK70101, inside the action's area PK701",
      'PMT at or under 30, the cut-off for the poorest 60 % of tehsil PK70101 (rank 3 of 5)',
      'PKR 25,000, the same for every household, paid in 2 instalments',
    ]);
    expect(r.totals).toMatchObject({ householdsInArea: 5, eligible: 3, percent: 60 });
    expect(r.totals.excluded.percentile).toBe(2);
  });

  it('says which flags each household matched, the PMT limit, the enrolment test and how a per-member amount was capped', () => {
    const rule = makeRule({
      eligibility: { sources: ['NSER'], pmt_at_most: 32.5, flags_any: ['elderly', 'disabled'], enrolment_excluded: ['kafaalat'] },
      benefit: { per_member_pkr: 2000, cap_pkr: 10000 },
    });
    const none = { femaleHeaded: false, disabled: false, elderly: false, childrenUnder5: false };
    const list = [
      household({ id: '1', pmt: 10, size: 7, flags: { ...none, disabled: true } }),
      household({ id: '2', pmt: 11, size: 7, flags: { ...none, elderly: true, disabled: true } }),
      household({ id: '3', pmt: 12, size: 1, flags: { ...none, disabled: true } }),
      household({ id: '4', pmt: 13, flags: none }),
    ];
    const r = caseload(rule, at(list), nothingCommitted, NOW);
    expect(r.lines.map((l) => l.householdId)).toEqual(['1', '2', '3']);
    expect(r.lines[0]!.reasons).toEqual([
      "listed in NSER, one of the rule's registries",
      "PMT at or under the rule's limit of 32.5",
      'disabled (the rule asks for any of elderly, disabled)',
      'not enrolled in kafaalat, which the rule excludes',
      'PKR 2,000 × 7 members = PKR 14,000, capped at PKR 10,000',
    ]);
    expect(r.lines[1]!.reasons[2]).toBe('elderly and disabled (the rule asks for any of elderly, disabled)');
    expect(r.lines[2]!.reasons.slice(2)).toEqual([
      'disabled (the rule asks for any of elderly, disabled)',
      'not enrolled in kafaalat, which the rule excludes',
      'PKR 2,000 × 1 member = PKR 2,000',
    ]);
    expect(r.totals.excluded.flags).toBe(1);
  });
});

describe('caseload: edges', () => {
  it('an area with no households costs nothing and still says so at `now`', () => {
    const r = caseload(coFinanced(), at([]), nothingCommitted, NOW);
    expect(r).toEqual({
      asOf: '2025-08-21T09:00:00.000Z',
      lines: [],
      cut: [],
      totals: {
        householdsInArea: 0,
        eligible: 0,
        percent: null,
        cutoffs: [],
        excluded: { source: 0, area: 0, pmt: 0, percentile: 0, flags: 0, enrolment: 0, coverage: 0 },
        note: '',
        requestedPkr: 0,
        totalPkr: 0,
        households: 0,
        ceiling: { ceilingPkr: 1_000_000_000, committedPkr: 0, cutHouseholds: 0, cutPkr: 0, text: '0 lines, PKR 0 within the ceiling of PKR 1,000,000,000 (PKR 1,000,000,000 left)' },
        byPayer: [],
        byArea: [],
      },
    });
  });

  it('refuses input a person could correct with TriggerInputError naming the value', () => {
    const list = [household({ id: '1' })];
    expect(() => caseload(coFinanced(), at(list), { pkr: -1 }, NOW)).toThrow(new TriggerInputError('committed must be a non-negative whole number of rupees, got -1'));
    expect(() => caseload(coFinanced(), at([...list, household({ id: '1' })]), nothingCommitted, NOW)).toThrow(TriggerInputError);
    const perMember = coFinanced({ benefit: { per_member_pkr: 1000 } });
    expect(() => caseload(perMember, at([household({ size: 0 })]), nothingCommitted, NOW)).toThrow(TriggerInputError);
  });
});
