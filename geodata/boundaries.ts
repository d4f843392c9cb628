import { rewind } from '@turf/turf';
import type { MultiPolygon, Polygon } from 'geojson';

export interface AreaRecord {
  code: string;
  name: string;
  level: number;
  parentCode: string | null;
  geometry: Polygon | MultiPolygon;
  source: string;
  /** People living there, when the file says (it shapes synthetic registries). */
  population?: number | null;
}

/** A field name, or a function for values a file does not hold directly (a derived tehsil code). */
export type FieldReader = string | ((properties: Record<string, unknown>, index: number) => unknown);

export interface BoundaryFields {
  codeField: FieldReader;
  nameField: FieldReader;
  parentField?: FieldReader;
  populationField?: FieldReader;
  /** 0 country, 1 province, 2 district, 3 tehsil. */
  level: number;
  /** Provenance written on every record, e.g. "OCHA COD-AB PAK 2022". */
  source: string;
}

export class BoundaryInputError extends Error {
  override readonly name = 'BoundaryInputError';
  constructor(readonly problems: string[]) {
    super(`boundaries refused: ${problems.length} problem(s): ${problems.slice(0, 5).join('; ')}${problems.length > 5 ? '; …' : ''}`);
  }
}

/**
 * Reads a GeoJSON FeatureCollection of boundaries into area records. Repairs what has one obvious
 * repair and says so in `repairs`: unclosed rings are closed, repeated consecutive positions dropped,
 * rings rewound to RFC 7946 order (outer counter-clockwise). Refuses, naming the feature (index,
 * code, name), what has none: a type other than Polygon/MultiPolygon, a ring with fewer than 4
 * positions, a coordinate that is not a finite number in range, a missing code or name, a repeated
 * code. All problems are collected before refusing, so one pass over the file lists them all.
 */
export function readBoundaries(collection: unknown, fields: BoundaryFields): { areas: AreaRecord[]; repairs: string[] } {
  const problems: string[] = [];
  const repairs: string[] = [];
  const fc = collection as { type?: unknown; features?: unknown };
  if (!fc || fc.type !== 'FeatureCollection' || !Array.isArray(fc.features)) {
    throw new BoundaryInputError(['expected a GeoJSON FeatureCollection']);
  }
  const areas: AreaRecord[] = [];
  const seen = new Set<string>();
  fc.features.forEach((feature: unknown, index: number) => {
    const f = (feature ?? {}) as { properties?: Record<string, unknown> | null; geometry?: { type?: unknown; coordinates?: unknown } | null };
    const props = f.properties ?? {};
    const code = text(read(fields.codeField, props, index));
    const name = text(read(fields.nameField, props, index));
    const label = `feature ${index} (${code ?? 'no code'}, ${name ?? 'no name'})`;
    if (!code) problems.push(`${label}: no code`);
    if (!name) problems.push(`${label}: no name`);
    if (code && seen.has(code)) problems.push(`${label}: code ${code} repeats an earlier feature`);
    if (code) seen.add(code);
    const g = f.geometry;
    if (!g || (g.type !== 'Polygon' && g.type !== 'MultiPolygon')) {
      problems.push(`${label}: geometry ${g ? String(g.type) : 'missing'} is not a Polygon or MultiPolygon`);
      return;
    }
    const polygons = g.type === 'Polygon' ? [g.coordinates] : (g.coordinates as unknown[]);
    if (!Array.isArray(polygons) || polygons.length === 0) {
      problems.push(`${label}: no coordinates`);
      return;
    }
    const before = problems.length;
    const fixed = polygons
      .map((rings, p) => repairPolygon(rings, `${label} polygon ${p}`, problems, repairs, polygons.length === 1))
      .filter((p): p is number[][][] => p !== null);
    if (problems.length > before || !code || !name) return;
    if (fixed.length === 0) {
      problems.push(`${label}: no polygon left after repair`);
      return;
    }
    const geometry = (g.type === 'Polygon'
      ? { type: 'Polygon', coordinates: fixed[0]! }
      : { type: 'MultiPolygon', coordinates: fixed }) as Polygon | MultiPolygon;
    const parent = fields.parentField ? text(read(fields.parentField, props, index)) : undefined;
    const population = fields.populationField ? Number(read(fields.populationField, props, index)) : NaN;
    areas.push({
      code,
      name,
      level: fields.level,
      parentCode: parent ?? null,
      geometry: rewind(geometry) as Polygon | MultiPolygon,
      source: fields.source,
      ...(Number.isFinite(population) ? { population } : {}),
    });
  });
  if (problems.length > 0) throw new BoundaryInputError(problems);
  return { areas, repairs };
}

