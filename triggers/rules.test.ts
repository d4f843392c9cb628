import { readFileSync, readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseRule, RuleError, type Rule } from './rule-schema.ts';
import { ruleInput } from './test-factories.ts';
import { stringify } from 'yaml';

const rulesDir = new URL('./rules/', import.meta.url);
const load = (name: string): Rule => parseRule(readFileSync(new URL(name, rulesDir), 'utf8'));
const files = readdirSync(rulesDir).filter((f) => f.endsWith('.yaml'));

describe('the shipped rule files', () => {
  it('are the six agreed examples', () => {
    expect(files.sort()).toEqual(['cyclone.yaml', 'drought.yaml', 'earthquake.yaml', 'flood-relief-2022.yaml', 'heatwave.yaml', 'sindh-flood-kafaalat.yaml']);
  });

  it.each(files)('%s parses, is marked precedent or illustrative, and its id matches its file name', (file) => {
    const rule = load(file);
    expect(['precedent', 'illustrative']).toContain(rule.status);
    expect(`${rule.id}.yaml`).toBe(file);
  });

  it('flood-relief-2022 is the 2022 precedent: declaration, poorest 60 % per tehsil, PKR 25,000 once, 100 % federal, PKR 70 bn', () => {
    const r = load('flood-relief-2022.yaml');
    expect(r).toMatchObject({
      status: 'precedent',
      subject: 'event',
      requires_declaration: true,
      programme: 'BISP',
      purpose: 'flood_relief',
      eligibility: { sources: ['NSER'], poorest_percent: { percent: 60, within_level: 3 } },
      benefit: { flat_pkr: 25000, instalments: 1 },
      net_off: { same_event_and_purpose: true },
      funding: { ceiling_pkr: 70_000_000_000, payers: [{ agency: 'BISP', jurisdiction: 'federal', share_bp: 10000 }] },
    });
  });

  it('earthquake: M6.0 with PAGER orange/red, or GDACS Orange/Red; PMT ≤ 32; PKR 25,000; 50 % federal, 50 % the household province', () => {
    const r = load('earthquake.yaml');
    expect(r.stages.activation.when).toEqual({
      any: [{ all: [{ magnitude_at_least: 6 }, { pager_at_least: 'orange' }] }, { gdacs_at_least: 'orange' }],
    });
    expect(r.eligibility.pmt_at_most).toBe(32);
    expect(r.benefit.flat_pkr).toBe(25000);
    expect(r.funding.payers.map((p) => [p.jurisdiction, p.share_bp])).toEqual([
      ['federal', 5000],
      ['household-province', 5000],
    ]);
  });

  it('cyclone: readiness at 89 km/h, activation at 118 km/h or 1.5 m surge, on the coastal districts only', () => {
    const r = load('cyclone.yaml');
    expect(r.stages.readiness?.when).toEqual({ metric: { name: 'wind_speed_kmh', op: '>=', value: 89 } });
    expect(r.stages.activation.when).toEqual({
      any: [{ metric: { name: 'wind_speed_kmh', op: '>=', value: 118 } }, { metric: { name: 'storm_surge_m', op: '>=', value: 1.5 } }],
    });
    // Karachi's six districts, Thatta, Sujawal, Badin (Sindh); Gwadar, Lasbela (Balochistan).
    expect([...(r.scope as string[])].sort()).toEqual(['PK205', 'PK217', 'PK701', 'PK702', 'PK704', 'PK712', 'PK714', 'PK721', 'PK722', 'PK727', 'PK729']);
  });

  it('the cyclone scope codes are districts of the COD-AB gazetteer, on the coast of Sindh or Balochistan', () => {
    const geo = JSON.parse(readFileSync(new URL('../../shared/fixtures/pakistan/pak_adm2_districts_cod_pcodes_simplified.geojson', import.meta.url), 'utf8')) as {
      features: { properties: { pcode: string; name: string } }[];
    };
    const byCode = new Map(geo.features.map((f) => [f.properties.pcode, f.properties.name]));
    const names = (load('cyclone.yaml').scope as string[]).map((c) => byCode.get(c));
    expect(names).toEqual(['Central Karachi', 'East Karachi', 'Korangi Karachi', 'Malir Karachi', 'South Karachi', 'West Karachi', 'Thatta', 'Sujawal', 'Badin', 'Gwadar', 'Lasbela']);
  });

  it('heatwave: households with an elderly or a disabled member', () => {
    expect(load('heatwave.yaml').eligibility.flags_any).toEqual(['elderly', 'disabled']);
  });

  it('drought: 25 / 50 / 75 % of households by PMT as severity goes Moderate / Severe / Extreme', () => {
    expect(load('drought.yaml').eligibility.coverage?.tiers).toEqual([
      { severity_at_least: 'Moderate', poorest_percent: 25 },
      { severity_at_least: 'Severe', poorest_percent: 50 },
      { severity_at_least: 'Extreme', poorest_percent: 75 },
    ]);
  });

  it('sindh-flood-kafaalat overlaps flood-relief-2022: same purpose, Kafaalat households in PK7, PKR 10,000, 100 % Sindh', () => {
    const sindh = load('sindh-flood-kafaalat.yaml');
    expect(sindh.purpose).toBe(load('flood-relief-2022.yaml').purpose);
    expect(sindh).toMatchObject({
      programme: 'SSPA',
      scope: ['PK7'],
      eligibility: { enrolment_required: ['kafaalat'] },
      benefit: { flat_pkr: 10000 },
      funding: { payers: [{ agency: 'SSPA', jurisdiction: 'PK7', share_bp: 10000 }] },
    });
  });
});

