import { describe, expect, it } from 'vitest';
import { evaluate } from './evaluate.ts';
import { alertSubject, eventSubject, makeRule } from './test-factories.ts';
import type { HazardMetrics } from './subject.ts';
import type { Condition } from './condition-schema.ts';

const now = new Date('2025-03-01T12:00:00Z');
const activationOnly = (when: unknown) => makeRule({ stages: { activation: { when } } });

describe('each condition kind, explained', () => {
  const cases: { name: string; when: unknown; metrics?: HazardMetrics; over?: Parameters<typeof alertSubject>[0]; fired: boolean; text: string }[] = [
    { name: 'magnitude above', when: { magnitude_at_least: 6 }, metrics: { magnitude: 6.4 }, fired: true, text: 'magnitude 6.4 ≥ 6.0: yes' },
    { name: 'magnitude equal', when: { magnitude_at_least: 6 }, metrics: { magnitude: 6 }, fired: true, text: 'magnitude 6.0 ≥ 6.0: yes' },
    { name: 'magnitude below', when: { magnitude_at_least: 6 }, metrics: { magnitude: 5.9 }, fired: false, text: 'magnitude 5.9 ≥ 6.0: no' },
    { name: 'magnitude missing', when: { magnitude_at_least: 6 }, metrics: {}, fired: false, text: 'magnitude not given: no' },
    { name: 'PAGER orange', when: { pager_at_least: 'orange' }, metrics: { pagerAlert: 'orange' }, fired: true, text: 'PAGER orange ≥ orange: yes' },
    { name: 'PAGER yellow', when: { pager_at_least: 'orange' }, metrics: { pagerAlert: 'yellow' }, fired: false, text: 'PAGER yellow ≥ orange: no' },
    { name: 'GDACS Red, written capitalised', when: { gdacs_at_least: 'Orange' }, metrics: { gdacsAlertLevel: 'red' }, fired: true, text: 'GDACS Red ≥ Orange: yes' },
    { name: 'GDACS green', when: { gdacs_at_least: 'orange' }, metrics: { gdacsAlertLevel: 'green' }, fired: false, text: 'GDACS Green ≥ Orange: no' },
    { name: 'MMI', when: { mmi_at_least: 7 }, metrics: { mmi: 9.212 }, fired: true, text: 'MMI 9.212 ≥ 7: yes' },
    { name: 'awareness', when: { awareness_at_least: 3 }, metrics: { awarenessLevel: 2 }, fired: false, text: 'awareness level 2 (yellow) ≥ 3 (orange): no' },
    { name: 'severity below', when: { severity_at_least: 'Severe' }, over: { severity: 'Moderate' }, fired: false, text: 'severity Moderate ≥ Severe: no' },
    { name: 'severity above', when: { severity_at_least: 'Severe' }, over: { severity: 'Extreme' }, fired: true, text: 'severity Extreme ≥ Severe: yes' },
    { name: 'certainty in', when: { certainty_in: ['Likely', 'Observed'] }, over: { certainty: 'Likely' }, fired: true, text: 'certainty Likely in [Likely, Observed]: yes' },
    { name: 'urgency not in', when: { urgency_in: ['Immediate'] }, over: { urgency: 'Future' }, fired: false, text: 'urgency Future in [Immediate]: no' },
    { name: 'metric by file name', when: { metric: { name: 'wind_speed_kmh', op: '>=', value: 118 } }, metrics: { windSpeedKmh: 130 }, fired: true, text: 'wind_speed_kmh 130 ≥ 118: yes' },
    { name: 'metric <', when: { metric: { name: 'wind_speed_kmh', op: '<', value: 62 } }, metrics: { windSpeedKmh: 90 }, fired: false, text: 'wind_speed_kmh 90 < 62: no' },
    { name: 'metric ==', when: { metric: { name: 'forecast_days', op: '==', value: 3 } }, metrics: { forecast_days: 3 }, fired: true, text: 'forecast_days 3 = 3: yes' },
    { name: 'metric missing', when: { metric: { name: 'storm_surge_m', op: '>=', value: 1.5 } }, metrics: {}, fired: false, text: 'storm_surge_m not given: no' },
    { name: 'metric not a number', when: { metric: { name: 'depth', op: '>', value: 1 } }, metrics: { depth: 'shallow' }, fired: false, text: 'depth not given: no' },
  ];
  it.each(cases)('$name', ({ when, metrics, over, fired, text }) => {
    const d = evaluate(activationOnly(when), alertSubject({ metrics: metrics ?? {}, ...over }), now);
    expect(d.fired).toBe(fired);
    expect(d.stage).toBe(fired ? 'activation' : null);
    expect(d.reasons.map((r) => r.text)).toContain(text);
  });
});

