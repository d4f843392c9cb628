import Flatbush from 'flatbush';
import { readAreaPolygons, type PolygonRings } from './area-input.ts';
import { orientTurf } from './exact-orient.ts';

/**
 * A (Multi)Polygon prepared for many point-in-polygon questions.
 *
 * Decisions are those of Turf's `booleanPointInPolygon` with default options, exactly: a point on an
 * edge or vertex (of an outer ring or a hole) is inside; within one polygon the crossings of all its
 * rings are counted together (holes honoured, winding ignored); a MultiPolygon is "inside any part".
 * The arithmetic per edge is Turf's own (same subtractions, same orientation predicate, see
 * exact-orient.ts); what changes is which edges are looked at. Edges are grouped into horizontal bands
 * and a point visits only its band: an edge whose y-range does not hold the point's y is one Turf
 * skips too, since fl(a − b) has the sign of a − b.
 *
 * Coordinates are planar [lon, lat] in degrees, as Turf treats them.
 */
export class PreparedPolygon {
  readonly bbox: readonly [number, number, number, number];
  readonly edgeCount: number;
  readonly partCount: number;
  private readonly x1: Float64Array;
  private readonly y1: Float64Array;
  private readonly x2: Float64Array;
  private readonly y2: Float64Array;
  private readonly part: Uint32Array;
  private readonly bandY0: number;
  private readonly bandScale: number;
  private readonly bandCount: number;
  private readonly bandStart: Uint32Array;
  private readonly bandEdges: Uint32Array;
  private edgeTree: Flatbush | undefined;

  /** Validates the GeoJSON (see readAreaPolygons) and prepares it. */
  static fromGeoJSON(area: unknown): PreparedPolygon {
    return new PreparedPolygon(readAreaPolygons(area));
  }

  /** `polygons` must already be valid closed rings (readAreaPolygons checks that). */
  constructor(polygons: readonly PolygonRings[]) {
    let n = 0;
    for (const rings of polygons) for (const ring of rings) n += ring.length - 1;
    this.edgeCount = n;
    this.partCount = polygons.length;
    this.x1 = new Float64Array(n);
    this.y1 = new Float64Array(n);
    this.x2 = new Float64Array(n);
    this.y2 = new Float64Array(n);
    this.part = new Uint32Array(n);
    let minX = Infinity, minY = Infinity, maxX = -Infinity, maxY = -Infinity;
    let e = 0;
    polygons.forEach((rings, p) => {
      for (const ring of rings) {
        for (let i = 0; i + 1 < ring.length; i++, e++) {
          const a = ring[i]!, b = ring[i + 1]!;
          this.x1[e] = a[0]!; this.y1[e] = a[1]!; this.x2[e] = b[0]!; this.y2[e] = b[1]!;
          this.part[e] = p;
          if (a[0]! < minX) minX = a[0]!;
          if (a[0]! > maxX) maxX = a[0]!;
          if (a[1]! < minY) minY = a[1]!;
          if (a[1]! > maxY) maxY = a[1]!;
        }
      }
    });
    this.bbox = [minX, minY, maxX, maxY];
    this.bandY0 = minY;

    // About four edges per band; halve the band count while long edges would be copied into too
    // many bands (a few tall edges in a simple polygon would otherwise dominate memory).
    let bands = Math.max(1, Math.min(1 << 20, Math.ceil(n / 4)));
    let scale = 0;
    let entries = 0;
    for (;;) {
      scale = maxY > minY ? bands / (maxY - minY) : 0;
      entries = 0;
      for (let i = 0; i < n; i++) entries += this.bandOfY(Math.max(this.y1[i]!, this.y2[i]!), scale, bands) - this.bandOfY(Math.min(this.y1[i]!, this.y2[i]!), scale, bands) + 1;
      if (entries <= 8 * n + bands || bands === 1) break;
      bands = Math.max(1, bands >> 1);
    }
    this.bandScale = scale;
    this.bandCount = bands;
    const start = new Uint32Array(bands + 1);
    for (let i = 0; i < n; i++) {
      const lo = this.bandOfY(Math.min(this.y1[i]!, this.y2[i]!), scale, bands);
      const hi = this.bandOfY(Math.max(this.y1[i]!, this.y2[i]!), scale, bands);
      for (let b = lo; b <= hi; b++) start[b + 1]!++;
    }
    for (let b = 0; b < bands; b++) start[b + 1]! += start[b]!;
    const fill = start.slice(0, bands);
    const edges = new Uint32Array(entries);
    // Edges are visited in part order, so each band lists its edges grouped by part: contains()
    // relies on that to keep one crossing parity per part, as Turf does.
    for (let i = 0; i < n; i++) {
      const lo = this.bandOfY(Math.min(this.y1[i]!, this.y2[i]!), scale, bands);
      const hi = this.bandOfY(Math.max(this.y1[i]!, this.y2[i]!), scale, bands);
      for (let b = lo; b <= hi; b++) edges[fill[b]!++] = i;
    }
    this.bandStart = start;
    this.bandEdges = edges;
  }

  /** Monotone in y, so an edge listed in bands lo..hi is found from any y in its range. */
  private bandOfY(y: number, scale: number, bands: number): number {
    const b = Math.floor((y - this.bandY0) * scale);
    return b < 0 ? 0 : b >= bands ? bands - 1 : b;
  }