function read(field: FieldReader, props: Record<string, unknown>, index: number): unknown {
  return typeof field === 'function' ? field(props, index) : props[field];
}

function text(v: unknown): string | undefined {
  if (typeof v === 'number') return String(v);
  return typeof v === 'string' && v.trim() !== '' ? v.trim() : undefined;
}

/**
 * Repairs one polygon. A hole, or a part of a MultiPolygon, collapsed to fewer than 4 distinct
 * positions has no area: it is dropped with a note (the real tehsil layer has such slivers). An outer
 * ring collapsed in a polygon that is the feature's only part is refused: nothing would be left.
 */
function repairPolygon(rings: unknown, where: string, problems: string[], repairs: string[], onlyPart: boolean): number[][][] | null {
  if (!Array.isArray(rings) || rings.length === 0) {
    problems.push(`${where}: no rings`);
    return null;
  }
  const out: number[][][] = [];
  for (let r = 0; r < rings.length; r++) {
    const ring = repairRing(rings[r], `${where} ring ${r}`, problems, repairs);
    if (ring === 'invalid') return null;
    if (ring.length >= 4) { out.push(ring); continue; }
    if (r > 0) repairs.push(`${where} ring ${r}: dropped a hole of ${ring.length} distinct position(s)`);
    else if (!onlyPart) {
      repairs.push(`${where}: dropped a part whose outer ring has ${ring.length} distinct position(s)`);
      return null;
    } else {
      problems.push(`${where} ring 0: ${ring.length} distinct position(s) after repair; a ring needs at least 4`);
      return null;
    }
  }
  return out;
}

/** The ring cleaned and closed, or 'invalid' after recording a problem. */
function repairRing(ring: unknown, where: string, problems: string[], repairs: string[]): number[][] | 'invalid' {
  if (!Array.isArray(ring)) {
    problems.push(`${where}: not an array of positions`);
    return 'invalid';
  }
  const out: number[][] = [];
  let dropped = 0;
  for (let i = 0; i < ring.length; i++) {
    const p = ring[i] as unknown;
    if (!Array.isArray(p) || p.length < 2 || typeof p[0] !== 'number' || typeof p[1] !== 'number' || !Number.isFinite(p[0]) || !Number.isFinite(p[1])) {
      problems.push(`${where} position ${i}: ${JSON.stringify(p)} is not [lon, lat] of finite numbers`);
      return 'invalid';
    }
    if (p[0] < -180 || p[0] > 180 || p[1] < -90 || p[1] > 90) {
      problems.push(`${where} position ${i}: [${p[0]}, ${p[1]}] is out of range (is it [lat, lon]?)`);
      return 'invalid';
    }
    const last = out[out.length - 1];
    if (last && last[0] === p[0] && last[1] === p[1]) { dropped++; continue; }
    out.push([p[0], p[1]]);
  }
  if (dropped > 0) repairs.push(`${where}: dropped ${dropped} repeated position(s)`);
  const first = out[0];
  const last = out[out.length - 1];
  if (first && last && out.length > 1 && (first[0] !== last[0] || first[1] !== last[1])) {
    out.push([first[0]!, first[1]!]);
    repairs.push(`${where}: closed the ring`);
  }
  return out;
}
