import type { Geometry } from 'geojson';
import { cellToParent, getResolution, latLngToCell } from 'h3-js';
import { eq, sql } from 'drizzle-orm';
import { bigintToH3 } from '../../geodata/h3.ts';
import { PreparedPolygon } from '../../geodata/prepared-polygon.ts';
import { HouseholdIndex } from '../../geodata/spatial-engine.ts';
import type { Household } from '../../triggers/eligibility.ts';
import { queryRows, type Database } from '../db/client.ts';
import { settings } from '../db/schema/index.ts';

/** An affected area: gazetteer codes (any level), a GeoJSON (Multi)Polygon, or both (their union). */
export interface AffectedArea {
  codes?: string[];
  /** GeoJSON, or a polygon prepared once for repeated questions. */
  geometry?: Geometry | PreparedPolygon | null;
}

const FLAG_FEMALE = 1;
const FLAG_DISABLED = 2;
const FLAG_ELDERLY = 4;
const FLAG_CHILDREN = 8;

/** PMT bands for exposure tables: the historic cut-off 16.17 and today's 32 fall on band edges. */
export const PMT_BANDS = [16.17, 32, 50, 70, 100.01] as const;
export const PMT_BAND_LABELS = ['0-16.17', '16.17-32', '32-50', '50-70', '70-100'] as const;

interface Dictionary {
  values: string[];
  index: Map<string, number>;
}
const dictionary = (): Dictionary => ({ values: [''], index: new Map([['', 0]]) });
const intern = (d: Dictionary, v: string | null): number => {
  const key = v ?? '';
  let i = d.index.get(key);
  if (i === undefined) {
    i = d.values.length;
    d.values.push(key);
    d.index.set(key, i);
  }
  return i;
};

/**
 * The registry's spatial and eligibility columns in memory, one typed array per field, no identity data.
 * Built once from the database and rebuilt when an import changes the registry; at 10 M households it
 * takes about 45 bytes each. Area questions are answered here (geodata's HouseholdIndex, exact to Turf);
 * identity stays in the database, read only by the services that audit it.
 */
export class RegistryIndex {
  private index?: HouseholdIndex;

  private constructor(
    readonly version: string,
    readonly ids: Float64Array,
    readonly lat: Float64Array,
    readonly lon: Float64Array,
    readonly cells: BigUint64Array,
    readonly pmt: Float32Array,
    readonly size: Uint8Array,
    readonly flags: Uint8Array,
    readonly enrolmentMask: Uint32Array,
    readonly source: Uint8Array,
    readonly province: Uint16Array,
    readonly district: Uint16Array,
    readonly tehsil: Uint16Array,
    private readonly codes: Dictionary,
    private readonly sources: Dictionary,
    private readonly enrolmentNames: string[],
  ) {}

  get count(): number {
    return this.ids.length;
  }

