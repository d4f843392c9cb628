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
  /**
   * Household order[j]'s place relative to its group's centre, in `order`'s order: read in sequence where
   * the columns would be read at random. Single precision, so only for the raster's lookups, which allow
   * for the rounding (see HouseholdIndex.scan); exact tests read the columns.
   */
  offsetLon: Float32Array;
  offsetLat: Float32Array;
}

/** How the last query split the work; for benchmarks and logs. */
export interface QueryStats {
  groupsInside: number;
  groupsOutside: number;
  groupsBoundary: number;
  pointsTested: number;
}

/**
 * Bounds of the error of a household's place read from its single-precision offset: the offset's rounding
 * (2⁻²⁴ of at most the radius, doubled for safety) and the double sums' (centre + offset, lon − centre)
 * at coordinates within ±180.
 */
const OFFSET_ROUNDING = 1.2e-7;
const SUM_ROUNDING = 1e-13;

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
  const offsetLon = new Float32Array(n), offsetLat = new Float32Array(n);
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
      offsetLon[j] = dx;
      offsetLat[j] = dy;
      const d2 = dx * dx + dy * dy;
      if (d2 > r2) r2 = d2;
    }
    centreLon[g] = cx; centreLat[g] = cy;
    radius[g] = Math.sqrt(r2) * RADIUS_MARGIN + RADIUS_FLOOR;
  }
  return { cells: distinct, start, order, centreLon, centreLat, radius, offsetLon, offsetLat };
}

/** Something that can answer point-in-area: GeoJSON (validated) or an already prepared polygon. */
export type AreaLike = unknown;

function prepare(area: AreaLike): PreparedPolygon {
  return area instanceof PreparedPolygon ? area : PreparedPolygon.fromGeoJSON(area);
}

/**
 * Coarser levels over the cell groups: H3 resolutions whose cells hold whole runs of groups. Groups are
 * sorted by cell id, and an H3 id keeps its ancestors' digits in its high bits, so the groups under one
 * ancestor are contiguous; each level is a CSR list of runs of the level below, with a disc over theirs.
 */
const LEVEL_RESOLUTIONS = [6, 4, 2] as const;

/**
 * Cell groups of more households than this are weighed exactly when the raster cannot settle them (an
 * edge tree search, a few microseconds); smaller ones have their households tested straight away.
 * Coarser nodes the raster cannot settle are opened.
 */
const EXACT_DISC_FROM = 32;

/** Part `part` (from 0) of `parts` shares of one question's work. */
export interface Share {
  part: number;
  parts: number;
}
const WHOLE: Share = { part: 0, parts: 1 };

/** One level of the tree: node k covers nodes first[k] .. first[k + 1] - 1 of the level below. */
interface Level {
  first: Uint32Array;
  /** The groups node k covers: groupFrom[k] .. groupFrom[k + 1] - 1. */
  groupFrom: Uint32Array;
  centreLon: Float64Array;
  centreLat: Float64Array;
  radius: Float64Array;
}

/** Builds a level over `below` (groups' discs and their group ranges), keyed by each run's ancestor at `res`. */
function buildLevel(groups: CellGroups, below: Pick<Level, 'groupFrom' | 'centreLon' | 'centreLat' | 'radius'>, res: number): Level {
  const nBelow = below.centreLon.length;
  const shift = BigInt(3 * (15 - res));
  const first: number[] = [];
  let previous = -1n;
  for (let k = 0; k < nBelow; k++) {
    const key = groups.cells[below.groupFrom[k]!]! >> shift;
    if (k === 0 || key !== previous) first.push(k);
    previous = key;
  }
  first.push(nBelow);
  const m = first.length - 1;
  const level: Level = {
    first: Uint32Array.from(first),
    groupFrom: new Uint32Array(m + 1),
    centreLon: new Float64Array(m),
    centreLat: new Float64Array(m),
    radius: new Float64Array(m),
  };
  for (let g = 0; g < m; g++) {
    const from = first[g]!, to = first[g + 1]!;
    let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
    for (let k = from; k < to; k++) {
      const x = below.centreLon[k]!, y = below.centreLat[k]!, r = below.radius[k]!;
      if (x - r < x0) x0 = x - r; if (x + r > x1) x1 = x + r;
      if (y - r < y0) y0 = y - r; if (y + r > y1) y1 = y + r;
    }
    const cx = (x0 + x1) / 2, cy = (y0 + y1) / 2;
    let reach = 0;
    for (let k = from; k < to; k++) {
      const dx = below.centreLon[k]! - cx, dy = below.centreLat[k]! - cy;
      reach = Math.max(reach, Math.sqrt(dx * dx + dy * dy) + below.radius[k]!);
    }
    level.centreLon[g] = cx;
    level.centreLat[g] = cy;
    level.radius[g] = reach * RADIUS_MARGIN + RADIUS_FLOOR;
    level.groupFrom[g] = below.groupFrom[from]!;
  }
  level.groupFrom[m] = below.groupFrom[nBelow]!;
  return level;
}

/**
 * Households indexed once, asked many times which of them lie in an area.
 *
 * The occupied cells form a tree (resolution 2, 4, 6 over the groups' resolution 8), each node with a
 * disc holding all its households. From the top: a node whose disc misses the polygon's bbox is
 * outside; a node whose disc no edge touches is wholly inside or wholly outside, for all its households
 * at once; only the nodes the boundary passes through are opened, down to the households of boundary
 * groups, tested one by one. The polygon's raster (cover-grid.ts) settles most discs and households
 * from a few cells; the exact tests (edge tree, Turf's crossing rule) decide the rest. Every decision is
 * the prepared polygon's, whose decisions are Turf's, so the answer is Turf's booleanPointInPolygon on
 * every household. h3-js's own containment (polygonToCellsExperimental) is never consulted: DESIGN records
 * cells it called contained that were not; the tree only uses the ids' order and the discs it measured.
 */