describe('all / any / not, nested', () => {
  const earthquake = {
    any: [{ all: [{ magnitude_at_least: 6 }, { pager_at_least: 'orange' }] }, { gdacs_at_least: 'orange' }],
  };
  const cases: { name: string; when: unknown; metrics: HazardMetrics; fired: boolean }[] = [
    { name: 'M6.4 orange: the all branch holds', when: earthquake, metrics: { magnitude: 6.4, pagerAlert: 'orange' }, fired: true },
    { name: 'M6.4 yellow, GDACS orange: the other branch holds', when: earthquake, metrics: { magnitude: 6.4, pagerAlert: 'yellow', gdacsAlertLevel: 'orange' }, fired: true },
    { name: 'M5.8 red, no GDACS: neither holds', when: earthquake, metrics: { magnitude: 5.8, pagerAlert: 'red' }, fired: false },
    { name: 'not: below M7 holds for M6.5', when: { not: { magnitude_at_least: 7 } }, metrics: { magnitude: 6.5 }, fired: true },
    { name: 'not: fails for M7.1', when: { not: { magnitude_at_least: 7 } }, metrics: { magnitude: 7.1 }, fired: false },
    { name: 'a list under when reads as all', when: [{ magnitude_at_least: 6 }, { mmi_at_least: 7 }], metrics: { magnitude: 6.1, mmi: 6 }, fired: false },
    {
      name: 'three levels deep',
      when: { all: [{ any: [{ not: { pager_at_least: 'red' } }, { magnitude_at_least: 8 }] }, { magnitude_at_least: 6 }] },
      metrics: { magnitude: 6.5, pagerAlert: 'orange' },
      fired: true,
    },
  ];
  it.each(cases)('$name', ({ when, metrics, fired }) => {
    expect(evaluate(activationOnly(when), alertSubject({ metrics }), now).fired).toBe(fired);
  });

  it('explains every branch, indented under its combinator, even after one has decided', () => {
    const d = evaluate(activationOnly(earthquake), alertSubject({ metrics: { magnitude: 6.4, pagerAlert: 'orange' } }), now);
    const stage = d.stages.find((s) => s.stage === 'activation')!;
    expect(stage.reasons.map((r) => [r.depth, r.text])).toEqual([
      [0, 'status Actual: yes'],
      [0, 'any of 2 conditions (1 held): yes'],
      [1, 'all of 2 conditions (2 held): yes'],
      [2, 'magnitude 6.4 ≥ 6.0: yes'],
      [2, 'PAGER orange ≥ orange: yes'],
      [1, 'GDACS not given: no'],
    ]);
  });
});

describe('alert status: only Actual messages act', () => {
  for (const status of ['Test', 'Exercise', 'Draft', 'System'] as const) {
    it(`status ${status} never fires activation`, () => {
      const d = evaluate(activationOnly({ magnitude_at_least: 6 }), alertSubject({ status, metrics: { magnitude: 7.5 } }), now);
      expect(d.fired).toBe(false);
      expect(d.reasons.map((r) => r.text)).toContain(`status ${status} is not Actual: no`);
    });
  }

  it('a readiness stage may name Exercise for a drill; activation stays shut', () => {
    const rule = makeRule({
      stages: {
        readiness: { when: { all: [{ status_in: ['Actual', 'Exercise'] }, { magnitude_at_least: 6 }] } },
        activation: { when: { magnitude_at_least: 6 } },
      },
    });
    const d = evaluate(rule, alertSubject({ status: 'Exercise', metrics: { magnitude: 7 } }), now);
    expect(d.stage).toBe('readiness');
    expect(d.stages.map((s) => [s.stage, s.fired])).toEqual([
      ['readiness', true],
      ['activation', false],
    ]);
  });
});

