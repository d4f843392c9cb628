/**
 * The demo's district and tehsil boundaries (geodata/derived/), made from the COD-AB district layer and
 * the geoBoundaries tehsil layer with COD-AB district codes: each polygon simplified (Turf,
 * Douglas-Peucker, tolerance below), its coordinates rounded, repeated positions dropped and rings too
 * small to keep left out; only the fields the gazetteer uses are kept, names written in capitals put in
 * title case. Pure: the files are read and written by `npm run geodata:derive` (server/demo/derive-boundaries.ts).
 */
import { simplify } from '@turf/turf';
import type { Feature, FeatureCollection, MultiPolygon, Polygon, Position } from 'geojson';
import { readBoundaries, type AreaRecord } from './boundaries.ts';
import { readTehsilsWithDerivedCodes } from './tehsil-codes.ts';

export const DISTRICTS_SOURCE = 'pak_adm2_districts_cod_pcodes_simplified.geojson';
export const TEHSILS_SOURCE = 'pak_adm3_tehsils_gbopen_geom_with_cod_pcodes.geojson';
export const DISTRICTS_FILE = 'pakistan-districts.geojson';
export const TEHSILS_FILE = 'pakistan-tehsils.geojson';

/** Tolerance of the simplification in degrees (about 250 m at Pakistan's latitudes) and the decimals kept (about 100 m). */
export const TOLERANCE = 0.0025;
export const DECIMALS = 3;

const round = (v: number) => Math.round(v * 10 ** DECIMALS) / 10 ** DECIMALS;

/** A ring rounded, with consecutive repeats dropped; null when fewer than four positions remain. */
function roundRing(ring: Position[]): Position[] | null {
  const out: Position[] = [];
  for (const p of ring) {
    const q = [round(p[0]!), round(p[1]!)];
    const last = out[out.length - 1];
    if (!last || last[0] !== q[0] || last[1] !== q[1]) out.push(q);
  }
  const first = out[0];
  const last = out[out.length - 1];
  if (first && last && (first[0] !== last[0] || first[1] !== last[1])) out.push([first[0]!, first[1]!]);
  return out.length >= 4 ? out : null;
}

/** Simplified and rounded; holes that vanish are dropped, a part whose outer ring vanishes is dropped, and null when nothing is left. */
export function reduceGeometry(geometry: Polygon | MultiPolygon): Polygon | MultiPolygon | null {
  const simple = simplify(geometry, { tolerance: TOLERANCE, highQuality: true }) as Polygon | MultiPolygon;
  const polygons = simple.type === 'Polygon' ? [simple.coordinates] : simple.coordinates;
  const kept: Position[][][] = [];
  for (const rings of polygons) {
    const outer = roundRing(rings[0]!);
    if (!outer) continue;
    kept.push([outer, ...rings.slice(1).map(roundRing).filter((r): r is Position[] => r !== null)]);
  }
  if (kept.length === 0) {
    // Too small for the tolerance (a town tehsil): keep the original, rounded, rather than lose the area.
    if (geometry.type === 'Polygon') {
      const outer = roundRing(geometry.coordinates[0]!);
      return outer ? { type: 'Polygon', coordinates: [outer] } : null;
    }
    return null;
  }
  return kept.length === 1 ? { type: 'Polygon', coordinates: kept[0]! } : { type: 'MultiPolygon', coordinates: kept };
}

function toCollection(records: AreaRecord[]): FeatureCollection<Polygon | MultiPolygon> {
  const features: Feature<Polygon | MultiPolygon>[] = [];
  for (const r of records) {
    const geometry = reduceGeometry(r.geometry);
    if (!geometry) throw new RangeError(`${r.code} ${r.name}: nothing left after simplification`);
    features.push({
      type: 'Feature',
      properties: { code: r.code, name: labelName(r.name), parentCode: r.parentCode, ...(r.population ? { population: r.population } : {}) },
      geometry,
    });
  }
  return { type: 'FeatureCollection', features };
}

/** A name the layer writes in capitals ("TANDO ALLAH YAR") as a map label reads it ("Tando Allah Yar"); others as they are. */
export const labelName = (name: string) => (name === name.toUpperCase() ? name.toLowerCase().replace(/(^|[\s(.-])(\p{L})/gu, (_m, a: string, b: string) => a + b.toUpperCase()) : name);

/** One feature a line, so a new edition's diff shows which areas changed. */
const writeCollection = (fc: FeatureCollection) => `{"type":"FeatureCollection","features":[\n${fc.features.map((f) => JSON.stringify(f)).join(',\n')}\n]}\n`;

/** The derived files' text from the two source layers (parsed JSON), with the tehsils left out and why. */
export function deriveBoundaryFiles(districtLayer: unknown, tehsilLayer: { features: readonly { properties?: Record<string, unknown> | null }[] }) {
  const districts = readBoundaries(districtLayer, {
    codeField: 'pcode',
    nameField: 'name',
    parentField: (p) => String(p.pcode).slice(0, 3),
    level: 2,
    source: 'derived',
  }).areas;
  const tehsils = readTehsilsWithDerivedCodes(tehsilLayer, { nameField: 'shapeName', populationField: 'pop_2023', source: 'derived' });
  return {
    files: [
      { file: DISTRICTS_FILE, from: DISTRICTS_SOURCE, text: writeCollection(toCollection(districts)), count: districts.length },
      { file: TEHSILS_FILE, from: TEHSILS_SOURCE, text: writeCollection(toCollection(tehsils.areas)), count: tehsils.areas.length },
    ],
    warnings: tehsils.warnings,
  };
}
