import { h3ToBigint, H3_RESOLUTION } from './h3.ts';
import { latLngToCell } from 'h3-js';
import { PreparedPolygon } from './prepared-polygon.ts';

export { AreaInputError } from './area-input.ts';

/** Household cells, one per household: H3 strings, or bigints as the database stores them. */
export type CellColumn = ArrayLike<string> | ArrayLike<bigint>;

/** Households as columns (index i is household i). */
export interface HouseholdColumns {
  lat: Float64Array;
  lon: Float64Array;
  /** H3 cell at resolution H3_RESOLUTION (h3.ts); computed from lat/lon when absent. */
  cells?: CellColumn;
  /** Groups built earlier by groupByCell for the same columns, to skip the grouping. */
  groups?: CellGroups;
}

/**
 * Households grouped by cell, CSR style: the households of group g are
 * order[start[g]] .. order[start[g + 1] - 1], groups sorted by cell id, households by index.
 * Each group also carries a disc (centre, radius in planar degrees) holding all its households.
 */
export interface CellGroups {
  cells: BigUint64Array;
  start: Uint32Array;
  order: Uint32Array;
  centreLon: Float64Array;
  centreLat: Float64Array;
  radius: Float64Array;
}

/** How the last query split the work; for benchmarks and logs. */
export interface QueryStats {
  groupsInside: number;
  groupsOutside: number;
  groupsBoundary: number;
  pointsTested: number;
}

/** Ratio and floor added to each group radius against rounding in the planar distance. */
const RADIUS_MARGIN = 1 + 1e-6;
const RADIUS_FLOOR = 1e-9;

/**
 * Groups households by H3 cell. The disc of a group is centred on the middle of its households' bbox
 * and reaches the farthest of them, so it lies within the cell's circumcircle, and it does not trust
 * the cell's geometry at all: a household carrying a stale or coarser cell only widens its disc.
 */
export function groupByCell(lat: Float64Array, lon: Float64Array, cells?: CellColumn): CellGroups {
  const n = lat.length;
  if (lon.length !== n) throw new RangeError(`lat has ${n} values, lon ${lon.length}`);
  if (cells && cells.length !== n) throw new RangeError(`lat has ${n} values, cells ${cells.length}`);
  const keys = new BigUint64Array(n);
  for (let i = 0; i < n; i++) {
    const c = cells ? cells[i]! : latLngToCell(lat[i]!, lon[i]!, H3_RESOLUTION);
    keys[i] = typeof c === 'bigint' ? c : h3ToBigint(c);
  }
  // Group ids in first-seen order, then a counting sort: O(n) apart from sorting the distinct cells.
  const idOf = new Map<bigint, number>();
  const groupOf = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    const k = keys[i]!;
    let g = idOf.get(k);
    if (g === undefined) { g = idOf.size; idOf.set(k, g); }
    groupOf[i] = g;
  }
  const distinct = BigUint64Array.from(idOf.keys()).sort();
  const rank = new Uint32Array(distinct.length);
  distinct.forEach((k, r) => { rank[idOf.get(k)!] = r; });
  const m = distinct.length;
  const start = new Uint32Array(m + 1);
  for (let i = 0; i < n; i++) start[rank[groupOf[i]!]! + 1]!++;
  for (let g = 0; g < m; g++) start[g + 1]! += start[g]!;
  const fill = start.slice(0, m);
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[fill[rank[groupOf[i]!]!]!++] = i;

  const centreLon = new Float64Array(m), centreLat = new Float64Array(m), radius = new Float64Array(m);
  for (let g = 0; g < m; g++) {
    let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
    for (let j = start[g]!; j < start[g + 1]!; j++) {
      const i = order[j]!;
      const x = lon[i]!, y = lat[i]!;
      if (x < x0) x0 = x; if (x > x1) x1 = x;
      if (y < y0) y0 = y; if (y > y1) y1 = y;
    }
    const cx = (x0 + x1) / 2, cy = (y0 + y1) / 2;
    let r2 = 0;
    for (let j = start[g]!; j < start[g + 1]!; j++) {
      const i = order[j]!;
      const dx = lon[i]! - cx, dy = lat[i]! - cy;
      const d2 = dx * dx + dy * dy;
      if (d2 > r2) r2 = d2;
    }
    centreLon[g] = cx; centreLat[g] = cy;
    radius[g] = Math.sqrt(r2) * RADIUS_MARGIN + RADIUS_FLOOR;
  }
  return { cells: distinct, start, order, centreLon, centreLat, radius };
}

/** Something that can answer point-in-area: GeoJSON (validated) or an already prepared polygon. */
export type AreaLike = unknown;

