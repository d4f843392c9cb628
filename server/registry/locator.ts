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
  /** True when some edge of a polygon of this level comes within `radius` of the point. */
  boundaryWithin(lon: number, lat: number, radius: number): boolean {
    if (!this.index) return false;
    for (const i of this.index.search(lon - radius, lat - radius, lon + radius, lat + radius)) {
      if (this.items[i]!.polygon.boundaryWithin(lon, lat, radius)) return true;
    }
    return false;
  }
}

/** Side of the grid cells whose answers are remembered, in degrees (about 2 km). */
const CELL = 0.02;
/** A disc this wide around a cell's centre covers the cell (half its diagonal, rounded up). */
const CELL_REACH = CELL * 0.7072;
const NOT_SEEN = 0;
const CROSSED = 1;

/**
 * Remembers the answer of each grid cell that no area boundary crosses. In such a cell every area holds
 * all of the cell or none of it, so every point in it gets the answer of the cell's centre; points in cells
 * a boundary crosses are tested one by one. Cells are looked at when the first point falls in them.
 */
class AnswerGrid {
  private readonly state: Int32Array;
  private readonly answers: AreaCodes[] = [];
  private readonly answerIndex = new Map<string, number>();
  private readonly columns: number;
  private readonly rows: number;

  constructor(
    private readonly west: number,
    private readonly south: number,
    east: number,
    north: number,
  ) {
    this.columns = Math.max(1, Math.ceil((east - west) / CELL));
    this.rows = Math.max(1, Math.ceil((north - south) / CELL));
    this.state = new Int32Array(this.columns * this.rows);
  }

  /** The remembered answer for the point, or undefined when its cell is crossed or outside the grid. */
  lookup(lon: number, lat: number, classify: (lon: number, lat: number) => AreaCodes | undefined): AreaCodes | undefined {
    const column = Math.floor((lon - this.west) / CELL);
    const row = Math.floor((lat - this.south) / CELL);
    if (!(column >= 0 && column < this.columns && row >= 0 && row < this.rows)) return undefined;
    const cell = row * this.columns + column;
    let state = this.state[cell]!;
    if (state === NOT_SEEN) {
      const answer = classify(this.west + (column + 0.5) * CELL, this.south + (row + 0.5) * CELL);
      state = this.state[cell] = answer ? this.remember(answer) : CROSSED;
    }
    return state === CROSSED ? undefined : this.answers[state - 2];
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
    bounds: [number, number, number, number] | undefined,
  ) {
    if (bounds) this.grid = new AnswerGrid(...bounds);
  }

  static async load(db: Db): Promise<AreaLocator> {
    return AreaLocator.fromAreas(await locatorAreas(db));
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
    const bounds = rows.length
      ? rows.reduce<[number, number, number, number]>((b, r) => [Math.min(b[0], r.bbox[0]!), Math.min(b[1], r.bbox[1]!), Math.max(b[2], r.bbox[2]!), Math.max(b[3], r.bbox[3]!)], [Infinity, Infinity, -Infinity, -Infinity])
      : undefined;
    return new AreaLocator(levels, new Map(rows.map((r) => [r.code, r.parentCode])), bounds);
  }

  /** The codes of the areas holding a point: the answer remembered for its grid cell, else tested exactly. */
  locate(lat: number, lon: number): AreaCodes {
    return this.grid?.lookup(lon, lat, this.classifyCell) ?? this.locateExactly(lat, lon);
  }

  /**
   * A cell's answer when no boundary comes near it, else undefined. Levels are looked at finest first, as
   * `locateExactly` does: once an area of one level holds the whole cell, coarser levels are never asked.
   */
  private readonly classifyCell = (lon: number, lat: number): AreaCodes | undefined => {
    for (const level of [3, 2, 1]) {
      const index = this.levels.get(level);
      if (!index) continue;
      if (index.boundaryWithin(lon, lat, CELL_REACH)) return undefined;
      if (index.find(lon, lat)) break;
    }
    return this.locateExactly(lat, lon);
  };

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