describe('checks every stage depends on', () => {
  const rule = makeRule({ valid_from: '2025-01-01', valid_to: '2025-06-30', scope: { area_codes: ['PK5', 'PK6'] } });
  const strong = (over: Parameters<typeof alertSubject>[0] = {}) => alertSubject({ metrics: { magnitude: 7 }, ...over });

  it.each([
    ['before valid_from (31 Dec 18:59 UTC is 23:59 PKT)', '2024-12-31T18:59:00Z', false, 'rule not yet valid on 2024-12-31 PKT (valid from 2025-01-01): no'],
    ['at valid_from 00:00 PKT', '2024-12-31T19:00:00Z', true, 'rule valid 2025-01-01 to 2025-06-30 on 2025-01-01 PKT: yes'],
    ['on the last valid day, late evening PKT', '2025-06-30T18:59:00Z', true, 'rule valid 2025-01-01 to 2025-06-30 on 2025-06-30 PKT: yes'],
    ['after valid_to', '2025-06-30T19:00:00Z', false, 'rule no longer valid on 2025-07-01 PKT (valid to 2025-06-30): no'],
  ])('validity window: %s', (_name, at, fired, text) => {
    const d = evaluate(rule, strong(), new Date(at));
    expect(d.fired).toBe(fired);
    expect(d.checks.map((r) => r.text)).toContain(text);
  });

  it('a hazard the rule does not cover does not fire', () => {
    const d = evaluate(rule, strong({ hazard: 'flood' }), now);
    expect(d.fired).toBe(false);
    expect(d.checks.map((r) => r.text)).toContain('hazard flood in [earthquake]: no');
  });

  it('area outside the scope does not fire; inside does, and the decision keeps the codes inside', () => {
    expect(evaluate(rule, strong({ areaCodes: ['PK701'] }), now).checks.map((r) => r.text)).toContain('area PK701 outside PK5, PK6: no');
    const d = evaluate(rule, strong({ areaCodes: ['PK701', 'PK60101'] }), now);
    expect(d.fired).toBe(true);
    expect(d.areaCodes).toEqual(['PK60101']);
  });

  it('an alert known only by geometry is "area not resolved to codes", unless the scope is anywhere', () => {
    const d = evaluate(rule, strong({ areaCodes: [] }), now);
    expect(d.fired).toBe(false);
    expect(d.checks.map((r) => r.text)).toContain('area not resolved to codes: no');
    expect(evaluate(makeRule({ scope: 'anywhere' }), strong({ areaCodes: [] }), now).fired).toBe(true);
  });

  it.each([
    ['cancelled', { msgType: 'Cancel' as const }, 'alert was cancelled: no'],
    ['ended', { active: false }, 'alert is no longer in force: no'],
    ['expired', { expires: '2025-03-01T11:00:00Z' }, 'alert expired at 2025-03-01T11:00:00Z: no'],
  ])('a %s alert does not fire', (_name, over, text) => {
    const d = evaluate(makeRule(), strong(over), now);
    expect(d.fired).toBe(false);
    expect(d.checks.map((r) => r.text)).toContain(text);
  });

  it('an alert in force until later fires', () => {
    expect(evaluate(makeRule(), strong({ expires: '2025-03-02T00:00:00Z' }), now).fired).toBe(true);
  });
});

