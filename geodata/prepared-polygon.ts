import Flatbush from 'flatbush';
import { readAreaPolygons, type PolygonRings } from './area-input.ts';
import { CoverGrid } from './cover-grid.ts';
import { EdgeTree, segmentDistance2 } from './edge-tree.ts';
import { orientTurf } from './exact-orient.ts';
import { flattenPolygons, type FlatPolygons } from './flat-polygons.ts';

const NONE = 0;
const CROSSING = 1;
const BOUNDARY = 2;

/**
 * Below this magnitude of lon or lat, a product of two coordinate differences may underflow to zero, and
 * Turf's orientation filter then answers from that zero; the shortcuts of contains() assume it cannot,
 * so such points are answered by testing every edge. Above it (all of Pakistan, and most of the world)
 * two distinct doubles differ by at least |value|·2⁻⁵³, and the product stays above 2⁻¹⁰⁷⁴.
 */
const TINY = 1e-100;

/** Cells of the raster placeDisc keeps (one byte each, a third more for its coarser levels). */
const GRID_CELLS_PER_EDGE = 64;
const GRID_CELLS_MIN = 4096;
const GRID_CELLS_MAX = 1 << 23;

/**
 * A (Multi)Polygon prepared for many point-in-polygon questions.
 *
 * Decisions are those of Turf's `booleanPointInPolygon` with default options, exactly: a point on an
 * edge or vertex (of an outer ring or a hole) is inside; within one polygon the crossings of all its
 * rings are counted together (holes honoured, winding ignored); a MultiPolygon is "inside any part".
 * The arithmetic per edge is Turf's own (same subtractions, same orientation predicate, see
 * exact-orient.ts); what changes is which edges are looked at.
 *
 * Turf (point-in-polygon-hao) counts the edges that cross a ray from the point towards −x, an edge whose
 * y-range holds the point's y counted half-open. Working through its sign tests: an edge wholly to the
 * right of the point (both x greater) never counts and is never "on the boundary"; an edge wholly to its
 * left whose y-range holds the point's y strictly always counts once. So the plane is cut into horizontal
 * bands at chosen vertex y values (each such y its own band, so the teeth of a comb end in bands of their
 * own), and each band into columns:
 *  - edges with an end in the band ("partial") are tested one by one, as Turf does, skipping those wholly
 *    to the right;
 *  - edges crossing the whole band are listed only in the columns their x-range overlaps, and tested there;
 *    those wholly left of a column are summed in advance into the set of parts they make odd there.
 * Band and column of a point are monotone functions of its y and x, which is all the argument needs:
 * an edge whose end lies in a lower band is strictly below every point of the band, and so on.
 *
 * What it replaced listed every edge in every band its y-range met, so a zig-zag of tall edges (2,500
 * vertices, 32 KB of JSON) put every edge in every band and each point tested them all: 2.3 s for
 * 200,000 households, now a few milliseconds (see the README's performance table).
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
  /** Band edges: band 2k+1 is y = breaks[k] exactly, band 2k lies strictly between breaks[k-1] and breaks[k]. */
  private breaks!: Float64Array;
  private partialStart!: Uint32Array;
  private partialEdges!: Uint32Array;
  /** Cells of band b are bandCell[b] .. bandCell[b + 1] - 1, one per column. */
  private bandCell!: Uint32Array;
  private bandX0!: Float64Array;
  private bandScale!: Float64Array;
  private cellStart!: Uint32Array;
  private cellEdges!: Uint32Array;
  private oddStart!: Uint32Array;
  private oddParts!: Uint32Array;
  /** Per-query parity of each part, valid where stamp equals the query's generation. */
  private readonly parity: Uint8Array;
  private readonly stamp: Uint32Array;
  private readonly touched: Uint32Array;
  private generation = 0;
  private edgeTree: Flatbush | undefined;
  /** For boundaryWithin: stops at the first edge near enough (edges in ring order). */
  private nearTree: EdgeTree | undefined;
  /** For placeDisc: the raster that settles most discs without looking at an edge. */
  private grid: CoverGrid | null | undefined;

  /** Validates the GeoJSON (see readAreaPolygons) and prepares it. */
  static fromGeoJSON(area: unknown): PreparedPolygon {
    return new PreparedPolygon(readAreaPolygons(area));
  }

  /** `polygons` must already be valid closed rings (readAreaPolygons checks that), nested or flat. */
  constructor(polygons: readonly PolygonRings[] | FlatPolygons) {
    const { xy, ringEnds, partEnds } = 'xy' in polygons ? polygons : flattenPolygons(polygons);
    const n = xy.length / 2 - ringEnds.length;
    this.edgeCount = n;
    this.partCount = partEnds.length;
    this.x1 = new Float64Array(n);
    this.y1 = new Float64Array(n);
    this.x2 = new Float64Array(n);
    this.y2 = new Float64Array(n);
    this.part = new Uint32Array(n);
    let minX = Infinity, minY = Infinity, maxX = -Infinity, maxY = -Infinity;
    let e = 0;
    let ringStart = 0;
    let r = 0;
    for (let p = 0; p < partEnds.length; p++) {
      for (; r < partEnds[p]!; r++) {
        const end = ringEnds[r]!;
        for (let k = ringStart; k + 1 < end; k++, e++) {
          const ax = xy[2 * k]!, ay = xy[2 * k + 1]!;
          this.x1[e] = ax; this.y1[e] = ay; this.x2[e] = xy[2 * k + 2]!; this.y2[e] = xy[2 * k + 3]!;
          this.part[e] = p;
          if (ax < minX) minX = ax;
          if (ax > maxX) maxX = ax;
          if (ay < minY) minY = ay;
          if (ay > maxY) maxY = ay;
        }
        ringStart = end;
      }
    }
    this.bbox = [minX, minY, maxX, maxY];
    this.parity = new Uint8Array(this.partCount);
    this.stamp = new Uint32Array(this.partCount);
    this.touched = new Uint32Array(this.partCount);
    this.buildBands();
  }

  /**
   * Chooses the band edges: a vertex y becomes one once about `target` vertices lie at or below it since
   * the last, so each open band holds a handful of vertices. Doubling the target while the edges crossing
   * whole bands would be listed too often (tall edges over many bands) bounds memory at ~8 entries an edge.
   */
  private buildBands(): void {
    const n = this.edgeCount;
    const { y1, y2 } = this;
    const ys = Float64Array.from(y1).sort();
    const distinct: number[] = [];
    const counts: number[] = [];
    for (let i = 0; i < n; i++) {
      if (i > 0 && ys[i] === ys[i - 1]) counts[counts.length - 1]!++;
      else { distinct.push(ys[i]!); counts.push(1); }
    }
    const lo = new Uint32Array(n);
    const hi = new Uint32Array(n);
    for (let target = 4; ; target *= 2) {
      const chosen: number[] = [];
      let acc = 0;
      for (let i = 0; i < distinct.length; i++) {
        acc += counts[i]!;
        if (acc >= target) { chosen.push(distinct[i]!); acc = 0; }
      }
      this.breaks = Float64Array.from(chosen);
      let entries = 0;
      for (let i = 0; i < n; i++) {
        lo[i] = this.bandOf(Math.min(y1[i]!, y2[i]!));
        hi[i] = this.bandOf(Math.max(y1[i]!, y2[i]!));
        if (hi[i]! > lo[i]! + 1) entries += hi[i]! - lo[i]! - 1;
      }
      if (entries <= 8 * n + 2 * chosen.length + 1 || chosen.length === 0) break;
    }
    const bands = 2 * this.breaks.length + 1;

    // Partial edges of each band, and the edges crossing it whole, as CSR lists.
    const partialStart = new Uint32Array(bands + 1);
    const fullStart = new Uint32Array(bands + 1);
    for (let i = 0; i < n; i++) {
      partialStart[lo[i]! + 1]!++;
      if (hi[i] !== lo[i]) partialStart[hi[i]! + 1]!++;
      for (let b = lo[i]! + 1; b < hi[i]!; b++) fullStart[b + 1]!++;
    }
    for (let b = 0; b < bands; b++) { partialStart[b + 1]! += partialStart[b]!; fullStart[b + 1]! += fullStart[b]!; }
    const partialEdges = new Uint32Array(partialStart[bands]!);
    const fullEdges = new Uint32Array(fullStart[bands]!);
    const pf = partialStart.slice(0, bands), ff = fullStart.slice(0, bands);
    for (let i = 0; i < n; i++) {
      partialEdges[pf[lo[i]!]!++] = i;
      if (hi[i] !== lo[i]) partialEdges[pf[hi[i]!]!++] = i;
      for (let b = lo[i]! + 1; b < hi[i]!; b++) fullEdges[ff[b]!++] = i;
    }
    this.partialStart = partialStart;
    this.partialEdges = partialEdges;
    this.buildColumns(bands, fullStart, fullEdges);
  }

  /**
   * Cuts each band into columns over the x-range of the edges crossing it whole: about two such edges a
   * column, halved while an edge would be listed in too many columns or too many parts are odd at once.
   */
  private buildColumns(bands: number, fullStart: Uint32Array, fullEdges: Uint32Array): void {
    const { x1, x2, part } = this;
    const bandCell = new Uint32Array(bands + 1);
    const bandX0 = new Float64Array(bands);
    const bandScale = new Float64Array(bands);
    const cellStart: number[] = [0];
    const cellEdges: number[] = [];
    const oddStart: number[] = [0];
    const oddParts: number[] = [];
    const parity = new Uint8Array(this.partCount);
    const oddAt = new Int32Array(this.partCount).fill(-1);
    for (let b = 0; b < bands; b++) {
      const from = fullStart[b]!, to = fullStart[b + 1]!;
      const f = to - from;
      if (f <= 8) {
        // Too few to be worth columns: one cell listing them all, nothing summed in advance.
        bandCell[b + 1] = bandCell[b]! + 1;
        for (let j = from; j < to; j++) cellEdges.push(fullEdges[j]!);
        cellStart.push(cellEdges.length);
        oddStart.push(oddParts.length);
        continue;
      }
      let x0 = Infinity, xMax = -Infinity;
      for (let j = from; j < to; j++) {
        const e = fullEdges[j]!;
        x0 = Math.min(x0, x1[e]!, x2[e]!);
        xMax = Math.max(xMax, x1[e]!, x2[e]!);
      }
      let cols = Math.ceil(f / 2);
      let scale = 0;
      let byColumn: number[][] = [];
      let odd: number[][] = [];
      for (;;) {
        scale = cols > 1 && xMax > x0 ? cols / (xMax - x0) : 0;
        const col = (x: number) => columnOf(x, x0, scale, cols);
        const budget = 4 * f + cols;
        // Counted before anything is listed, so a wide edge costs one step per try, not one per column.
        let listed = 0;
        for (let j = from; j < to && listed <= budget; j++) {
          const e = fullEdges[j]!;
          listed += col(Math.max(x1[e]!, x2[e]!)) - col(Math.min(x1[e]!, x2[e]!)) + 1;
        }
        if (cols > 1 && listed > budget) { cols >>= 1; continue; }
        byColumn = Array.from({ length: cols }, () => []);
        const leaving: number[][] = Array.from({ length: cols }, () => []);
        for (let j = from; j < to; j++) {
          const e = fullEdges[j]!;
          const c0 = col(Math.min(x1[e]!, x2[e]!)), c1 = col(Math.max(x1[e]!, x2[e]!));
          for (let c = c0; c <= c1; c++) byColumn[c]!.push(e);
          if (c1 + 1 < cols) leaving[c1 + 1]!.push(e);
        }
        // Sweep left to right: the parts made odd by the edges wholly left of each column.
        odd = [];
        const oddNow: number[] = [];
        let oddListed = 0;
        for (let c = 0; c < cols && oddListed <= budget; c++) {
          for (const e of leaving[c]!) {
            const p = part[e]!;
            parity[p]! ^= 1;
            if (parity[p]) { oddAt[p] = oddNow.length; oddNow.push(p); }
            else {
              const at = oddAt[p]!, last = oddNow.pop()!;
              if (last !== p) { oddNow[at] = last; oddAt[last] = at; }
              oddAt[p] = -1;
            }
          }
          odd.push(oddNow.slice());
          oddListed += oddNow.length;
        }
        for (const p of oddNow) { parity[p] = 0; oddAt[p] = -1; }
        if (cols === 1 || oddListed <= budget) break;
        cols >>= 1;
      }
      bandX0[b] = x0;
      bandScale[b] = scale;
      bandCell[b + 1] = bandCell[b]! + cols;
      for (let c = 0; c < cols; c++) {
        for (const e of byColumn[c]!) cellEdges.push(e);
        cellStart.push(cellEdges.length);
        for (const p of odd[c]!) oddParts.push(p);
        oddStart.push(oddParts.length);
      }
    }
    this.bandCell = bandCell;
    this.bandX0 = bandX0;
    this.bandScale = bandScale;
    this.cellStart = Uint32Array.from(cellStart);
    this.cellEdges = Uint32Array.from(cellEdges);
    this.oddStart = Uint32Array.from(oddStart);
    this.oddParts = Uint32Array.from(oddParts);
  }

  /** Monotone in y: band 2k for breaks[k-1] < y < breaks[k], 2k+1 for y = breaks[k]. */
  private bandOf(y: number): number {
    const breaks = this.breaks;
    let lo = 0, hi = breaks.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (breaks[mid]! <= y) lo = mid + 1; else hi = mid;
    }
    return lo > 0 && breaks[lo - 1] === y ? 2 * lo - 1 : 2 * lo;
  }

  /** Turf's `booleanPointInPolygon([lon, lat], polygon)`. */
  contains(lon: number, lat: number): boolean {
    const bb = this.bbox;
    // Outside the bounding box every ring crosses the ray an even number of times: Turf says false too.
    if (!(lon >= bb[0] && lon <= bb[2] && lat >= bb[1] && lat <= bb[3])) return false;
    if (Math.abs(lon) < TINY || Math.abs(lat) < TINY) return this.containsByEveryEdge(lon, lat);
    const { x1, x2, part } = this;
    if (++this.generation === 0xffffffff) { this.stamp.fill(0); this.generation = 1; }
    let touched = 0;
    const band = this.bandOf(lat);
    for (let j = this.partialStart[band]!, end = this.partialStart[band + 1]!; j < end; j++) {
      const e = this.partialEdges[j]!;
      if (x1[e]! > lon && x2[e]! > lon) continue;
      const r = this.edgeTest(e, lon, lat);
      if (r === BOUNDARY) return true;
      if (r === CROSSING) touched = this.toggle(part[e]!, touched);
    }
    const first = this.bandCell[band]!;
    const cell = first + columnOf(lon, this.bandX0[band]!, this.bandScale[band]!, this.bandCell[band + 1]! - first);
    for (let j = this.cellStart[cell]!, end = this.cellStart[cell + 1]!; j < end; j++) {
      const e = this.cellEdges[j]!;
      const r = this.edgeTest(e, lon, lat);
      if (r === BOUNDARY) return true;
      if (r === CROSSING) touched = this.toggle(part[e]!, touched);
    }
    for (let j = this.oddStart[cell]!, end = this.oddStart[cell + 1]!; j < end; j++) touched = this.toggle(this.oddParts[j]!, touched);
    for (let k = 0; k < touched; k++) if (this.parity[this.touched[k]!]) return true;
    return false;
  }

  /** Flips the parity of part p in this query; returns how many parts the query has touched. */
  private toggle(p: number, touched: number): number {
    if (this.stamp[p] !== this.generation) {
      this.stamp[p] = this.generation;
      this.parity[p] = 1;
      this.touched[touched] = p;
      return touched + 1;
    }
    this.parity[p]! ^= 1;
    return touched;
  }

  /** Turf's loop over every edge, part by part (edges are stored in part order). */
  private containsByEveryEdge(lon: number, lat: number): boolean {
    let currentPart = -1;
    let crossings = 0;
    for (let e = 0; e < this.edgeCount; e++) {
      const p = this.part[e]!;
      if (p !== currentPart) {
        if (crossings & 1) return true;
        currentPart = p;
        crossings = 0;
      }
      const r = this.edgeTest(e, lon, lat);
      if (r === BOUNDARY) return true;
      if (r === CROSSING) crossings++;
    }
    return (crossings & 1) === 1;
  }

  /** One edge as point-in-polygon-hao weighs it: on the boundary, a crossing of the ray, or neither. */
  private edgeTest(e: number, lon: number, lat: number): number {
    const v1 = this.y1[e]! - lat;
    const v2 = this.y2[e]! - lat;
    if (v1 === 0 && v2 === 0) {
      const u1 = this.x1[e]! - lon;
      const u2 = this.x2[e]! - lon;
      return (u2 <= 0 && u1 >= 0) || (u1 <= 0 && u2 >= 0) ? BOUNDARY : NONE;
    }
    if ((v2 >= 0 && v1 <= 0) || (v2 <= 0 && v1 >= 0)) {
      const f = orientTurf(this.x1[e]! - lon, this.x2[e]! - lon, v1, v2);
      if (f === 0) return BOUNDARY;
      if ((f > 0 && v2 > 0 && v1 <= 0) || (f < 0 && v2 <= 0 && v1 > 0)) return CROSSING;
    }
    return NONE;
  }

  /**
   * True when some edge comes within `radius` (degrees, planar) of the point. The hot path of the
   * spatial engine: a disc that no edge touches lies wholly on one side of the boundary.
   */
  boundaryWithin(lon: number, lat: number, radius: number): boolean {
    this.nearTree ??= new EdgeTree(this.x1, this.y1, this.x2, this.y2);
    return this.nearTree.anyWithin(lon, lat, radius);
  }

  /**
   * Where a disc lies: 0 wholly outside, 1 wholly inside, 2 across the boundary (some edge within
   * `radius`). The raster answers most discs; the rest are weighed on the edges, as boundaryWithin does,
   * or with `exact` false, answered 2 (not known to lie on one side) while there is a raster.
   */
  placeDisc(lon: number, lat: number, radius: number, exact = true): number {
    const grid = this.coverGrid();
    const known = grid ? grid.place(lon, lat, radius) : 2;
    if (known !== 2 || (!exact && grid)) return known;
    if (!this.boundaryWithin(lon, lat, radius)) return this.contains(lon, lat) ? 1 : 0;
    return 2;
  }

  /**
   * The raster's word on a point known only within `slack` degrees: 0 outside, 1 inside (contains()
   * would say the same of every point that near), 2 when it cannot say (no raster, the cell crossed, or
   * the slack wider than the raster allows for).
   */
  rasterState(lon: number, lat: number, slack: number): number {
    return this.coverGrid()?.pointState(lon, lat, slack) ?? 2;
  }

  /** Cells of the raster placeDisc and rasterState read (built on first use), 0 when there is none. */
  get rasterCells(): number {
    return this.coverGrid()?.cellCount ?? 0;
  }

  private coverGrid(): CoverGrid | null {
    if (this.grid === undefined) {
      this.grid = CoverGrid.build(
        { bbox: this.bbox, x1: this.x1, y1: this.y1, x2: this.x2, y2: this.y2 },
        (x, y) => this.contains(x, y),
        Math.min(GRID_CELLS_MAX, Math.max(GRID_CELLS_MIN, GRID_CELLS_PER_EDGE * this.edgeCount)),
      );
    }
    return this.grid;
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
    return segmentDistance2(this.x1[e]!, this.y1[e]!, this.x2[e]!, this.y2[e]!, px, py);
  }

}

/** Column of x in a band of `cols` columns from x0, `scale` columns a degree; monotone in x. */
function columnOf(x: number, x0: number, scale: number, cols: number): number {
  const c = Math.floor((x - x0) * scale);
  return c < 0 ? 0 : c >= cols ? cols - 1 : c;
}
