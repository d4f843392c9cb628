import Flatbush from 'flatbush';
import type { MultiPolygon, Polygon } from 'geojson';
import { and, inArray, isNull } from 'drizzle-orm';
import type { Db } from '../db/client.ts';
import { areas } from '../db/schema/index.ts';
import { PreparedPolygon } from '../../geodata/prepared-polygon.ts';

export interface AreaCodes {
  province: string | null;
  district: string | null;
  tehsil: string | null;
}

interface Indexed {
  code: string;
  parentCode: string | null;
  /** Prepared once: its decisions are Turf's booleanPointInPolygon, hundreds of times faster. */
  polygon: PreparedPolygon;
}

/** What the locator needs of a current area of levels 1-3 (plain data, so it can be sent to a worker). */
export interface LocatorArea {
  code: string;
  parentCode: string | null;
  level: number;
  geometry: Polygon | MultiPolygon;
  bbox: number[];
}

export async function locatorAreas(db: Db): Promise<LocatorArea[]> {
  const rows = await db
    .select({ code: areas.code, parentCode: areas.parentCode, level: areas.level, geometry: areas.geometry, bbox: areas.bbox })
    .from(areas)
    .where(and(isNull(areas.validTo), inArray(areas.level, [1, 2, 3])));
  return rows.map((r) => ({ ...r, geometry: r.geometry as Polygon | MultiPolygon }));
}

/** Finds the finest area holding a point among the polygons of one level. */
class LevelIndex {
  private index?: Flatbush;
  constructor(readonly items: Indexed[], bboxes: number[][]) {
    if (items.length === 0) return;
    this.index = new Flatbush(items.length);
    for (const b of bboxes) this.index.add(b[0]!, b[1]!, b[2]!, b[3]!);
    this.index.finish();
  }
  find(lon: number, lat: number): Indexed | undefined {
    if (!this.index) return undefined;
    for (const i of this.index.search(lon, lat, lon, lat)) {
      const item = this.items[i]!;
      if (item.polygon.contains(lon, lat)) return item;
    }
    return undefined;
  }
}

/** Side of the grid cells whose answers are remembered, in degrees (about 2 km). */
const CELL = 0.02;
/** Far more than the rounding error of a cell index, far less than a cell (degrees). */
const HAIR = 1e-9;
const NOT_SEEN = 0;
const CROSSED = 1;

/**
 * Remembers the answer of each grid cell that no boundary of the finest level crosses. Such a cell lies
 * wholly inside or wholly outside each area of that level, so when its centre is inside one, every point
 * of the cell gets the centre's answer; points in the other cells are tested one by one. Cells are marked
 * crossed up front (every cell an edge's bounding box touches), and answered when a first point falls in.
 */
class AnswerGrid {
  private readonly state: Int32Array;
  private readonly answers: AreaCodes[] = [];
  private readonly answerIndex = new Map<string, number>();
  private readonly columns: number;
  private readonly rows: number;
  private readonly west: number;
  private readonly south: number;

  constructor(level: LevelIndex, private readonly answer: (lon: number, lat: number) => AreaCodes | undefined) {
    const boxes = level.items.map((i) => i.polygon.bbox);
    // One cell of margin, so a point on the outermost boundary still falls in a (crossed) cell.
    this.west = Math.min(...boxes.map((b) => b[0])) - CELL;
    this.south = Math.min(...boxes.map((b) => b[1])) - CELL;
    this.columns = Math.ceil((Math.max(...boxes.map((b) => b[2])) + CELL - this.west) / CELL) + 1;
    this.rows = Math.ceil((Math.max(...boxes.map((b) => b[3])) + CELL - this.south) / CELL) + 1;
    this.state = new Int32Array(this.columns * this.rows);
    for (const item of level.items) item.polygon.forEachEdgeBox((w, s, e, n) => this.markCrossed(w, s, e, n));
  }

