import { createHash } from 'node:crypto';
import { bbox as turfBbox, booleanIntersects } from '@turf/turf';
import type { Geometry, MultiPolygon, Polygon } from 'geojson';
import { isNull, sql } from 'drizzle-orm';
import { normaliseAreaName } from '../../geodata/area-names.ts';
import { queryRows, type Db } from '../db/client.ts';
import { areas } from '../db/schema/index.ts';

export interface CatalogArea {
  code: string;
  name: string;
  nameKey: string;
  level: number;
  parentCode: string | null;
  bbox: number[];
}

interface AreaBlock {
  geocodes: { valueName: string; value: string }[];
  descriptions: string[];
  geometry: Geometry | null;
}

export interface Resolution {
  codes: string[];
  unresolved: { valueName: string; value: string }[];
}

/** Area blocks whose resolution a catalog keeps. */
const MAX_RESOLUTIONS = 2000;

/** What identifies the current gazetteer: every import that changes it adds rows, so the highest id moves. */
interface GazetteerVersion {
  top: string;
  current: number;
}

/** The catalog last loaded per database handle, with the version it was loaded at. */
const cached = new WeakMap<Db, { version: string; catalog: Promise<AreaCatalog> }>();

/**
 * The current gazetteer in memory for resolving what people and senders write: P-codes, area names and
 * geometry. Geometry is fetched only for the areas a shape's box touches, once per catalog.
 */
export class AreaCatalog {
  private byCode = new Map<string, CatalogArea>();
  private byKey = new Map<string, CatalogArea[]>();
  private geometries = new Map<string, Polygon | MultiPolygon>();
  /** Resolutions by the area block's text: feeds send the same areas again and again (each update, each poll). */
  private resolved = new Map<string, Resolution>();

  private constructor(
    private readonly db: Db,
    readonly list: CatalogArea[],
  ) {
    for (const a of list) {
      this.byCode.set(a.code, a);
      const same = this.byKey.get(a.nameKey) ?? [];
      same.push(a);
      this.byKey.set(a.nameKey, same);
    }
  }

  static async load(db: Db): Promise<AreaCatalog> {
    const list = await db
      .select({ code: areas.code, name: areas.name, nameKey: areas.nameKey, level: areas.level, parentCode: areas.parentCode, bbox: areas.bbox })
      .from(areas)
      .where(isNull(areas.validTo));
    return new AreaCatalog(db, list);
  }

  /**
   * The catalog as `load` would read it, kept per database between calls and read again only when the
   * gazetteer changed (an import in this process or another: one small query asks). Alert ingest calls this
   * for every body, and a feed sends hundreds of bodies for the same few hundred areas.
   */
  static async current(db: Db): Promise<AreaCatalog> {
    const [row] = await queryRows<GazetteerVersion>(
      db,
      sql`select coalesce(max(${areas.id}), 0)::text as top, (count(*) filter (where ${areas.validTo} is null))::int as current from ${areas}`,
    );
    const version = `${row?.top ?? 0}:${row?.current ?? 0}`;
    const hit = cached.get(db);
    if (hit?.version === version) return hit.catalog;
    const catalog = AreaCatalog.load(db);
    cached.set(db, { version, catalog });
    catalog.catch(() => cached.delete(db));
    return catalog;
  }

  get size(): number {
    return this.list.length;
  }

  code(code: string): CatalogArea | undefined {
    return this.byCode.get(code.trim().toUpperCase());
  }

  /** Areas whose normalised name equals the query's: several when a name repeats across levels or districts. */
  named(name: string): CatalogArea[] {
    return this.byKey.get(normaliseAreaName(name)) ?? [];
  }

  /**
   * The gazetteer codes an alert's area resolves to: geocodes that are P-codes or area names, area
   * descriptions that name one area, and the districts its geometry touches. Geocodes that resolve to
   * nothing (or to several areas) are returned as unresolved.
   */
  async resolve(area: AreaBlock): Promise<Resolution> {
    // A digest, not the text: a flood extent's text is megabytes.
    const key = createHash('sha256').update(JSON.stringify([area.geocodes, area.descriptions, area.geometry])).digest('base64');
    let found = this.resolved.get(key);
    if (!found) {
      found = await this.resolveAnew(area);
      // The first entries stay: a catalog lives until the gazetteer changes, and this bounds what it holds.
      if (this.resolved.size < MAX_RESOLUTIONS) this.resolved.set(key, found);
    }
    return { codes: [...found.codes], unresolved: found.unresolved.map((g) => ({ ...g })) };
  }

  private async resolveAnew(area: AreaBlock): Promise<Resolution> {
    const codes = new Set<string>();
    const unresolved: { valueName: string; value: string }[] = [];
    for (const g of area.geocodes) {
      const byCode = /^PK\d*$/i.test(g.value.trim()) ? this.code(g.value) : undefined;
      const byName = byCode ? [] : this.named(g.value);
      if (byCode) codes.add(byCode.code);
      else if (byName.length === 1) codes.add(byName[0]!.code);
      else unresolved.push(g);
    }
    for (const d of area.descriptions) {
      const named = this.named(d);
      if (named.length === 1) codes.add(named[0]!.code);
    }
    if (area.geometry && this.size > 0) for (const c of await this.touching(area.geometry)) codes.add(c);
    return { codes: [...codes].sort(), unresolved };
  }

  /** Districts (or provinces where no districts are loaded) that a geometry touches. */
  async touching(geometry: Geometry): Promise<string[]> {
    const box = turfBbox(geometry);
    const level = this.list.some((a) => a.level === 2) ? 2 : 1;
    const candidates = this.list.filter(
      (a) => a.level === level && a.bbox[0]! <= box[2] && a.bbox[2]! >= box[0] && a.bbox[1]! <= box[3] && a.bbox[3]! >= box[1],
    );
    if (candidates.length === 0) return [];
    const missing = candidates.map((c) => c.code).filter((c) => !this.geometries.has(c));
    if (missing.length) {
      const rows = await this.db.query.areas.findMany({
        columns: { code: true, geometry: true },
        where: (t, { and, inArray, isNull: none }) => and(inArray(t.code, missing), none(t.validTo)),
      });
      for (const r of rows) this.geometries.set(r.code, r.geometry as Polygon | MultiPolygon);
    }
    return candidates
      .filter((c) => {
        const area = this.geometries.get(c.code);
        return area !== undefined && booleanIntersects(geometry, area);
      })
      .map((c) => c.code)
      .sort();
  }
}
