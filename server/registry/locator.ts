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

/** Finds the finest area holding a point among the polygons of one level. */
class LevelIndex {
  private index?: Flatbush;
  constructor(private readonly items: Indexed[], bboxes: number[][]) {
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

/**
 * Assigns province, district and tehsil codes to points from the current gazetteer. The tehsil decides
 * where there is one, and its parents follow from codes, so the three codes always nest (tehsil and
 * district boundaries come from different surveys and disagree by some metres).
 */
export class AreaLocator {
  private constructor(
    private readonly levels: Map<number, LevelIndex>,
    private readonly parents: Map<string, string | null>,
  ) {}

  static async load(db: Db): Promise<AreaLocator> {
    const rows = await db
      .select({ code: areas.code, parentCode: areas.parentCode, level: areas.level, geometry: areas.geometry, bbox: areas.bbox })
      .from(areas)
      .where(and(isNull(areas.validTo), inArray(areas.level, [1, 2, 3])));
    const levels = new Map<number, LevelIndex>();
    for (const level of [1, 2, 3]) {
      const these = rows.filter((r) => r.level === level);
      levels.set(
        level,
        new LevelIndex(
          these.map((r) => ({ code: r.code, parentCode: r.parentCode, polygon: PreparedPolygon.fromGeoJSON(r.geometry as Polygon | MultiPolygon) })),
          these.map((r) => r.bbox),
        ),
      );
    }
    return new AreaLocator(levels, new Map(rows.map((r) => [r.code, r.parentCode])));
  }

  locate(lat: number, lon: number): AreaCodes {
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