  static async load(database: Database, version: string, pageSize = 100_000): Promise<RegistryIndex> {
    const [{ n } = { n: 0 }] = await queryRows<{ n: number }>(database.db, sql`select count(*)::int as n from households`);
    const capacity = n + pageSize; // rows may land while we read; extra room, trimmed below
    const ids = new Float64Array(capacity);
    const lat = new Float64Array(capacity);
    const lon = new Float64Array(capacity);
    const cells = new BigUint64Array(capacity);
    const pmt = new Float32Array(capacity);
    const size = new Uint8Array(capacity);
    const flags = new Uint8Array(capacity);
    const enrolmentMask = new Uint32Array(capacity);
    const source = new Uint8Array(capacity);
    const province = new Uint16Array(capacity);
    const district = new Uint16Array(capacity);
    const tehsil = new Uint16Array(capacity);
    const codes = dictionary();
    const sources = dictionary();
    const enrolmentNames: string[] = [];
    let count = 0;
    let after = 0;
    for (;;) {
      const rows = await queryRows<{
        id: number | string;
        source: string;
        lat: number;
        lon: number;
        h3: string;
        pmt: number;
        size: number;
        province: string | null;
        district: string | null;
        tehsil: string | null;
        f: number;
        enrolments: string[] | string;
      }>(
        database.db,
        sql`select id, source, lat, lon, h3::text as h3, pmt, size, province, district, tehsil,
              (female_headed::int + 2 * has_disabled::int + 4 * has_elderly::int + 8 * children_under5::int) as f,
              enrolments
            from households where id > ${after} order by id limit ${pageSize}`,
      );
      if (rows.length === 0 || count + rows.length > capacity) break;
      for (const r of rows) {
        ids[count] = Number(r.id);
        lat[count] = r.lat;
        lon[count] = r.lon;
        cells[count] = BigInt(r.h3);
        pmt[count] = r.pmt;
        size[count] = r.size;
        flags[count] = r.f;
        source[count] = intern(sources, r.source);
        province[count] = intern(codes, r.province);
        district[count] = intern(codes, r.district);
        tehsil[count] = intern(codes, r.tehsil);
        let mask = 0;
        for (const e of typeof r.enrolments === 'string' ? parsePgArray(r.enrolments) : r.enrolments) {
          let bit = enrolmentNames.indexOf(e);
          if (bit < 0 && enrolmentNames.length < 32) bit = enrolmentNames.push(e) - 1;
          if (bit >= 0) mask |= 1 << bit;
        }
        enrolmentMask[count] = mask >>> 0;
        count++;
      }
      after = Number(rows.at(-1)!.id);
      if (rows.length < pageSize) break;
    }
    return new RegistryIndex(
      version,
      ids.slice(0, count),
      lat.slice(0, count),
      lon.slice(0, count),
      cells.slice(0, count),
      pmt.slice(0, count),
      size.slice(0, count),
      flags.slice(0, count),
      enrolmentMask.slice(0, count),
      source.slice(0, count),
      province.slice(0, count),
      district.slice(0, count),
      tehsil.slice(0, count),
      codes,
      sources,
      enrolmentNames,
    );
  }

  private spatial(): HouseholdIndex {
    this.index ??= new HouseholdIndex({ lat: this.lat, lon: this.lon, cells: this.cells });
    return this.index;
  }

  /** Row positions of the households in the area, ascending. Codes match at any level (prefix of the tehsil code). */
  select(area: AffectedArea): Uint32Array {
    const hits = new Uint8Array(this.count);
    if (area.geometry) {
      const polygon = area.geometry instanceof PreparedPolygon ? area.geometry : PreparedPolygon.fromGeoJSON(area.geometry);
      for (const i of this.spatial().inside(polygon)) hits[i] = 1;
    }
    if (area.codes?.length) {
      const wanted = new Set(area.codes.map((c) => c.trim().toUpperCase()));
      const matches = this.codes.values.map((code) => code !== '' && [...wanted].some((w) => code.startsWith(w)));
      for (let i = 0; i < this.count; i++) {
        if (matches[this.tehsil[i]!] || matches[this.district[i]!] || matches[this.province[i]!]) hits[i] = 1;
      }
    }
    let n = 0;
    for (let i = 0; i < this.count; i++) n += hits[i]!;
    const out = new Uint32Array(n);
    for (let i = 0, j = 0; i < this.count; i++) if (hits[i]) out[j++] = i;
    return out;
  }

  code(kind: 'province' | 'district' | 'tehsil', row: number): string | null {
    return this.codes.values[this[kind][row]!] || null;
  }

