/**
 * A static bounding-box tree over a polygon's edges, kept in ring order, that answers one question fast:
 * does any edge come within a distance of a point? It stops at the first edge that does, which a general
 * R-tree search (Flatbush collects every candidate) cannot. The spatial engine asks it for every disc it
 * weighs, most of them far from the boundary or right on it, so both the "no" (pruned by box distance)
 * and the "yes" (first hit) must be quick.
 *
 * Edges along a ring are neighbours in space, so runs of consecutive edges already make tight boxes:
 * no sort is needed, and building is one pass per level.
 */
const FANOUT = 8;

interface Boxes {
  x0: Float64Array;
  y0: Float64Array;
  x1: Float64Array;
  y1: Float64Array;
}

export class EdgeTree {
  /** levels[0] boxes runs of FANOUT edges; levels[L] boxes runs of FANOUT nodes of levels[L - 1]. */
  private readonly levels: Boxes[] = [];
  private readonly stackLevel: Int32Array;
  private readonly stackNode: Int32Array;

  constructor(
    private readonly ax: Float64Array,
    private readonly ay: Float64Array,
    private readonly bx: Float64Array,
    private readonly by: Float64Array,
  ) {
    const n = ax.length;
    let count = Math.max(1, Math.ceil(n / FANOUT));
    let level = boxes(count);
    for (let k = 0; k < count; k++) {
      let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
      for (let e = k * FANOUT, end = Math.min(n, e + FANOUT); e < end; e++) {
        x0 = Math.min(x0, ax[e]!, bx[e]!); x1 = Math.max(x1, ax[e]!, bx[e]!);
        y0 = Math.min(y0, ay[e]!, by[e]!); y1 = Math.max(y1, ay[e]!, by[e]!);
      }
      level.x0[k] = x0; level.y0[k] = y0; level.x1[k] = x1; level.y1[k] = y1;
    }
    this.levels.push(level);
    while (count > FANOUT) {
      const below = level;
      const belowCount = count;
      count = Math.ceil(belowCount / FANOUT);
      level = boxes(count);
      for (let k = 0; k < count; k++) {
        let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
        for (let c = k * FANOUT, end = Math.min(belowCount, c + FANOUT); c < end; c++) {
          x0 = Math.min(x0, below.x0[c]!); y0 = Math.min(y0, below.y0[c]!);
          x1 = Math.max(x1, below.x1[c]!); y1 = Math.max(y1, below.y1[c]!);
        }
        level.x0[k] = x0; level.y0[k] = y0; level.x1[k] = x1; level.y1[k] = y1;
      }
      this.levels.push(level);
    }
    // Depth-first: at most FANOUT - 1 siblings wait on each level, plus the top level's nodes.
    const room = FANOUT * (this.levels.length + 1);
    this.stackLevel = new Int32Array(room);
    this.stackNode = new Int32Array(room);
  }

  /** True when some edge comes within `radius` of (x, y) (planar distance, as squared below). */
  anyWithin(x: number, y: number, radius: number): boolean {
    const r2 = radius * radius;
    const { levels, stackLevel, stackNode, ax, ay, bx, by } = this;
    const n = ax.length;
    const top = levels.length - 1;
    let sp = 0;
    for (let k = 0; k < levels[top]!.x0.length; k++) { stackLevel[sp] = top; stackNode[sp++] = k; }
    while (sp > 0) {
      const L = stackLevel[--sp]!, k = stackNode[sp]!;
      const b = levels[L]!;
      const dx = Math.max(b.x0[k]! - x, x - b.x1[k]!, 0);
      const dy = Math.max(b.y0[k]! - y, y - b.y1[k]!, 0);
      if (dx * dx + dy * dy > r2) continue;
      if (L === 0) {
        for (let e = k * FANOUT, end = Math.min(n, e + FANOUT); e < end; e++) {
          if (segmentDistance2(ax[e]!, ay[e]!, bx[e]!, by[e]!, x, y) <= r2) return true;
        }
        continue;
      }
      const below = levels[L - 1]!.x0.length;
      for (let c = k * FANOUT, end = Math.min(below, c + FANOUT); c < end; c++) { stackLevel[sp] = L - 1; stackNode[sp++] = c; }
    }
    return false;
  }
}

function boxes(count: number): Boxes {
  return { x0: new Float64Array(count), y0: new Float64Array(count), x1: new Float64Array(count), y1: new Float64Array(count) };
}

/** Squared planar distance from (x, y) to the segment (ax, ay)–(bx, by). */
export function segmentDistance2(ax: number, ay: number, bx: number, by: number, x: number, y: number): number {
  const dx = bx - ax, dy = by - ay;
  const len2 = dx * dx + dy * dy;
  let t = len2 > 0 ? ((x - ax) * dx + (y - ay) * dy) / len2 : 0;
  t = t < 0 ? 0 : t > 1 ? 1 : t;
  const ex = ax + t * dx - x, ey = ay + t * dy - y;
  return ex * ex + ey * ey;
}
