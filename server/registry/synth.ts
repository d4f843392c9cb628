import { createWriteStream } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { isNull, and, eq, sql } from 'drizzle-orm';
import { synthHouseholds, type SynthArea, type SynthHousehold } from '../../geodata/synth.ts';
import type { Db } from '../db/client.ts';
import { areas } from '../db/schema/index.ts';
import { REGISTRY_COLUMNS } from './row.ts';

/**
 * The areas that shape a synthetic registry: tehsils weighted by population when the gazetteer has them,
 * else provinces weighted by the 2023 census (geodata's built-in shares).
 */
export async function synthAreas(db: Db): Promise<SynthArea[] | undefined> {
  const tehsils = await db
    .select({ code: areas.code, geometry: areas.geometry, weight: areas.population })
    .from(areas)
    .where(and(isNull(areas.validTo), eq(areas.level, 3), sql`${areas.population} > 0`));
  if (tehsils.length > 0) return tehsils.map((t) => ({ code: t.code, geometry: t.geometry, weight: Number(t.weight) }));
  const provinces = await db.select({ code: areas.code, geometry: areas.geometry }).from(areas).where(and(isNull(areas.validTo), eq(areas.level, 1)));
  if (provinces.length === 0) return undefined;
  const CENSUS_2023: Record<string, number> = { PK1: 4.0, PK2: 14.9, PK3: 1.5, PK4: 2.4, PK5: 40.9, PK6: 127.7, PK7: 55.7 };
  return provinces.map((p) => ({ code: p.code, geometry: p.geometry, weight: CENSUS_2023[p.code] ?? 1 }));
}

const csvField = (v: string | number | null) => {
  const s = v === null ? '' : String(v);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
};

export function householdCsvLine(h: SynthHousehold): string {
  const b = (v: boolean) => (v ? '1' : '0');
  return [
    h.source,
    h.householdId,
    h.cnic,
    h.headName,
    h.phone,
    h.lat.toFixed(6),
    h.lon.toFixed(6),
    h.householdSize,
    h.pmtScore,
    b(h.flags.femaleHeaded),
    b(h.flags.hasDisabled),
    b(h.flags.hasElderly),
    b(h.flags.childrenUnder5),
    h.enrolments.join(';'),
    h.paymentChannel,
    h.paymentAccount,
  ]
    .map(csvField)
    .join(',');
}

/** The synthetic registry as CSV text, streamed: header, then one line per household. */
export function synthCsv(options: { households: number; seed: number; areas?: SynthArea[] }): Readable {
  function* lines() {
    yield `${REGISTRY_COLUMNS.join(',')}\n`;
    let chunk: string[] = [];
    for (const h of synthHouseholds(options)) {
      chunk.push(householdCsvLine(h));
      if (chunk.length === 5000) {
        yield `${chunk.join('\n')}\n`;
        chunk = [];
      }
    }
    if (chunk.length) yield `${chunk.join('\n')}\n`;
  }
  return Readable.from(lines());
}

export async function writeSynthCsv(file: string, options: { households: number; seed: number; areas?: SynthArea[] }): Promise<void> {
  await pipeline(synthCsv(options), createWriteStream(file));
}
