import { booleanPointInPolygon, multiPolygon, polygon } from '@turf/turf';
import { describe, expect, it } from 'vitest';
import { exactDiffOfProductsSign } from './exact-orient.ts';
import { PreparedPolygon } from './prepared-polygon.ts';
import { Random } from './random.ts';

const withHole = polygon([
  [[0, 0], [10, 0], [10, 10], [0, 10], [0, 0]],
  [[3, 3], [7, 3], [7, 7], [3, 7], [3, 3]],
]);

describe('PreparedPolygon.contains decides as Turf booleanPointInPolygon', () => {
  it('on edges and vertices of the outer ring and of a hole (inside), and in the hole (outside)', () => {
    const p = PreparedPolygon.fromGeoJSON(withHole);
    const cases: [number, number, boolean][] = [
      [0, 0, true], [5, 0, true], [10, 5, true], [3, 3, true], [5, 3, true], [7, 5, true],
      [5, 5, false], [1, 1, true], [11, 5, false], [-1e-12, 5, false], [5, 10 + 1e-12, false],
    ];
    for (const [x, y, expected] of cases) {
      expect(p.contains(x, y), `[${x}, ${y}]`).toBe(expected);
      expect(booleanPointInPolygon([x, y], withHole), `turf [${x}, ${y}]`).toBe(expected);
    }
  });

  it('treats overlapping MultiPolygon parts as "inside any", not by parity across parts', () => {
    const mp = multiPolygon([
      [[[0, 0], [4, 0], [4, 4], [0, 4], [0, 0]]],
      [[[2, 2], [6, 2], [6, 6], [2, 6], [2, 2]]],
    ]);
    const p = PreparedPolygon.fromGeoJSON(mp);
    expect(p.contains(3, 3)).toBe(true);
    expect(booleanPointInPolygon([3, 3], mp)).toBe(true);
  });

  it('agrees with Turf on random points, points on slanted edges and points a few ulps off them', () => {
    const rng = new Random(42);
    const ring: number[][] = [];
    for (let k = 0; k < 40; k++) {
      const a = (2 * Math.PI * k) / 40;
      const r = 1 + rng.next();
      ring.push([68 + r * Math.cos(a), 27 + r * Math.sin(a)]);
    }
    ring.push(ring[0]!);
    const poly = polygon([ring]);
    const p = PreparedPolygon.fromGeoJSON(poly);
    const pts: number[][] = [];
    for (let k = 0; k < 4000; k++) pts.push([66 + 4 * rng.next(), 25 + 4 * rng.next()]);
    for (let k = 0; k + 1 < ring.length; k++) {
      const [a, b] = [ring[k]!, ring[k + 1]!];
      for (const t of [0.5, 1 / 3, 0.1]) {
        const x = a[0]! + t * (b[0]! - a[0]!), y = a[1]! + t * (b[1]! - a[1]!);
        pts.push([x, y], [x + Number.EPSILON * 64, y], [x - Number.EPSILON * 64, y], [x, y + Number.EPSILON * 32]);
      }
    }
    for (const [x, y] of pts) expect(p.contains(x!, y!), `[${x}, ${y}]`).toBe(booleanPointInPolygon([x!, y!], poly));
    for (const [x, y] of pts) {
      expect(rasterFirst(p, x!, y!), `[${x}, ${y}]`).toBe(booleanPointInPolygon([x!, y!], poly));
      // A point known only within a slack: the raster still speaks for the point itself, or not at all.
      const near = p.rasterState(x! + 1e-13, y! - 1e-13, 2e-13);
      if (near !== 2) expect(near === 1, `[${x}, ${y}] within a slack`).toBe(booleanPointInPolygon([x!, y!], poly));
    }
    // Not vacuous: the raster settles discs on both sides and leaves some to the exact tests.
    for (const n of expectDiscsPlacedExactly(p, pts, rng)) expect(n).toBeGreaterThan(0);
  });

  it('measures the distance to the nearest edge, holes included', () => {
    const p = PreparedPolygon.fromGeoJSON(withHole);
    expect(p.distanceToBoundary(1, 5)).toBeCloseTo(1, 12);
    expect(p.distanceToBoundary(5, 5)).toBeCloseTo(2, 12);
    expect(p.distanceToBoundary(20, 5)).toBeCloseTo(10, 12);
    expect(p.distanceToBoundary(20, 5, 3)).toBe(3);
    expect(p.boundaryWithin(1.5, 5, 1.4)).toBe(false);
    expect(p.boundaryWithin(1.5, 5, 1.5)).toBe(true);
  });
});

