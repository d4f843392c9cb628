import { readFileSync } from 'node:fs';
import { booleanPointInPolygon, circle, polygon } from '@turf/turf';
import Flatbush from 'flatbush';
import type { Feature, MultiPolygon, Polygon, Position } from 'geojson';
import { beforeAll, describe, expect, it } from 'vitest';
import { cellOf } from './h3.ts';
import { AreaInputError, countInside, HouseholdIndex, householdsInside } from './spatial-engine.ts';
import { synthHouseholds, type SynthArea } from './synth.ts';

const fixture = (path: string) => JSON.parse(readFileSync(new URL(`../../shared/fixtures/${path}`, import.meta.url), 'utf8'));

const floodFull = fixture('flood/unosat_FL20220808PAK_VIIRS_20220825-20220831_FloodExtent_PAK.geojson');
const floodSimple = fixture('flood/unosat_FL20220808PAK_VIIRS_flood_extent_SIMPLIFIED_10pct.geojson');
const districts = fixture('pakistan/pak_adm2_districts_cod_pcodes_simplified.geojson');
const tehsils = fixture('pakistan/pak_adm3_tehsils_gbopen_geom_with_cod_pcodes.geojson');

const district = (pcode: string): Feature<MultiPolygon> => districts.features.find((f: Feature) => f.properties!.pcode === pcode);

/** A square with a square hole over Sukkur–Larkana, where flood and households meet. */
const withHole = polygon([
  [[67.5, 27], [69.5, 27], [69.5, 28.5], [67.5, 28.5], [67.5, 27]],
  [[68, 27.4], [69, 27.4], [69, 28], [68, 28], [68, 27.4]],
]);

/**
 * Turf's booleanPointInPolygon on every point, made affordable on a MultiPolygon of thousands of parts
 * by asking Turf only about the parts whose bbox holds the point (Turf's MultiPolygon rule is "inside
 * any part", and a part whose bbox misses the point cannot hold it). The decision is Turf's.
 */
function turfReference(area: Feature<Polygon | MultiPolygon>, lon: Float64Array, lat: Float64Array): number[] {
  const parts: Feature<Polygon>[] = area.geometry.type === 'Polygon'
    ? [area as Feature<Polygon>]
    : area.geometry.coordinates.map((c) => polygon(c));
  const tree = new Flatbush(parts.length);
  for (const part of parts) {
    const xs = part.geometry.coordinates[0]!.map((p) => p[0]!);
    const ys = part.geometry.coordinates[0]!.map((p) => p[1]!);
    tree.add(Math.min(...xs), Math.min(...ys), Math.max(...xs), Math.max(...ys));
  }
  tree.finish();
  const inside: number[] = [];
  for (let i = 0; i < lon.length; i++) {
    const pt = [lon[i]!, lat[i]!];
    if (tree.search(pt[0]!, pt[1]!, pt[0]!, pt[1]!).some((k) => booleanPointInPolygon(pt, parts[k]!))) inside.push(i);
  }
  return inside;
}

/** Points exactly on the boundary: vertices and edge midpoints of a sample of rings, holes included. */
function boundaryProbes(geometry: Polygon | MultiPolygon, every: number): Position[] {
  const polys = geometry.type === 'Polygon' ? [geometry.coordinates] : geometry.coordinates;
  const out: Position[] = [];
  let k = 0;
  for (const rings of polys) for (const ring of rings) for (let i = 0; i + 1 < ring.length; i++) {
    if (k++ % every !== 0) continue;
    const a = ring[i]!, b = ring[i + 1]!;
    out.push([a[0]!, a[1]!], [(a[0]! + b[0]!) / 2, (a[1]! + b[1]!) / 2]);
  }
  return out;
}

