import type { PolygonRings } from './area-input.ts';

/**
 * Polygons as three typed arrays, the form a prepared polygon is built from and the form handed to a
 * worker thread (transferred, not cloned position by position). Positions are [x, y] pairs in `xy`;
 * ring r ends (exclusive, in positions) at `ringEnds[r]`; part p ends (exclusive, in rings) at
 * `partEnds[p]`. Rings stay closed, as GeoJSON gives them.
 */
export interface FlatPolygons {
  xy: Float64Array;
  ringEnds: Uint32Array;
  partEnds: Uint32Array;
}

/** Positions in all rings of all parts, closing positions included: what a vertex limit counts. */
export function positionCount(polygons: readonly PolygonRings[]): number {
  let n = 0;
  for (const rings of polygons) for (const ring of rings) n += ring.length;
  return n;
}

/** Flattens polygons read by readAreaPolygons (closed, checked rings); extra members such as altitude are dropped. */
export function flattenPolygons(polygons: readonly PolygonRings[]): FlatPolygons {
  let rings = 0;
  for (const p of polygons) rings += p.length;
  const xy = new Float64Array(2 * positionCount(polygons));
  const ringEnds = new Uint32Array(rings);
  const partEnds = new Uint32Array(polygons.length);
  let k = 0;
  let r = 0;
  polygons.forEach((part, p) => {
    for (const ring of part) {
      for (const pos of ring) {
        xy[2 * k] = pos[0]!;
        xy[2 * k + 1] = pos[1]!;
        k++;
      }
      ringEnds[r++] = k;
    }
    partEnds[p] = r;
  });
  return { xy, ringEnds, partEnds };
}

/** The buffers of a FlatPolygons, for postMessage's transfer list. */
export function flatBuffers(flat: FlatPolygons): ArrayBuffer[] {
  return [flat.xy.buffer, flat.ringEnds.buffer, flat.partEnds.buffer] as ArrayBuffer[];
}