  /** The rows as triggers/ eligibility sees them (no identity: the id is the database id). */
  households(rows: ArrayLike<number>): Household[] {
    const out: Household[] = new Array(rows.length);
    for (let k = 0; k < rows.length; k++) {
      const i = rows[k]!;
      const f = this.flags[i]!;
      const mask = this.enrolmentMask[i]!;
      out[k] = {
        id: String(this.ids[i]),
        source: this.sources.values[this.source[i]!]!,
        pmt: this.pmt[i]!,
        size: this.size[i]!,
        areaCodes: { province: this.code('province', i) ?? '', district: this.code('district', i) ?? '', tehsil: this.code('tehsil', i) ?? '' },
        flags: { femaleHeaded: (f & FLAG_FEMALE) > 0, disabled: (f & FLAG_DISABLED) > 0, elderly: (f & FLAG_ELDERLY) > 0, childrenUnder5: (f & FLAG_CHILDREN) > 0 },
        enrolments: this.enrolmentNames.filter((_, b) => (mask & (1 << b)) !== 0),
      };
    }
    return out;
  }

  /** Households of the area by province, district and tehsil, by PMT band, and at or under a cut-off. */
  exposure(rows: Uint32Array, pmtCutoff: number) {
    const by = { province: new Map<string, number>(), district: new Map<string, number>(), tehsil: new Map<string, number>() };
    const bands = new Array<number>(PMT_BANDS.length).fill(0);
    let atOrUnder = 0;
    let members = 0;
    for (const i of rows) {
      for (const kind of ['province', 'district', 'tehsil'] as const) {
        const code = this.code(kind, i) ?? 'unknown';
        by[kind].set(code, (by[kind].get(code) ?? 0) + 1);
      }
      const p = this.pmt[i]!;
      bands[PMT_BANDS.findIndex((edge) => p < edge)]!++;
      if (p <= pmtCutoff) atOrUnder++;
      members += this.size[i]!;
    }
    const list = (m: Map<string, number>) => [...m].map(([code, households]) => ({ code, households })).sort((a, b) => b.households - a.households || a.code.localeCompare(b.code));
    return {
      households: rows.length,
      members,
      pmtCutoff,
      atOrUnderCutoff: atOrUnder,
      byPmtBand: PMT_BAND_LABELS.map((band, k) => ({ band, households: bands[k]! })),
      byProvince: list(by.province),
      byDistrict: list(by.district),
      byTehsil: list(by.tehsil),
    };
  }

  /** Households per H3 cell at resolution `res` (≤ 8) within a bbox, for the density map; counts only. */
  density(bbox: [number, number, number, number], res: number): { cell: string; households: number }[] {
    const [w, s, e, n] = bbox;
    const counts = new Map<string, number>();
    for (let i = 0; i < this.count; i++) {
      const x = this.lon[i]!;
      const y = this.lat[i]!;
      if (x < w || x > e || y < s || y > n) continue;
      const cell = bigintToH3(this.cells[i]!);
      const parent = getResolution(cell) > res ? cellToParent(cell, res) : latLngToCell(y, x, res);
      counts.set(parent, (counts.get(parent) ?? 0) + 1);
    }
    return [...counts].map(([cell, households]) => ({ cell, households }));
  }
}

function parsePgArray(text: string): string[] {
  const inner = text.replace(/^\{|\}$/g, '');
  return inner ? inner.split(',').map((s) => s.replace(/^"|"$/g, '')) : [];
}

/** The version stamp an import bumps, so every server process reloads its registry index. */
export async function bumpRegistryVersion(database: Database): Promise<void> {
  const value = `${Date.now()}-${Math.random().toString(36).slice(2, 8)}`;
  await database.db.insert(settings).values({ key: 'registry_version', value }).onConflictDoUpdate({ target: settings.key, set: { value, updatedAt: new Date() } });
}

/** Keeps one RegistryIndex per process, rebuilt when the registry version changes. */
export class RegistryCache {
  private current?: RegistryIndex;
  private loading?: Promise<RegistryIndex>;

  constructor(private readonly database: Database) {}

  async get(): Promise<RegistryIndex> {
    const [row] = await this.database.db.select({ value: settings.value }).from(settings).where(eq(settings.key, 'registry_version'));
    const version = String(row?.value ?? 'empty');
    if (this.current?.version === version) return this.current;
    this.loading ??= RegistryIndex.load(this.database, version).finally(() => (this.loading = undefined));
    this.current = await this.loading;
    return this.current;
  }
}