/** contains() as the spatial engine asks it: the raster's word where it has one (the point known within `slack`). */
function rasterFirst(p: PreparedPolygon, x: number, y: number, slack = 0): boolean {
  const known = p.rasterState(x, y, slack);
  return known === 2 ? p.contains(x, y) : known === 1;
}

/**
 * placeDisc without the exact fallback answers from the raster alone: wherever it settles a disc on one
 * side, no edge comes within the radius and the centre's exact test agrees. Returns how many discs it
 * placed outside, inside and left to the exact tests.
 */
function expectDiscsPlacedExactly(p: PreparedPolygon, centres: number[][], rng: Random): number[] {
  const settled = [0, 0, 0];
  const [x0, y0, x1, y1] = p.bbox;
  const span = Math.max(x1 - x0, y1 - y0);
  for (const [x, y] of centres) {
    const r = span * 10 ** (-4 * rng.next());
    const where = p.placeDisc(x!, y!, r, false);
    settled[where]!++;
    if (where === 2) continue;
    expect(p.boundaryWithin(x!, y!, r), `disc [${x}, ${y}] r ${r}`).toBe(false);
    expect(p.contains(x!, y!), `disc [${x}, ${y}] r ${r}`).toBe(where === 1);
    expect(p.placeDisc(x!, y!, r)).toBe(where);
  }
  return settled;
}

/** A comb: teeth between y0 and a height per tooth, closed by a base below; the shape that froze the server. */
function comb(teeth: number, x0: number, x1: number, y0: number, height: (k: number) => number): number[][] {
  const ring: number[][] = [];
  for (let k = 0; k < teeth; k++) ring.push([x0 + ((x1 - x0) * k) / teeth, k % 2 ? height(k) : y0]);
  ring.push([x1, y0 - 0.5], [x0, y0 - 0.5], ring[0]!);
  return ring;
}

/** Random points in a box, every vertex, and points a few ulps off each vertex, on each vertex's latitude. */
function probes(rings: number[][][], box: [number, number, number, number], rng: Random): number[][] {
  const pts: number[][] = [];
  for (let k = 0; k < 3000; k++) pts.push([box[0] + (box[2] - box[0]) * rng.next(), box[1] + (box[3] - box[1]) * rng.next()]);
  for (const ring of rings) {
    for (let k = 0; k + 1 < ring.length; k++) {
      const [a, b] = [ring[k]!, ring[k + 1]!];
      pts.push([a[0]!, a[1]!], [(a[0]! + b[0]!) / 2, (a[1]! + b[1]!) / 2], [a[0]! + 1e-9, a[1]!], [a[0]! - 1e-9, a[1]!], [a[0]!, a[1]! + Number.EPSILON * 64]);
      pts.push([box[0] + (box[2] - box[0]) * rng.next(), a[1]!]);
    }
  }
  return pts;
}