describe('declaration required', () => {
  const rule = makeRule({
    subject: 'event',
    requires_declaration: true,
    hazards: ['flood'],
    scope: { area_codes: ['PK7'] },
    stages: { activation: { when: { declared: true } } },
  });

  it('a declared event in scope fires', () => {
    const d = evaluate(rule, eventSubject({ areaCodes: ['PK70101', 'PK70102'] }), now);
    expect(d.stage).toBe('activation');
    expect(d.areaCodes).toEqual(['PK70101', 'PK70102']);
    expect(d.reasons.map((r) => r.text)).toContain('event declared by a DMA: yes');
  });

  it('an alert cannot fire it, and the decision says why', () => {
    const d = evaluate(rule, alertSubject({ hazard: 'flood', areaCodes: ['PK701'] }), now);
    expect(d.fired).toBe(false);
    expect(d.checks.map((r) => r.text)).toContain('an alert cannot fire this rule: it requires an event declared by a DMA: no');
    expect(d.summary).toContain('an alert cannot fire this rule');
  });

  it.each([
    ['draft', 'event is draft, not declared: no'],
    ['closed', 'event is closed: no'],
  ] as const)('a %s event does not fire', (status, text) => {
    const d = evaluate(rule, eventSubject({ status }), now);
    expect(d.fired).toBe(false);
    expect(d.checks.map((r) => r.text)).toContain(text);
  });

  it('an event cannot fire a rule written for alerts', () => {
    const d = evaluate(makeRule({ hazards: ['flood'] }), eventSubject({ metrics: { magnitude: 7 } }), now);
    expect(d.checks.map((r) => r.text)).toContain('rule acts on alerts, this is an event: no');
  });
});

describe('stages', () => {
  const rule = makeRule({
    hazards: ['cyclone'],
    stages: {
      readiness: { when: { metric: { name: 'wind_speed_kmh', op: '>=', value: 89 } } },
      activation: { when: { metric: { name: 'wind_speed_kmh', op: '>=', value: 118 } } },
      stop: { when: { urgency_in: ['Past'] } },
    },
  });
  const cyclone = (windSpeedKmh: number, over: Parameters<typeof alertSubject>[0] = {}) =>
    alertSubject({ hazard: 'cyclone', metrics: { windSpeedKmh }, urgency: 'Expected', ...over });

  it.each([
    [70, null],
    [95, 'readiness'],
    [130, 'activation'],
  ] as const)('wind %d km/h gives stage %s', (wind, stage) => {
    expect(evaluate(rule, cyclone(wind), now).stage).toBe(stage);
  });

  it('stop wins when it fires, and the summary says what else was met', () => {
    const d = evaluate(rule, cyclone(130, { urgency: 'Past' }), now);
    expect(d.stage).toBe('stop');
    expect(d.summary).toMatch(/stop fired \(also met: readiness, activation; stop wins\)/);
  });

  it('stop may fire on an alert that has ended (the storm did not come); activation may not', () => {
    const d = evaluate(rule, cyclone(130, { urgency: 'Past', active: false }), now);
    expect(d.stages.map((s) => [s.stage, s.fired])).toEqual([
      ['readiness', false],
      ['activation', false],
      ['stop', true],
    ]);
  });

  it('the summary of a decision that did not fire names the failing conditions', () => {
    expect(evaluate(rule, cyclone(70), now).summary).toMatch(/nothing fired; wind_speed_kmh 70 ≥ 118: no$/);
  });
});

describe('determinism', () => {
  it('the same rule, subject and now give equal decisions, stamped with now', () => {
    const rule = makeRule({ stages: { activation: { when: { any: [{ magnitude_at_least: 6 }, { not: { pager_at_least: 'green' } }] } as Condition } } });
    const subject = alertSubject({ metrics: { magnitude: 6.2, pagerAlert: 'yellow' } });
    const a = evaluate(rule, subject, now);
    expect(evaluate(rule, structuredClone(subject), new Date(now.getTime()))).toEqual(a);
    expect(a.evaluatedAt).toBe('2025-03-01T12:00:00.000Z');
  });

  it('refuses an invalid now rather than guessing', () => {
    expect(() => evaluate(makeRule(), alertSubject(), new Date('nope'))).toThrow(RangeError);
  });
});