describe('spatial engine: the households inside an area are exactly those Turf says', () => {
  const synthCount = 200_000;
  let lon: Float64Array;
  let lat: Float64Array;
  let index: HouseholdIndex;

  beforeAll(() => {
    const areas: SynthArea[] = tehsils.features
      .filter((f: Feature) => f.properties!.adm2_pcode)
      .map((f: Feature) => ({ code: f.properties!.adm2_pcode, geometry: f.geometry, weight: f.properties!.pop_2023 }));
    const probes = [
      ...boundaryProbes(floodFull.features[0].geometry, 97),
      ...boundaryProbes(floodSimple.features[0].geometry, 13),
      ...boundaryProbes(district('PK703').geometry, 3),
      ...boundaryProbes(withHole.geometry, 1),
    ];
    lon = new Float64Array(synthCount + probes.length);
    lat = new Float64Array(synthCount + probes.length);
    let i = 0;
    for (const h of synthHouseholds({ households: synthCount, seed: 20220825, areas })) { lon[i] = h.lon; lat[i] = h.lat; i++; }
    for (const p of probes) { lon[i] = p[0]!; lat[i] = p[1]!; i++; }
    index = new HouseholdIndex({ lon, lat });
  }, 120_000);

  const cases: [string, () => Feature<Polygon | MultiPolygon>][] = [
    ['UNOSAT 2022 flood extent, full (6,660 parts, 268,239 vertices, 4,742 holes)', () => floodFull.features[0]],
    ['UNOSAT 2022 flood extent, simplified 10 %', () => floodSimple.features[0]],
    ['district Dadu (PK703)', () => district('PK703')],
    ['district Kambar Shahdad Kot (PK709)', () => district('PK709')],
    ['district Dera Ghazi Khan (PK607)', () => district('PK607')],
    ['a 60 km circle around Mehar', () => circle([67.82, 27.18], 60, { units: 'kilometers', steps: 128 })],
    ['a polygon with a hole', () => withHole],
  ];
  for (const [name, area] of cases) {
    it(name, () => {
      const expected = turfReference(area(), lon, lat);
      const got = index.inside(area());
      // Not vacuous: every case holds households and leaves most out.
      expect(expected.length).toBeGreaterThan(100);
      expect(expected.length).toBeLessThan(lon.length / 2);
      expect(got.length).toBe(expected.length);
      expect(Array.from(got)).toEqual(expected);
      expect(index.countInside(area())).toBe(expected.length);
    });
  }

  it('the full flood extent is answered mostly from whole cells, with few points tested', () => {
    index.inside(floodFull);
    const s = index.lastStats;
    expect(s.groupsInside).toBeGreaterThan(0);
    expect(s.pointsTested).toBeLessThan(lon.length / 2);
  });

  it('answers in shares that together are the whole answer, each household in exactly one', () => {
    for (const area of [floodSimple.features[0], district('PK703')]) {
      const whole = Array.from(index.inside(area));
      for (const parts of [2, 3]) {
        const shares = Array.from({ length: parts }, (_, part) => Array.from(index.inside(area, { part, parts })));
        // Not vacuous: each share does some of the work.
        for (const share of shares) expect(share.length).toBeGreaterThan(0);
        expect(shares.flat().sort((a, b) => a - b)).toEqual(whole);
      }
    }
  });

  it('a FeatureCollection of districts counts as their union, by area code', () => {
    const fc = { type: 'FeatureCollection', features: [district('PK703'), district('PK709')] };
    const one = index.countInside(district('PK703'));
    const two = index.countInside(district('PK709'));
    const shared = new Set(index.inside(district('PK709')));
    const both = index.inside(district('PK703')).filter((i) => shared.has(i)).length;
    expect(index.countInside(fc)).toBe(one + two - both);
    const codes = Array.from({ length: lon.length }, (_, i) => (i % 2 ? 'odd' : 'even'));
    const byCode = index.countInsideByArea(fc, codes);
    expect((byCode.get('odd') ?? 0) + (byCode.get('even') ?? 0)).toBe(index.countInside(fc));
  });
});

describe('spatial engine: small cases', () => {
  const square = polygon([[[70, 30], [71, 30], [71, 31], [70, 31], [70, 30]]]);
  const pts: [number, number][] = [[70.5, 30], [70, 30], [71, 30.5], [70.5, 30.5], [71.0000001, 30.5], [69.9, 30.9]];
  const lon = Float64Array.from(pts.map((p) => p[0]));
  const lat = Float64Array.from(pts.map((p) => p[1]));

  it('counts a point on an edge and a point on a vertex as inside, as Turf does', () => {
    expect(Array.from(householdsInside({ lon, lat }, square))).toEqual([0, 1, 2, 3]);
    expect(countInside({ lon, lat, cells: pts.map(([x, y]) => cellOf(y, x)) }, square)).toBe(4);
  });

  it('gives the same answer from bigint cells and from groups built earlier', () => {
    const first = new HouseholdIndex({ lon, lat });
    const again = new HouseholdIndex({ lon, lat, groups: first.groups });
    expect(Array.from(again.inside(square))).toEqual([0, 1, 2, 3]);
  });

  it('refuses what is not an area, saying where', () => {
    const idx = new HouseholdIndex({ lon, lat });
    expect(() => idx.inside({ type: 'Point', coordinates: [70, 30] })).toThrow(AreaInputError);
    expect(() => idx.inside({ type: 'LineString', coordinates: [[70, 30], [71, 31]] })).toThrow(/not an area/);
    expect(() => idx.inside({ type: 'Polygon', coordinates: [[[70, 30], [71, 30], [70, 30]]] })).toThrow(/at least 4 positions/);
    expect(() => idx.inside({ type: 'Polygon', coordinates: [[[70, 30], [71, 30], [71, 31], [70, 31]]] })).toThrow(/not closed/);
    expect(() => idx.inside({ type: 'Polygon', coordinates: [[[30, 70], [30, 200], [31, 71], [30, 70]]] })).toThrow(/out of range/);
    expect(() => idx.inside({ type: 'Polygon', coordinates: [[[70, 30], [NaN, 30], [71, 31], [70, 30]]] })).toThrow(/finite/);
    expect(() => idx.inside({ type: 'Feature', geometry: null, properties: {} })).toThrow(/without geometry/);
    expect(() => idx.inside({ type: 'FeatureCollection', features: [] })).toThrow(/no polygon/);
    // RFC 7946: Features only in a FeatureCollection, geometries only in a Feature; so nothing nests deeper.
    let deep: unknown = square;
    for (let k = 0; k < 100_000; k++) deep = { type: 'Feature', properties: {}, geometry: deep };
    expect(() => idx.inside(deep)).toThrow(/area\.geometry: expected a Polygon or MultiPolygon, got type "Feature"/);
    expect(() => idx.inside({ type: 'FeatureCollection', features: [square.geometry] })).toThrow(/features\[0\]: expected a Feature, got type "Polygon"/);
  });
});