/** Refusals are checked through the front door: YAML text in, RuleError out, naming each bad path. */
function problems(input: Record<string, unknown>): { path: string; message: string }[] {
  try {
    parseRule(stringify(input));
  } catch (e) {
    expect(e).toBeInstanceOf(RuleError);
    return (e as RuleError).issues;
  }
  throw new Error('the rule was accepted');
}

describe('rules that are refused, with a message a person can act on', () => {
  it('payer shares that do not add up to 10000 name the path and the sum', () => {
    const issues = problems(
      ruleInput({
        funding: {
          ceiling_pkr: 1000,
          payers: [
            { agency: 'BISP', jurisdiction: 'federal', share_bp: 5000 },
            { agency: 'SSPA', jurisdiction: 'PK7', share_bp: 4000 },
          ],
        },
      }),
    );
    expect(issues).toEqual([
      { path: 'funding.payers', message: 'payer shares add up to 9000 basis points (90 %); they must add up to exactly 10000 (100 %)' },
    ]);
  });

  it.each([
    ['a ceiling with paisa', { funding: { ceiling_pkr: 100.5, payers: [{ agency: 'BISP', jurisdiction: 'federal', share_bp: 10000 }] } }, 'funding.ceiling_pkr', /whole rupees/],
    ['an unsafe amount', { benefit: { flat_pkr: 2 ** 53 } }, 'benefit.flat_pkr', /whole rupees/],
    ['a kebab id in capitals', { id: 'Flood_2022' }, 'id', /lower-case words joined by hyphens/],
    ['an unquoted numeric version', { version: 2 }, 'version', /in quotes/],
    ['an unknown hazard', { hazards: ['volcano'] }, 'hazards.0', /a hazard is one of: flood/],
    ['a misspelt field', { benifit: { flat_pkr: 1 } }, '(top level)', /unknown field benifit/],
    ['two tests in one condition', { stages: { activation: { when: { magnitude_at_least: 6, mmi_at_least: 7 } } } }, 'stages.activation.when', /put them in a list under `all:`/],
    ['a bad deep condition', { stages: { activation: { when: { any: [{ not: { pager_at_least: 'purple' } }] } } } }, 'stages.activation.when.any.0.not.pager_at_least', /green, yellow, orange, red/],
    ['no activation stage', { stages: { readiness: { when: { magnitude_at_least: 5 } } } }, 'stages.activation', /missing/],
    ['an activation on Test messages', { stages: { activation: { when: { status_in: ['Actual', 'Test'] } } } }, 'stages.activation.when', /only act on Actual messages; Test/],
    ['a declaration without an event', { requires_declaration: true }, 'subject', /needs subject: event/],
    ['valid_to before valid_from', { valid_to: '2024-12-31' }, 'valid_to', /before valid_from/],
    ['a date that is not a day', { agreed_on: '2025-02-30' }, 'agreed_on', /not a calendar date/],
    ['an area code that is not a P-code', { scope: { area_codes: ['Sindh'] } }, 'scope.area_codes.0', /OCHA P-code/],
    ['two kinds of benefit', { benefit: { flat_pkr: 1, per_member_pkr: 2 } }, 'benefit', /exactly one of/],
    ['a cap without per-member', { benefit: { flat_pkr: 1, cap_pkr: 2 } }, 'benefit.cap_pkr', /only applies with per_member_pkr/],
    ['percentile and coverage together', { eligibility: { sources: ['NSER'], poorest_percent: { percent: 60 }, coverage: { tiers: [{ poorest_percent: 25 }] } } }, 'eligibility.coverage', /not both/],
    ['a fractional percentile', { eligibility: { sources: ['NSER'], poorest_percent: { percent: 60.5 } } }, 'eligibility.poorest_percent.percent', /whole percentage/],
    ['an unknown flag', { eligibility: { sources: ['NSER'], flags_any: ['widow'] } }, 'eligibility.flags_any.0', /elderly, disabled, female_headed, children_under5/],
    ['a middle approval tier without a limit', { approvals: [{ roles: ['a'], jurisdiction: 'payer' }, { roles: ['b'], jurisdiction: 'federal' }] }, 'approvals.0.up_to_pkr', /only the last tier/],
    ['an unknown payer jurisdiction', { funding: { ceiling_pkr: 1, payers: [{ agency: 'X', jurisdiction: 'PK9', share_bp: 10000 }] } }, 'funding.payers.0.jurisdiction', /household-province/],
  ])('%s', (_name, over, path, message) => {
    const issues = problems(ruleInput(over));
    const hit = issues.find((i) => i.path === path);
    expect(hit, JSON.stringify(issues)).toBeDefined();
    expect(hit!.message).toMatch(message);
  });

  it('lists every problem, not only the first', () => {
    const issues = problems(ruleInput({ id: 'X', version: 3, title: undefined }));
    expect(issues.map((i) => i.path)).toEqual(['id', 'version', 'title']);
    expect(issues[2]!.message).toMatch(/^missing: /);
  });

  it('reports YAML syntax errors with their line', () => {
    expect(() => parseRule('id: a\nversion: "1"\nversion: "2"\n')).toThrow(/line 3: .*unique/i);
  });

  it('accepts a 70 bn ceiling and `scope: anywhere`', () => {
    const rule = parseRule(stringify(ruleInput({ scope: 'anywhere', funding: { ceiling_pkr: 70_000_000_000, payers: [{ agency: 'BISP', jurisdiction: 'federal', share_bp: 10000 }] } })));
    expect(rule.scope).toBe('anywhere');
    expect(rule.funding.ceiling_pkr).toBe(70_000_000_000);
  });
});