  /** The remembered answer for the point, or undefined when its cell is crossed or outside the grid. */
  lookup(lon: number, lat: number): AreaCodes | undefined {
    const column = Math.floor((lon - this.west) / CELL);
    const row = Math.floor((lat - this.south) / CELL);
    if (!(column >= 0 && column < this.columns && row >= 0 && row < this.rows)) return undefined;
    const cell = row * this.columns + column;
    let state = this.state[cell]!;
    if (state === NOT_SEEN) {
      const answer = this.answer(this.west + (column + 0.5) * CELL, this.south + (row + 0.5) * CELL);
      state = this.state[cell] = answer ? this.remember(answer) : CROSSED;
    }
    return state === CROSSED ? undefined : this.answers[state - 2];
  }

  /** Marks every cell the box touches, widened by a hair against rounding at cell borders. */
  private markCrossed(west: number, south: number, east: number, north: number): void {
    const c0 = Math.max(0, Math.floor((west - HAIR - this.west) / CELL));
    const c1 = Math.min(this.columns - 1, Math.floor((east + HAIR - this.west) / CELL));
    const r0 = Math.max(0, Math.floor((south - HAIR - this.south) / CELL));
    const r1 = Math.min(this.rows - 1, Math.floor((north + HAIR - this.south) / CELL));
    for (let r = r0; r <= r1; r++) this.state.fill(CROSSED, r * this.columns + c0, r * this.columns + c1 + 1);
  }

  private remember(answer: AreaCodes): number {
    const key = `${answer.province}/${answer.district}/${answer.tehsil}`;
    let index = this.answerIndex.get(key);
    if (index === undefined) {
      index = this.answers.push(answer) - 1;
      this.answerIndex.set(key, index);
    }
    return index + 2;
  }
}

/**
 * Assigns province, district and tehsil codes to points from the current gazetteer. The tehsil decides
 * where there is one, and its parents follow from codes, so the three codes always nest (tehsil and
 * district boundaries come from different surveys and disagree by some metres).
 */
export class AreaLocator {
  private readonly grid?: AnswerGrid;

  private constructor(
    private readonly levels: Map<number, LevelIndex>,
    private readonly parents: Map<string, string | null>,
  ) {
    const finest = [3, 2, 1].map((l) => levels.get(l)).find((l) => l && l.items.length > 0);
    if (finest) this.grid = new AnswerGrid(finest, (lon, lat) => (finest.find(lon, lat) ? this.locateExactly(lat, lon) : undefined));
  }

  static fromAreas(rows: readonly LocatorArea[]): AreaLocator {
    const levels = new Map<number, LevelIndex>();
    for (const level of [1, 2, 3]) {
      const these = rows.filter((r) => r.level === level);
      levels.set(
        level,
        new LevelIndex(
          these.map((r) => ({ code: r.code, parentCode: r.parentCode, polygon: PreparedPolygon.fromGeoJSON(r.geometry) })),
          these.map((r) => r.bbox),
        ),
      );
    }
    return new AreaLocator(levels, new Map(rows.map((r) => [r.code, r.parentCode])));
  }

  /** The codes of the areas holding a point: the answer remembered for its grid cell, else tested exactly. */
  locate(lat: number, lon: number): AreaCodes {
    return this.grid?.lookup(lon, lat) ?? this.locateExactly(lat, lon);
  }

  /** The finest areas holding the point, found polygon by polygon (`locate` gives the same answer). */
  locateExactly(lat: number, lon: number): AreaCodes {
    const tehsil = this.levels.get(3)?.find(lon, lat);
    if (tehsil) {
      const district = tehsil.parentCode;
      return { tehsil: tehsil.code, district, province: (district && this.parents.get(district)) ?? district?.slice(0, 3) ?? null };
    }
    const district = this.levels.get(2)?.find(lon, lat);
    if (district) return { tehsil: null, district: district.code, province: district.parentCode ?? district.code.slice(0, 3) };
    const province = this.levels.get(1)?.find(lon, lat);
    return { tehsil: null, district: null, province: province?.code ?? null };
  }
}
