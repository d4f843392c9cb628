import { Readable } from 'node:stream';
import { synthHouseholds, type SynthArea, type SynthHousehold } from '../../geodata/synth.ts';
import type { Role } from '../../server/access/roles.ts';
import type { Database, Db } from '../../server/db/client.ts';
import { importHouseholds } from '../../server/households/import.ts';
import { householdCsvLine } from '../../server/registry/synth.ts';
import { REGISTRY_COLUMNS } from '../../server/registry/row.ts';
import { createToken } from '../../server/tokens/service.ts';
import { setupCtx, square, unique } from '../harness/factories.ts';
import { PUNJAB_DISTRICT, SINDH_DISTRICT } from '../rules/setup.ts';

/** The areas synthetic households are drawn in: the test tehsils of Sindh and Punjab, Punjab twice as heavy. */
export const TEST_AREAS: SynthArea[] = [
  { code: SINDH_DISTRICT.tehsil, geometry: square(SINDH_DISTRICT.box), weight: 1 },
  { code: PUNJAB_DISTRICT.tehsil, geometry: square(PUNJAB_DISTRICT.box), weight: 2 },
];

export interface TwoRegistries {
  nser: SynthHousehold[];
  pser: SynthHousehold[];
  /** What an overlap of NSER and PSER over Punjab must find. */
  expected: { both: number; onlyNser: number; onlyPser: number; farApart: number; pmtDiffer: number };
}

/**
 * A second registry of the same people, as Punjab's PSER would hold them: of the NSER households in Punjab,
 * those at positions `i % 10 < share * 10` are listed again under their own PSER id with the same head's
 * CNIC, a PMT score higher by 0 to 9 points (steps of 1.5), and a point moved a few metres, or (every fifth) about
 * 8 km; PSER also lists `extra` households NSER does not (another seed). Deterministic.
 */
export function secondRegistry(nser: readonly SynthHousehold[], options: { share: number; extra: number; seed: number; areas?: readonly SynthArea[]; farKm?: number }): SynthHousehold[] {
  const punjab = nser.filter((h) => h.areaCode.startsWith('PK6'));
  const out: SynthHousehold[] = [];
  const [w, s, e, n] = PUNJAB_DISTRICT.box;
  const moved = (lat: number, lon: number, far: boolean) => {
    const d = far ? 0.072 : 0.0003; // 0.072° of latitude ≈ 8 km
    const lat2 = lat + d < n - 0.001 ? lat + d : lat - d;
    return { lat: Math.min(n - 0.0005, Math.max(s + 0.0005, lat2)), lon: Math.min(e - 0.0005, Math.max(w + 0.0005, lon)) };
  };
  punjab.forEach((h, i) => {
    if (i % 10 >= options.share * 10) return;
    const far = i % 5 === 0;
    out.push({ ...h, source: 'PSER' as 'NSER', householdId: `PSER-${h.householdId.slice(5)}`, pmtScore: Math.min(100, Math.round((h.pmtScore + (i % 7) * 1.5) * 10) / 10), ...moved(h.lat, h.lon, far) });
  });
  for (const h of synthHouseholds({ households: options.extra, seed: options.seed + 7777, areas: options.areas ?? [TEST_AREAS[1]!] }))
    out.push({ ...h, source: 'PSER' as 'NSER', householdId: `PSER-X${h.householdId.slice(5)}` });
  return out;
}

/** What an overlap over Punjab must say, computed from the two lists by CNIC. */
export function expectedOverlap(nser: readonly SynthHousehold[], pser: readonly SynthHousehold[]) {
  const inPunjab = (h: SynthHousehold) => h.areaCode.startsWith('PK6');
  const a = new Map(nser.filter(inPunjab).map((h) => [h.cnic, h]));
  const b = new Map(pser.filter(inPunjab).map((h) => [h.cnic, h]));
  let both = 0;
  let farApart = 0;
  let pmtDiffer = 0;
  for (const [c, x] of a) {
    const y = b.get(c);
    if (!y) continue;
    both++;
    if (km(x, y) > 5) farApart++;
    // PMT scores are stored as 4-byte reals, and the database subtracts them as such.
    if (Math.abs(Math.fround(Math.fround(x.pmtScore) - Math.fround(y.pmtScore))) >= 5) pmtDiffer++;
  }
  return { both, onlyNser: a.size - both, onlyPser: b.size - both, farApart, pmtDiffer };
}

export function km(a: { lat: number; lon: number }, b: { lat: number; lon: number }): number {
  const r = (d: number) => (d * Math.PI) / 180;
  const h = Math.sin(r(b.lat - a.lat) / 2) ** 2 + Math.cos(r(a.lat)) * Math.cos(r(b.lat)) * Math.sin(r(b.lon - a.lon) / 2) ** 2;
  return 2 * 6371 * Math.asin(Math.min(1, Math.sqrt(h)));
}

/** Households as a registry CSV, streamed. */
export function csvOf(list: Iterable<SynthHousehold>): Readable {
  function* lines() {
    yield `${REGISTRY_COLUMNS.join(',')}\n`;
    let chunk = '';
    let n = 0;
    for (const h of list) {
      chunk += `${householdCsvLine(h)}\n`;
      if (++n % 5000 === 0) {
        yield chunk;
        chunk = '';
      }
    }
    if (chunk) yield chunk;
  }
  return Readable.from(lines());
}

/** NSER (`households`, over the test tehsils) and a PSER sharing `share` of Punjab's, imported. */
export async function importTwoRegistries(database: Database, options: { households: number; share: number; extra: number; seed?: number }): Promise<TwoRegistries> {
  const seed = options.seed ?? 11;
  const nser = [...synthHouseholds({ households: options.households, seed, areas: TEST_AREAS })];
  const pser = secondRegistry(nser, { share: options.share, extra: options.extra, seed });
  for (const [name, list] of [
    ['nser', nser],
    ['pser', pser],
  ] as const) {
    const report = await importHouseholds(setupCtx(database.db), { database, source: csvOf(list), name: `${name}.csv` });
    if (report.refused !== 0) throw new Error(`importTwoRegistries: ${name} refused rows: ${JSON.stringify(report.problems.slice(0, 3))}`);
  }
  return { nser, pser, expected: expectedOverlap(nser, pser) };
}

/** A bearer token of an officer of `agency` (a programme manager unless said), with its audit name. */
export async function officer(db: Db, agency: string, jurisdiction: string, role: Role = 'program_manager'): Promise<{ authorization: string; name: string }> {
  const made = await createToken(setupCtx(db), { name: unique(`${agency.toLowerCase()}-${role}`), role, agency, jurisdiction, senders: [] });
  return { authorization: `Bearer ${made.token}`, name: made.name };
}