export class HouseholdIndex {
  readonly size: number;
  readonly groups: CellGroups;
  /** Filled by each query. */
  lastStats: QueryStats = { groupsInside: 0, groupsOutside: 0, groupsBoundary: 0, pointsTested: 0 };
  private readonly lat: Float64Array;
  private readonly lon: Float64Array;
  /** Coarser levels, finest first (levels[0] is over the groups). */
  private readonly levels: Level[];

  constructor(columns: HouseholdColumns) {
    this.lat = columns.lat;
    this.lon = columns.lon;
    this.size = columns.lat.length;
    this.groups = columns.groups ?? groupByCell(columns.lat, columns.lon, columns.cells);
    if (this.groups.order.length !== this.size || this.groups.offsetLon.length !== this.size || this.groups.offsetLat.length !== this.size) {
      throw new RangeError('groups do not match the columns');
    }
    const m = this.groups.start.length - 1;
    let below: Pick<Level, 'groupFrom' | 'centreLon' | 'centreLat' | 'radius'> = {
      groupFrom: Uint32Array.from({ length: m + 1 }, (_, g) => g),
      centreLon: this.groups.centreLon,
      centreLat: this.groups.centreLat,
      radius: this.groups.radius,
    };
    this.levels = [];
    if (m > 0) {
      for (const res of LEVEL_RESOLUTIONS) {
        const level = buildLevel(this.groups, below, res);
        this.levels.push(level);
        below = level;
      }
    }
  }

  /**
   * Indexes of the households inside the area, ascending. With `share`, only that share of the work and
   * of the answer (part p of P): the P shares' answers together are the whole answer, each household in
   * exactly one, so P threads can answer one question.
   */
  inside(area: AreaLike, share?: Share): Uint32Array {
    const out = new Uint32Array(this.size);
    let n = 0;
    this.scan(prepare(area), (from, to) => { for (let j = from; j < to; j++) out[n++] = this.groups.order[j]!; },
      (i) => { out[n++] = i; }, share);
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

  /** Calls wholeRun(from, to) for runs of `order` wholly inside, one(i) for households tested inside (of the share). */
  private scan(poly: PreparedPolygon, wholeRun: (from: number, to: number) => void, one: (i: number) => void, share: Share = WHOLE): void {
    const { part, parts } = share;
    // A run taken whole is cut in P slices, part p taking slice p; the cells the boundary crosses are
    // dealt out by their resolution-6 node, every P-th to part p.
    const sliced = parts === 1 ? wholeRun : (from: number, to: number) => {
      const a = from + Math.floor(((to - from) * part) / parts), b = from + Math.floor(((to - from) * (part + 1)) / parts);
      if (b > a) wholeRun(a, b);
    };
    const { start, order, centreLon, centreLat, radius, offsetLon, offsetLat } = this.groups;
    const [bx0, by0, bx1, by1] = poly.bbox;
    const stats: QueryStats = { groupsInside: 0, groupsOutside: 0, groupsBoundary: 0, pointsTested: 0 };
    /** Where the disc lies: 0 outside, 1 wholly inside, 2 across the boundary. */
    const place = (cx: number, cy: number, r: number, exact: boolean): number => {
      if (cx + r < bx0 || cx - r > bx1 || cy + r < by0 || cy - r > by1) return 0;
      return poly.placeDisc(cx, cy, r, exact);
    };
    const group = (g: number) => {
      const where = place(centreLon[g]!, centreLat[g]!, radius[g]!, start[g + 1]! - start[g]! > EXACT_DISC_FROM);
      if (where === 0) { stats.groupsOutside++; return; }
      if (where === 1) { stats.groupsInside++; wholeRun(start[g]!, start[g + 1]!); return; }
      stats.groupsBoundary++;
      // The raster reads each household from its offset (in sequence, single precision: the slack allows
      // for that rounding, relative to the radius, and for the sum's); what it cannot settle is tested
      // exactly on the household's own coordinates.
      const cx = centreLon[g]!, cy = centreLat[g]!, slack = radius[g]! * OFFSET_ROUNDING + SUM_ROUNDING;
      for (let j = start[g]!; j < start[g + 1]!; j++) {
        stats.pointsTested++;
        const known = poly.rasterState(cx + offsetLon[j]!, cy + offsetLat[j]!, slack);
        if (known === 1) one(order[j]!);
        else if (known === 2) {
          const i = order[j]!;
          if (poly.contains(this.lon[i]!, this.lat[i]!)) one(i);
        }
      }
    };
    const visit = (depth: number, k: number) => {
      const level = this.levels[depth]!;
      const g0 = level.groupFrom[k]!, g1 = level.groupFrom[k + 1]!;
      const where = place(level.centreLon[k]!, level.centreLat[k]!, level.radius[k]!, false);
      if (where === 0) { stats.groupsOutside += g1 - g0; return; }
      if (where === 1) { stats.groupsInside += g1 - g0; sliced(start[g0]!, start[g1]!); return; }
      if (depth === 0 && k % parts !== part) return;
      for (let c = level.first[k]!; c < level.first[k + 1]!; c++) {
        if (depth === 0) group(c);
        else visit(depth - 1, c);
      }
    };
    const top = this.levels.length - 1;
    if (top < 0) {
      for (let g = part; g < start.length - 1; g += parts) group(g);
    } else {
      const nodes = this.levels[top]!.first.length - 1;
      for (let k = 0; k < nodes; k++) visit(top, k);
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
