/**
 * A raster of a polygon for one quick question: does a disc lie wholly inside, wholly outside, or is that
 * not known from the raster? The spatial engine asks it for every node and cell group it weighs; the
 * edge tree answered the same question exactly, but a disc that passes near the boundary without touching
 * it made the tree open every box around it, and such discs were most of the work on a long coastline
 * like the 2022 flood extent.
 *
 * Grid cells are marked crossed when an edge may touch them (the cells its bounding box touches, widened
 * by a hair against rounding; a long slanted edge piece by piece, half a cell each). A cell no edge touches
 * lies wholly inside or wholly outside the polygon, and so does a run of such cells along a row, since
 * no edge passes between them, and so does a run touching a settled cell of the row below: only a run
 * with none is decided by the exact test of one centre. Coarser levels (2 × 2 cells
 * each) are pure when all their cells are pure alike, so a disc of any size is weighed on a few cells.
 * A disc the raster cannot settle is left to the exact tests.
 */
const UNKNOWN = 2;
const CROSSED = 2;
/** Far more than the rounding error of a cell index, far less than a cell (as a share of the cell). */
const HAIR = 1e-6;
/** The cells of the bounding box a disc is weighed on, per axis, at most. */
const SPAN = 3;
/** Edge marking may visit this many times the grid's cells, at most. */
const MARKING_PASSES = 4;
/** The least width and height of the grid (degrees), for an area as thin as a line. */
const MIN_SPAN = 1e-9;

function cellSize(bbox: readonly [number, number, number, number], maxCells: number): number {
  return Math.sqrt((Math.max(bbox[2] - bbox[0], MIN_SPAN) * Math.max(bbox[3] - bbox[1], MIN_SPAN)) / maxCells);
}

export interface GridEdges {
  readonly bbox: readonly [number, number, number, number];
  readonly x1: Float64Array;
  readonly y1: Float64Array;
  readonly x2: Float64Array;
  readonly y2: Float64Array;
}

export class CoverGrid {
  /** levels[0] is the finest: one byte a cell, 0 outside, 1 inside, 2 crossed (or mixed, above level 0). */
  private readonly levels: Uint8Array[] = [];
  private readonly columns: number[] = [];
  private readonly rows: number[] = [];
  private readonly west: number;
  private readonly south: number;
  private readonly size: number;

  /**
   * The raster of at most `maxCells` cells, or null when marking the edges would cost more than a few
   * passes over the grid (many edges each crossing much of it: a hostile area); the exact tests then
   * answer alone, as they always can. `contains` is the exact test (Turf's decision), used once per run
   * of uncrossed cells that no settled cell below decides.
   */
  static build(edges: GridEdges, contains: (lon: number, lat: number) => boolean, maxCells: number): CoverGrid | null {
    const size = cellSize(edges.bbox, maxCells);
    const { x1, y1, x2, y2 } = edges;
    let work = 0;
    for (let e = 0; e < x1.length; e++) work += Math.max(Math.abs(x2[e]! - x1[e]!), Math.abs(y2[e]! - y1[e]!)) / size + 1;
    return work > MARKING_PASSES * maxCells ? null : new CoverGrid(edges, contains, size);
  }

  private constructor(edges: GridEdges, contains: (lon: number, lat: number) => boolean, size: number) {
    const [x0, y0, x1, y1] = edges.bbox;
    const width = Math.max(x1 - x0, MIN_SPAN), height = Math.max(y1 - y0, MIN_SPAN);
    this.size = size;
    // One cell of margin each side, so every vertex falls inside the grid with its crossed cells around it.
    this.west = x0 - this.size;
    this.south = y0 - this.size;
    const columns = Math.ceil(width / this.size) + 3;
    const rows = Math.ceil(height / this.size) + 3;
    // 0 until settled (the row below is always settled first), 2 where crossed.
    const cells = new Uint8Array(columns * rows);
    this.markEdges(edges, cells, columns, rows);
    for (let r = 0; r < rows; r++) {
      const row = r * columns, rowEnd = row + columns;
      let c = row;
      while (c < rowEnd) {
        if (cells[c] === CROSSED) { c++; continue; }
        const found = cells.subarray(c, rowEnd).indexOf(CROSSED);
        const end = found < 0 ? rowEnd : c + found;
        // A run touching an uncrossed cell of the row below shares that cell's side of the boundary (the
        // two cells share a side no edge touches); only a run with none below needs the exact test.
        let state = -1;
        for (let k = c - columns; r > 0 && k < end - columns && state < 0; k++) {
          if (cells[k] !== CROSSED) state = cells[k]!;
        }
        if (state < 0) state = contains(this.west + (c - row + 0.5) * this.size, this.south + (r + 0.5) * this.size) ? 1 : 0;
        if (state === 1) cells.fill(1, c, end);
        c = end;
      }
    }
    this.levels.push(cells);
    this.columns.push(columns);
    this.rows.push(rows);
    while (this.columns.at(-1)! > 1 || this.rows.at(-1)! > 1) this.coarsen();
  }

  get cellCount(): number {
    return this.levels[0]!.length;
  }

