import { ruleSchema, type Rule } from './rule-schema.ts';
import type { AlertSubject, EventSubject } from './subject.ts';
import type { Household } from './eligibility.ts';

/** Factories for tests: each call makes its own data with a unique id (no shared seed ids). */
let counter = 0;
const next = (prefix: string) => `${prefix}-${++counter}`;

export function alertSubject(over: Partial<AlertSubject> = {}): AlertSubject {
  return {
    kind: 'alert',
    id: next('alert'),
    hazard: 'earthquake',
    status: 'Actual',
    msgType: 'Alert',
    severity: 'Severe',
    certainty: 'Observed',
    urgency: 'Immediate',
    metrics: {},
    areaCodes: ['PK501'],
    active: true,
    sent: '2025-02-01T00:00:00Z',
    ...over,
  };
}

export function eventSubject(over: Partial<EventSubject> = {}): EventSubject {
  return {
    kind: 'event',
    id: next('event'),
    hazard: 'flood',
    status: 'declared',
    areaCodes: ['PK70101'],
    declaredAt: '2025-08-20T10:00:00+05:00',
    metrics: {},
    ...over,
  };
}

/** A valid rule as the YAML would give it (snake_case input), with any top-level field replaced. */
export function ruleInput(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id: next('test-rule'),
    version: '1',
    title: 'A rule made for a test',
    status: 'illustrative',
    agreed_by: ['NDMA'],
    agreed_on: '2025-01-01',
    valid_from: '2025-01-01',
    programme: 'BISP',
    purpose: 'earthquake_relief',
    hazards: ['earthquake'],
    subject: 'alert',
    scope: 'anywhere',
    stages: { activation: { when: { magnitude_at_least: 6 } } },
    eligibility: { sources: ['NSER'] },
    benefit: { flat_pkr: 25000 },
    funding: { ceiling_pkr: 1_000_000, payers: [{ agency: 'BISP', jurisdiction: 'federal', share_bp: 10000 }] },
    approvals: [{ roles: ['program_manager'], jurisdiction: 'payer' }],
    ...over,
  };
}

export function makeRule(over: Record<string, unknown> = {}): Rule {
  return ruleSchema.parse(ruleInput(over));
}

export function household(over: Partial<Household> & { tehsil?: string } = {}): Household {
  const { tehsil = 'PK70101', ...rest } = over;
  return {
    id: next('hh'),
    source: 'NSER',
    pmt: 20,
    size: 5,
    areaCodes: { province: tehsil.slice(0, 3), district: tehsil.slice(0, 5), tehsil },
    flags: { femaleHeaded: false, disabled: false, elderly: false, childrenUnder5: false },
    enrolments: [],
    ...rest,
  };
}
