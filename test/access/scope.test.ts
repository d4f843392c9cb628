import { sql } from 'drizzle-orm';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { alertScope, eventScope, householdScope, touches } from '../../server/access/scope.ts';
import { queryRows } from '../../server/db/client.ts';
import { createTestDatabase, drivers, type TestDatabase } from '../harness/databases.ts';

/** P-codes at every level, with the near-misses that a plain prefix gets wrong (PK70 is no area). */
const pcode = fc.constantFrom('PK', 'PK6', 'PK7', 'PK70', 'PK703', 'PK709', 'PK70301', 'PK70302', 'PK6', 'PK601', 'PK60101', 'PK2', 'PK201');
const jurisdiction = fc.constantFrom('PK', 'PK6', 'PK7', 'PK703', 'PK70301', 'PK2');

describe.each(drivers)('one scope, two forms (SQL for queries, a predicate for rows in hand), on %s', (driver) => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase(driver);
  });
  afterAll(() => db.drop());

  it('events: visible where one of their areas lies within the jurisdiction or contains it', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(pcode, { minLength: 1, maxLength: 4 }), jurisdiction, async (codes, j) => {
        const [row] = await queryRows<{ ok: boolean }>(
          db.db,
          sql`with events as (select ${`{${codes.join(',')}}`}::text[] as area_codes) select (${eventScope.where({ jurisdiction: j })}) as ok from events`,
        );
        expect(row!.ok, `${codes} for ${j}`).toBe(eventScope.allows({ jurisdiction: j }, { areaCodes: codes }));
      }),
      { numRuns: 60 },
    );
    // The cases people ask about, so the property above cannot pass on a scope that allows everything.
    expect(touches(['PK703'], 'PK7')).toBe(true);
    expect(touches(['PK7'], 'PK703')).toBe(true);
    expect(touches(['PK6', 'PK5'], 'PK7')).toBe(false);
    expect(touches(['PK70'], 'PK703')).toBe(true);
  });

  it('alerts: public warnings for everyone, restricted ones where their areas touch the jurisdiction, and federally', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('Public', 'Restricted', 'Private'), fc.array(pcode, { maxLength: 3 }), jurisdiction, async (scope, codes, j) => {
        const [row] = await queryRows<{ ok: boolean }>(
          db.db,
          sql`with alerts as (select ${scope}::text as scope, ${`{${codes.join(',')}}`}::text[] as area_codes) select (${alertScope.where({ jurisdiction: j })}) as ok from alerts`,
        );
        expect(row!.ok, `${scope} ${codes} for ${j}`).toBe(alertScope.allows({ jurisdiction: j }, { scope, areaCodes: codes }));
      }),
      { numRuns: 60 },
    );
    expect(alertScope.allows({ jurisdiction: 'PK7' }, { scope: 'Restricted', areaCodes: ['PK601'] })).toBe(false);
    expect(alertScope.allows({ jurisdiction: 'PK' }, { scope: 'Restricted', areaCodes: [] })).toBe(true);
    expect(alertScope.allows({ jurisdiction: 'PK7' }, { scope: 'Public', areaCodes: ['PK601'] })).toBe(true);
  });

  it('households: those whose finest area lies within the jurisdiction', async () => {
    const level = fc.option(pcode, { nil: null });
    await fc.assert(
      fc.asyncProperty(level, level, level, jurisdiction, async (province, district, tehsil, j) => {
        const [row] = await queryRows<{ ok: boolean }>(
          db.db,
          sql`with households as (select ${province}::text as province, ${district}::text as district, ${tehsil}::text as tehsil) select (${householdScope.where({ jurisdiction: j })}) as ok from households`,
        );
        expect(row!.ok, `${province}/${district}/${tehsil} for ${j}`).toBe(householdScope.allows({ jurisdiction: j }, { province, district, tehsil }));
      }),
      { numRuns: 60 },
    );
    expect(householdScope.allows({ jurisdiction: 'PK7' }, { province: 'PK7', district: 'PK703', tehsil: null })).toBe(true);
    expect(householdScope.allows({ jurisdiction: 'PK7' }, { province: null, district: null, tehsil: null })).toBe(false);
    expect(householdScope.allows({ jurisdiction: 'PK' }, { province: null, district: null, tehsil: null })).toBe(true);
  });
});