  /** 0: the disc is wholly outside, 1: wholly inside, 2: the raster cannot say. */
  place(x: number, y: number, radius: number): number {
    const hair = HAIR * this.size;
    let c0 = Math.floor((x - radius - hair - this.west) / this.size);
    let c1 = Math.floor((x + radius + hair - this.west) / this.size);
    let r0 = Math.floor((y - radius - hair - this.south) / this.size);
    let r1 = Math.floor((y + radius + hair - this.south) / this.size);
    let level = 0;
    while ((c1 - c0 >= SPAN || r1 - r0 >= SPAN) && level + 1 < this.levels.length) {
      c0 >>= 1; c1 >>= 1; r0 >>= 1; r1 >>= 1;
      level++;
    }
    const cells = this.levels[level]!, columns = this.columns[level]!, rows = this.rows[level]!;
    let seen = -1;
    for (let r = r0; r <= r1; r++) {
      for (let c = c0; c <= c1; c++) {
        // Beyond the grid lies beyond the polygon's bounding box: outside.
        const state = r < 0 || r >= rows || c < 0 || c >= columns ? 0 : cells[r * columns + c]!;
        if (state === UNKNOWN) return UNKNOWN;
        if (seen === -1) seen = state;
        else if (seen !== state) return UNKNOWN;
      }
    }
    return seen;
  }

  /**
   * 0: the point is outside, 1: inside, 2: the raster cannot say (its cell is crossed, or the point is
   * known only within `slack` and that is more than the hair the marking allowed: a point that near an
   * uncrossed cell lies in it or within a hair of it, where no edge comes).
   */
  pointState(x: number, y: number, slack = 0): number {
    if (slack > HAIR * this.size * 0.5) return UNKNOWN;
    const c = Math.floor((x - this.west) / this.size), r = Math.floor((y - this.south) / this.size);
    const columns = this.columns[0]!;
    if (r < 0 || r >= this.rows[0]! || c < 0 || c >= columns) return 0;
    return this.levels[0]![r * columns + c]!;
  }

  /** Marks crossed every cell an edge may touch: the cells of its bounding box, or of each of its pieces. */
  private markEdges(edges: GridEdges, cells: Uint8Array, columns: number, rows: number): void {
    const { x1, y1, x2, y2 } = edges;
    const size = this.size, hair = HAIR * size;
    const mark = (ax: number, ay: number, bx: number, by: number) => {
      const c0 = Math.max(0, Math.floor((Math.min(ax, bx) - hair - this.west) / size));
      const c1 = Math.min(columns - 1, Math.floor((Math.max(ax, bx) + hair - this.west) / size));
      const r0 = Math.max(0, Math.floor((Math.min(ay, by) - hair - this.south) / size));
      const r1 = Math.min(rows - 1, Math.floor((Math.max(ay, by) + hair - this.south) / size));
      for (let r = r0; r <= r1; r++) cells.fill(CROSSED, r * columns + c0, r * columns + c1 + 1);
    };
    for (let e = 0; e < x1.length; e++) {
      const ax = x1[e]!, ay = y1[e]!, bx = x2[e]!, by = y2[e]!;
      // An edge within a row or column of cells marks its bounding box; a long slanted one, piece by piece.
      const dx = Math.abs(bx - ax), dy = Math.abs(by - ay);
      const pieces = Math.min(dx, dy) <= size ? 1 : Math.ceil((2 * Math.max(dx, dy)) / size);
      if (pieces === 1) { mark(ax, ay, bx, by); continue; }
      // Consecutive pieces share their end points exactly, so together they cover the whole edge.
      let px = ax, py = ay;
      for (let k = 1; k <= pieces; k++) {
        const qx = k === pieces ? bx : ax + ((bx - ax) * k) / pieces;
        const qy = k === pieces ? by : ay + ((by - ay) * k) / pieces;
        mark(px, py, qx, qy);
        px = qx; py = qy;
      }
    }
  }

  /** Adds the next coarser level: a cell is pure when its four cells are pure alike (outside the grid: outside). */
  private coarsen(): void {
    const below = this.levels.at(-1)!, bc = this.columns.at(-1)!, br = this.rows.at(-1)!;
    const columns = Math.ceil(bc / 2), rows = Math.ceil(br / 2);
    const cells = new Uint8Array(columns * rows);
    for (let r = 0; r < rows; r++) {
      const low = 2 * r * bc, high = 2 * r + 1 < br ? low + bc : -1;
      for (let c = 0; c < columns; c++) {
        const left = 2 * c, right = left + 1 < bc ? left + 1 : -1;
        const a = below[low + left]!;
        const b = right < 0 ? 0 : below[low + right]!;
        const d = high < 0 ? 0 : below[high + left]!;
        const e = high < 0 || right < 0 ? 0 : below[high + right]!;
        // Crossed or mixed alike: 2 (UNKNOWN) unless all four agree.
        cells[r * columns + c] = a === b && a === d && a === e ? a : UNKNOWN;
      }
    }
    this.levels.push(cells);
    this.columns.push(columns);
    this.rows.push(rows);
  }
}