describe('PreparedPolygon.contains decides as Turf on zig-zags (bands cut at vertex latitudes, columns inside them)', () => {
  const rng = new Random(13);
  const heights = Array.from({ length: 400 }, () => 24 + 12 * rng.next());
  const star: number[][] = [];
  for (let k = 0; k < 300; k++) {
    const a = (2 * Math.PI * k) / 300, r = k % 2 ? 6 : 0.05;
    star.push([69 + r * Math.cos(a), 30 + r * Math.sin(a)]);
  }
  star.push(star[0]!);
  const cases: [string, number[][][][]][] = [
    ['a comb of 400 tall teeth', [[comb(400, 61, 77, 24, () => 36)]]],
    ['a comb of 400 teeth of random height', [[comb(400, 61, 77, 24, (k) => heights[k]!)]]],
    ['a star of 150 spikes', [[star]]],
    ['two overlapping combs as MultiPolygon parts, one with a hole', [
      [comb(200, 61, 77, 24, () => 36)],
      [comb(160, 60.95, 76.9, 25, (k) => 30 + (k % 7)), [[65, 27], [65, 28], [66, 28], [66, 27], [65, 27]]],
    ]],
  ];
  for (const [name, parts] of cases) {
    it(name, () => {
      const geometry = multiPolygon(parts);
      const p = PreparedPolygon.fromGeoJSON(geometry);
      const pts = probes(parts.flat(), [60, 23, 78, 37], new Random(7));
      const wrong = pts.filter(([x, y]) => p.contains(x!, y!) !== booleanPointInPolygon([x!, y!], geometry));
      expect(wrong).toEqual([]);
      expect(pts.filter(([x, y]) => rasterFirst(p, x!, y!) !== p.contains(x!, y!))).toEqual([]);
      const [outside, , unsettled] = expectDiscsPlacedExactly(p, pts, new Random(11));
      expect(outside).toBeGreaterThan(0);
      expect(unsettled).toBeGreaterThan(0);
      // Not vacuous: the probes fall on both sides.
      const inside = pts.filter(([x, y]) => p.contains(x!, y!)).length;
      expect(inside).toBeGreaterThan(pts.length / 10);
      expect(inside).toBeLessThan(pts.length - pts.length / 10);
    });
  }

  it('a comb of 3,000 tall teeth is answered without a raster (marking it would cost too much), as Turf does', () => {
    const geometry = polygon([comb(3000, 61, 77, 24, () => 36)]);
    const p = PreparedPolygon.fromGeoJSON(geometry);
    expect(p.rasterCells).toBe(0);
    expect(PreparedPolygon.fromGeoJSON(multiPolygon([[comb(400, 61, 77, 24, () => 36)]])).rasterCells).toBeGreaterThan(0);
    const pts = probes(geometry.geometry.coordinates, [60, 23, 78, 37], new Random(5));
    expect(pts.filter(([x, y]) => rasterFirst(p, x!, y!) !== booleanPointInPolygon([x!, y!], geometry))).toEqual([]);
    expect(p.placeDisc(69, 23.2, 0.1, false)).toBe(0);
    expect(p.placeDisc(69, 30, 0.1, false)).toBe(2);
  });

  it('near the origin, where products of coordinate differences underflow and Turf calls points on the boundary', () => {
    const s = 1e-200;
    const tiny = polygon([comb(40, -s, s, -s, () => s).map(([x, y]) => [x!, y! < -s ? -2 * s : y!])]);
    const p = PreparedPolygon.fromGeoJSON(tiny);
    for (let i = 0; i < 500; i++) {
      const x = s * (-1 + 2 * ((i * 0.618) % 1)), y = s * (-1.4 + 2.4 * ((i * 0.377) % 1));
      expect(p.contains(x, y), `[${x}, ${y}]`).toBe(booleanPointInPolygon([x, y], tiny));
    }
  });
});

describe('exact orientation fallback', () => {
  it('gives the exact sign where floating point cancels', () => {
    expect(exactDiffOfProductsSign(0.1, 0.3, 0.3, 0.1)).toBe(0);
    expect(exactDiffOfProductsSign(1 + Number.EPSILON, 1 - Number.EPSILON / 2, 1, 1)).toBe(1);
    expect(exactDiffOfProductsSign(3, 5e-324, 1, 5e-324)).toBe(1);
    expect(exactDiffOfProductsSign(-2, 3, -3, 2)).toBe(0);
  });
});