function prepare(area: AreaLike): PreparedPolygon {
  return area instanceof PreparedPolygon ? area : PreparedPolygon.fromGeoJSON(area);
}

/**
 * Households indexed once, asked many times which of them lie in an area.
 *
 * Per occupied cell: a group whose disc misses the polygon's bbox is outside; a group whose disc no
 * edge touches is wholly inside or wholly outside, and its centre's exact test says which; only the
 * households of the remaining (boundary) groups are tested one by one. Every test is the prepared
 * polygon's, whose decisions are Turf's, so the answer is Turf's booleanPointInPolygon on every
 * household. h3-js's own containment (polygonToCellsExperimental) is never consulted: DESIGN records
 * cells it called contained that were not.
 */
export class HouseholdIndex {
  readonly size: number;
  readonly groups: CellGroups;
  /** Filled by each query. */
  lastStats: QueryStats = { groupsInside: 0, groupsOutside: 0, groupsBoundary: 0, pointsTested: 0 };
  private readonly lat: Float64Array;
  private readonly lon: Float64Array;

  constructor(columns: HouseholdColumns) {
    this.lat = columns.lat;
    this.lon = columns.lon;
    this.size = columns.lat.length;
    this.groups = columns.groups ?? groupByCell(columns.lat, columns.lon, columns.cells);
    if (this.groups.order.length !== this.size) throw new RangeError('groups do not match the columns');
  }

  /** Indexes of the households inside the area, ascending. */
  inside(area: AreaLike): Uint32Array {
    const out = new Uint32Array(this.size);
    let n = 0;
    this.scan(prepare(area), (from, to) => { for (let j = from; j < to; j++) out[n++] = this.groups.order[j]!; },
      (i) => { out[n++] = i; });
    return out.slice(0, n).sort();
  }

  /** How many households are inside the area. */
  countInside(area: AreaLike): number {
    let n = 0;
    this.scan(prepare(area), (from, to) => { n += to - from; }, () => { n++; });
    return n;
  }

  /** Households inside the area counted by their area code (codes[i] for household i). */
  countInsideByArea(area: AreaLike, codes: ArrayLike<string>): Map<string, number> {
    if (codes.length !== this.size) throw new RangeError(`${this.size} households but ${codes.length} codes`);
    const counts = new Map<string, number>();
    const add = (i: number) => { const c = codes[i]!; counts.set(c, (counts.get(c) ?? 0) + 1); };
    this.scan(prepare(area), (from, to) => { for (let j = from; j < to; j++) add(this.groups.order[j]!); }, add);
    return counts;
  }

  /** Calls wholeGroup(from, to) for runs of `order` wholly inside, one(i) for households tested inside. */
  private scan(poly: PreparedPolygon, wholeGroup: (from: number, to: number) => void, one: (i: number) => void): void {
    const { start, order, centreLon, centreLat, radius } = this.groups;
    const [bx0, by0, bx1, by1] = poly.bbox;
    const stats: QueryStats = { groupsInside: 0, groupsOutside: 0, groupsBoundary: 0, pointsTested: 0 };
    const m = start.length - 1;
    for (let g = 0; g < m; g++) {
      const cx = centreLon[g]!, cy = centreLat[g]!, r = radius[g]!;
      if (cx + r < bx0 || cx - r > bx1 || cy + r < by0 || cy - r > by1) { stats.groupsOutside++; continue; }
      if (!poly.boundaryWithin(cx, cy, r)) {
        if (poly.contains(cx, cy)) { stats.groupsInside++; wholeGroup(start[g]!, start[g + 1]!); }
        else stats.groupsOutside++;
        continue;
      }
      stats.groupsBoundary++;
      for (let j = start[g]!; j < start[g + 1]!; j++) {
        const i = order[j]!;
        stats.pointsTested++;
        if (poly.contains(this.lon[i]!, this.lat[i]!)) one(i);
      }
    }
    this.lastStats = stats;
  }
}

/** One-off form of HouseholdIndex.inside; build a HouseholdIndex to ask repeatedly. */
export function householdsInside(households: HouseholdColumns, area: AreaLike): Uint32Array {
  return new HouseholdIndex(households).inside(area);
}

/** One-off form of HouseholdIndex.countInside. */
export function countInside(households: HouseholdColumns, area: AreaLike): number {
  return new HouseholdIndex(households).countInside(area);
}

/** One-off form of HouseholdIndex.countInsideByArea. */
export function countInsideByArea(households: HouseholdColumns, area: AreaLike, codes: ArrayLike<string>): Map<string, number> {
  return new HouseholdIndex(households).countInsideByArea(area, codes);
}
