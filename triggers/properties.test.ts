import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { splitInstalments } from './benefit.ts';
import { dedupe } from './dedup.ts';
import { evaluate } from './evaluate.ts';
import { splitByShares } from './funding.ts';
import { netOff } from './net-off.ts';
import { ruleSchema } from './rule-schema.ts';
import { GDACS_LEVELS, HAZARDS, PAGER_LEVELS, SEVERITIES, type AlertSubject } from './subject.ts';
import { ruleInput } from './test-factories.ts';

/** Seeded, so a failure reproduces on every machine. */
const params = { seed: 20220826, numRuns: 300 };
const pkr = fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER });
const money = fc.integer({ min: 0, max: 100_000_000_000 });

/** Shares in basis points adding up to 10000: cut points on [0, 10000]. */
const shares = fc
  .uniqueArray(fc.integer({ min: 1, max: 9999 }), { maxLength: 6 })
  .map((cuts) => {
    const points = [0, ...cuts.sort((a, b) => a - b), 10000];
    return points.slice(1).map((p, i) => ({ agency: `payer-${i}`, share_bp: p - points[i]! }));
  });

describe('properties', () => {
  it('payer shares always add up to the total exactly, each within a rupee of its exact share', () => {
    fc.assert(
      fc.property(pkr, shares, (total, payers) => {
        const split = splitByShares(total, payers);
        expect(split.reduce((s, p) => s + BigInt(p.amount), 0n)).toBe(BigInt(total));
        for (const p of split) {
          const exact = (BigInt(total) * BigInt(p.share_bp)) / 10000n;
          expect(BigInt(p.amount) - exact >= 0n && BigInt(p.amount) - exact <= 1n).toBe(true);
        }
      }),
      params,
    );
  });

  it('net-off never yields a negative amount nor more than the rule amount', () => {
    fc.assert(
      fc.property(money, fc.integer({ min: -1e12, max: 1e12 }), (amount, received) => {
        const owed = netOff(amount, received);
        expect(owed).toBeGreaterThanOrEqual(0);
        expect(owed).toBeLessThanOrEqual(amount);
        expect(Number.isSafeInteger(owed)).toBe(true);
      }),
      params,
    );
  });

  it('after dedup, no household is paid more for the event than the largest line proposed for it', () => {
    const key = fc.constantFrom('A', 'B', 'C');
    const line = fc.record({ householdKey: key, programme: fc.constantFrom('BISP', 'SSPA', 'PSPA'), amount: fc.integer({ min: 0, max: 50000 }) });
    fc.assert(
      fc.property(fc.array(line, { maxLength: 8 }), fc.array(line, { maxLength: 4 }), (candidates, existing) => {
        const { kept } = dedupe(candidates, existing);
        for (const k of ['A', 'B', 'C']) {
          const paid = [...existing, ...kept].filter((l) => l.householdKey === k).reduce((s, l) => s + l.amount, 0);
          const asked = Math.max(0, ...[...existing, ...candidates].filter((l) => l.householdKey === k).map((l) => l.amount));
          const before = existing.filter((l) => l.householdKey === k).reduce((s, l) => s + l.amount, 0);
          expect(paid).toBeLessThanOrEqual(Math.max(asked, before));
        }
      }),
      params,
    );
  });

  it('instalments add up to the amount and differ by at most one rupee', () => {
    fc.assert(
      fc.property(pkr, fc.integer({ min: 1, max: 12 }), (amount, count) => {
        const parts = splitInstalments(amount, count);
        expect(parts).toHaveLength(count);
        expect(parts.reduce((s, p) => s + BigInt(p), 0n)).toBe(BigInt(amount));
        expect(Math.max(...parts) - Math.min(...parts)).toBeLessThanOrEqual(1);
      }),
      params,
    );
  });

  it('the same rule, subject and now always give the same decision', () => {
    const rule = ruleSchema.parse(
      ruleInput({
        hazards: ['earthquake', 'flood'],
        scope: { area_codes: ['PK5', 'PK7'] },
        valid_to: '2026-12-31',
        stages: {
          readiness: { when: { magnitude_at_least: 5 } },
          activation: { when: { any: [{ all: [{ magnitude_at_least: 6 }, { pager_at_least: 'orange' }] }, { not: { gdacs_at_least: 'green' } }] } },
          stop: { when: { severity_at_least: 'Extreme' } },
        },
      }),
    );
    const subject: fc.Arbitrary<AlertSubject> = fc.record({
      kind: fc.constant('alert' as const),
      id: fc.string(),
      hazard: fc.constantFrom(...HAZARDS),
      status: fc.constantFrom('Actual', 'Test', 'Exercise', 'Draft', 'System'),
      msgType: fc.constantFrom('Alert', 'Update', 'Cancel'),
      severity: fc.constantFrom(...SEVERITIES),
      certainty: fc.constant('Observed' as const),
      urgency: fc.constant('Immediate' as const),
      metrics: fc.record(
        { magnitude: fc.double({ min: 0, max: 10, noNaN: true }), pagerAlert: fc.constantFrom(...PAGER_LEVELS), gdacsAlertLevel: fc.constantFrom(...GDACS_LEVELS) },
        { requiredKeys: [] },
      ),
      areaCodes: fc.array(fc.constantFrom('PK501', 'PK70101', 'PK2', 'PK6'), { maxLength: 3 }),
      active: fc.boolean(),
      sent: fc.constant('2025-01-01T00:00:00Z'),
    });
    const when = fc.date({ min: new Date('2024-06-01T00:00:00Z'), max: new Date('2027-06-01T00:00:00Z'), noInvalidDate: true });
    fc.assert(
      fc.property(subject, when, (s, now) => {
        const first = evaluate(rule, s, now);
        expect(evaluate(rule, structuredClone(s), new Date(now.getTime()))).toEqual(first);
        // And the headline agrees with the stages it summarises.
        expect(first.fired).toBe(first.stages.some((st) => st.fired));
      }),
      params,
    );
  });
});
