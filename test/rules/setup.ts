import { Readable } from 'node:stream';
import { normaliseAreaName } from '../../geodata/area-names.ts';
import type { Database, Db } from '../../server/db/client.ts';
import { areas } from '../../server/db/schema/index.ts';
import { importRegistry } from '../../server/registry/import.ts';
import { REGISTRY_COLUMNS } from '../../server/registry/row.ts';
import { loadRules, SHIPPED_RULES_DIR } from '../../server/rules/loader.ts';

/** Two made-up districts, one in Sindh (PK7) and one in Punjab (PK6), each a small square with one tehsil filling it. */
export const SINDH_DISTRICT = { code: 'PK799', tehsil: 'PK79901', box: [68.0, 25.0, 68.2, 25.2] as const };
export const PUNJAB_DISTRICT = { code: 'PK699', tehsil: 'PK69901', box: [72.0, 31.0, 72.2, 31.2] as const };

const square = ([w, s, e, n]: readonly number[]) => ({ type: 'Polygon' as const, coordinates: [[[w!, s!], [e!, s!], [e!, n!], [w!, n!], [w!, s!]]] });

/** Inserts the two districts and their tehsils, so alerts resolve their codes and imported households get them. */
export async function seedAreas(db: Db): Promise<void> {
  const rows = [SINDH_DISTRICT, PUNJAB_DISTRICT].flatMap((d, i) => [
    { code: d.code, name: `Testabad ${i}`, level: 2, parentCode: d.code.slice(0, 3), box: d.box },
    { code: d.tehsil, name: `Testabad ${i} tehsil`, level: 3, parentCode: d.code, box: d.box },
  ]);
  await db.insert(areas).values(
    rows.map((r) => ({
      code: r.code,
      name: r.name,
      nameKey: normaliseAreaName(r.name),
      level: r.level,
      parentCode: r.parentCode,
      geometry: square(r.box),
      bbox: [...r.box],
      geometryHash: `test-${r.code}`,
      source: 'test fixture',
      validFrom: '2022-01-01',
    })),
  );
}

let cnic = 4210100000000;
/** A registry household row; PMT and place are what the tests choose, the rest is plausible filler. */
export function household(id: string, lat: number, lon: number, pmt: number, size = 5, source = 'NSER'): Record<string, string> {
  return {
    source,
    household_id: id,
    cnic: String(++cnic),
    head_name: `Head ${id}`,
    phone: '',
    lat: String(lat),
    lon: String(lon),
    household_size: String(size),
    pmt_score: String(pmt),
    female_headed: '0',
    has_disabled: '0',
    has_elderly: '0',
    children_under5: '0',
    enrolments: '',
    payment_channel: '',
    payment_account: '',
  };
}

/**
 * Sindh: PMT 10, 20, 30, 31 (eligible under 32) and 40 (not); Punjab: 5 and 15 (eligible) and 50 (not).
 * Under the earthquake rule (PKR 25,000 flat, half federal, half the household's province): 6 households,
 * PKR 150,000: BISP 75,000, Sindh 50,000, Punjab 25,000.
 */
export async function seedRegistry(database: Database): Promise<void> {
  const rows = [
    ...[10, 20, 30, 31, 40].map((pmt, i) => household(`sd-${i}`, 25.05 + i * 0.02, 68.05 + i * 0.02, pmt)),
    ...[5, 15, 50].map((pmt, i) => household(`pb-${i}`, 31.05 + i * 0.02, 72.05 + i * 0.02, pmt)),
  ];
  const csv = [REGISTRY_COLUMNS.join(','), ...rows.map((r) => REGISTRY_COLUMNS.map((c) => r[c] ?? '').join(','))].join('\n');
  const report = await importRegistry(database, Readable.from(csv));
  if (report.imported !== rows.length) throw new Error(`registry seed: ${JSON.stringify(report.problems)}`);
}

export const loadShippedRules = (database: Database, now = new Date('2026-01-01T00:00:00Z')) => loadRules(database, SHIPPED_RULES_DIR, { now, actor: 'test:rules' });

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
