import type { Database, Db } from '../../server/db/client.ts';
import { loadRules, SHIPPED_RULES_DIR } from '../../server/rules/loader.ts';
import { makeArea, makeHousehold, setupCtx } from '../harness/factories.ts';

export { household } from '../harness/factories.ts';

/**
 * The two districts these tests make, one in Sindh (PK7) and one in Punjab (PK6), each a small square with
 * one tehsil filling it. The codes are fixed so that alerts and expected caseloads can name them; each test
 * file makes them in its own database with `seedAreas`.
 */
export const SINDH_DISTRICT = { code: 'PK799', tehsil: 'PK79901', box: [68.0, 25.0, 68.2, 25.2] as const };
export const PUNJAB_DISTRICT = { code: 'PK699', tehsil: 'PK69901', box: [72.0, 31.0, 72.2, 31.2] as const };

/** Imports the two districts and their tehsils, so alerts resolve their codes and imported households get them. */
export async function seedAreas(db: Db): Promise<void> {
  for (const d of [SINDH_DISTRICT, PUNJAB_DISTRICT]) {
    await makeArea(db, { level: 2, parentCode: d.code.slice(0, 3), code: d.code, box: d.box });
    await makeArea(db, { level: 3, parentCode: d.code, code: d.tehsil });
  }
}

/**
 * Sindh: PMT 10, 20, 30, 31 (eligible under 32) and 40 (not); Punjab: 5 and 15 (eligible) and 50 (not).
 * Under the earthquake rule (PKR 25,000 flat, half federal, half the household's province): 6 households,
 * PKR 150,000: BISP 75,000, Sindh 50,000, Punjab 25,000.
 */
export async function seedRegistry(database: Database): Promise<void> {
  await makeHousehold(database, [
    ...[10, 20, 30, 31, 40].map((pmt, i) => ({ lat: 25.05 + i * 0.02, lon: 68.05 + i * 0.02, pmt })),
    ...[5, 15, 50].map((pmt, i) => ({ lat: 31.05 + i * 0.02, lon: 72.05 + i * 0.02, pmt })),
  ]);
}

export const loadShippedRules = (database: Database, now = new Date('2026-01-01T00:00:00Z')) => loadRules(setupCtx(database.db, now), SHIPPED_RULES_DIR);

let serial = 0;
/** A Madad JSON earthquake alert; `areaCodes` are P-codes the gazetteer resolves. */
export function quake(fields: { identifier?: string; magnitude?: number; pagerAlert?: string; status?: string; areaCodes?: string[]; msgType?: string; references?: unknown[]; sent?: string } = {}) {
  return {
    source: 'madad',
    sender: 'ndma.gov.pk',
    identifier: fields.identifier ?? `EQ-${process.pid}-${++serial}-${Math.random().toString(36).slice(2, 6)}`,
    sent: fields.sent ?? '2026-08-26T09:00:00+05:00',
    status: fields.status ?? 'Actual',
    msgType: fields.msgType ?? 'Alert',
    references: fields.references ?? [],
    hazard: 'earthquake',
    severity: 'Severe',
    urgency: 'Immediate',
    certainty: 'Observed',
    headline: 'Strong earthquake',
    metrics: { magnitude: fields.magnitude ?? 6.8, ...(fields.pagerAlert === undefined ? { pagerAlert: 'red' } : fields.pagerAlert ? { pagerAlert: fields.pagerAlert } : {}) },
    area: { areaCodes: fields.areaCodes ?? [SINDH_DISTRICT.code, PUNJAB_DISTRICT.code] },
  };
}