  /** Turf's `booleanPointInPolygon([lon, lat], polygon)`, answered from the band of `lat`. */
  contains(lon: number, lat: number): boolean {
    const bb = this.bbox;
    // Outside the bounding box every ring crosses the ray an even number of times: Turf says false too.
    if (!(lon >= bb[0] && lon <= bb[2] && lat >= bb[1] && lat <= bb[3])) return false;
    const band = this.bandOfY(lat, this.bandScale, this.bandCount);
    const end = this.bandStart[band + 1]!;
    const { x1, y1, x2, y2, part, bandEdges } = this;
    let currentPart = -1;
    let crossings = 0;
    for (let j = this.bandStart[band]!; j < end; j++) {
      const e = bandEdges[j]!;
      const p = part[e]!;
      if (p !== currentPart) {
        if (crossings & 1) return true;
        currentPart = p;
        crossings = 0;
      }
      const v1 = y1[e]! - lat;
      const v2 = y2[e]! - lat;
      if (v1 === 0 && v2 === 0) {
        const u1 = x1[e]! - lon;
        const u2 = x2[e]! - lon;
        if ((u2 <= 0 && u1 >= 0) || (u1 <= 0 && u2 >= 0)) return true;
      } else if ((v2 >= 0 && v1 <= 0) || (v2 <= 0 && v1 >= 0)) {
        const f = orientTurf(x1[e]! - lon, x2[e]! - lon, v1, v2);
        if (f === 0) return true;
        if ((f > 0 && v2 > 0 && v1 <= 0) || (f < 0 && v2 <= 0 && v1 > 0)) crossings++;
      }
    }
    return (crossings & 1) === 1;
  }

  /**
   * True when some edge comes within `radius` (degrees, planar) of the point. The hot path of the
   * spatial engine: a disc that no edge touches lies wholly on one side of the boundary.
   */
  boundaryWithin(lon: number, lat: number, radius: number): boolean {
    const tree = this.tree();
    const r2 = radius * radius;
    let hit = false;
    tree.search(lon - radius, lat - radius, lon + radius, lat + radius, (e) => {
      if (!hit && this.segmentDistance2(e, lon, lat) <= r2) hit = true;
      return false;
    });
    return hit;
  }

  /**
   * Planar distance in degrees from the point to the nearest edge (outer rings and holes alike),
   * or `maxDistance` when no edge is nearer than that.
   */
  distanceToBoundary(lon: number, lat: number, maxDistance = Infinity): number {
    const tree = this.tree();
    const bb = this.bbox;
    const span = Math.max(bb[2] - bb[0], bb[3] - bb[1], 1e-9);
    // Grow a search box until the nearest edge found lies within it: any nearer edge would have had
    // its bbox inside the box, so the minimum is then final.
    for (let r = Math.min(maxDistance, span / 1024); ; r = Math.min(maxDistance, r * 4)) {
      let best = Infinity;
      tree.search(lon - r, lat - r, lon + r, lat + r, (e) => {
        const d = this.segmentDistance2(e, lon, lat);
        if (d < best) best = d;
        return false;
      });
      const d = Math.sqrt(best);
      if (d <= r) return d;
      if (r >= maxDistance) return maxDistance;
    }
  }

  /** Calls `fn` with the bounding box of every edge (outer rings and holes alike). */
  forEachEdgeBox(fn: (west: number, south: number, east: number, north: number) => void): void {
    const { x1, y1, x2, y2 } = this;
    for (let e = 0; e < this.edgeCount; e++) {
      fn(Math.min(x1[e]!, x2[e]!), Math.min(y1[e]!, y2[e]!), Math.max(x1[e]!, x2[e]!), Math.max(y1[e]!, y2[e]!));
    }
  }

  /** The first vertex of the first ring: on the boundary, hence inside by Turf's rule. */
  firstVertex(): [number, number] {
    return [this.x1[0]!, this.y1[0]!];
  }

  private tree(): Flatbush {
    if (this.edgeTree) return this.edgeTree;
    const tree = new Flatbush(Math.max(1, this.edgeCount));
    for (let e = 0; e < this.edgeCount; e++) {
      const ax = this.x1[e]!, ay = this.y1[e]!, bx = this.x2[e]!, by = this.y2[e]!;
      tree.add(Math.min(ax, bx), Math.min(ay, by), Math.max(ax, bx), Math.max(ay, by));
    }
    if (this.edgeCount === 0) tree.add(Infinity, Infinity, Infinity, Infinity);
    tree.finish();
    this.edgeTree = tree;
    return tree;
  }

  private segmentDistance2(e: number, px: number, py: number): number {
    const ax = this.x1[e]!, ay = this.y1[e]!;
    const dx = this.x2[e]! - ax, dy = this.y2[e]! - ay;
    const len2 = dx * dx + dy * dy;
    let t = len2 > 0 ? ((px - ax) * dx + (py - ay) * dy) / len2 : 0;
    t = t < 0 ? 0 : t > 1 ? 1 : t;
    const qx = ax + t * dx - px, qy = ay + t * dy - py;
    return qx * qx + qy * qy;
  }
}
