import { createHash } from 'node:crypto';
import { availableParallelism } from 'node:os';
import type { Geometry } from 'geojson';
import { cellToParent, getResolution, latLngToCell } from 'h3-js';
import { eq, sql } from 'drizzle-orm';
import { bigintToH3 } from '../../geodata/h3.ts';
import { readAreaPolygons } from '../../geodata/area-input.ts';
import { flattenPolygons, positionCount, type FlatPolygons } from '../../geodata/flat-polygons.ts';
import { PreparedPolygon } from '../../geodata/prepared-polygon.ts';
import { HouseholdIndex, type CellGroups, type Share } from '../../geodata/spatial-engine.ts';
import type { Household } from '../../triggers/eligibility.ts';
import { queryRows, type Database, type Db } from '../db/client.ts';
import { settings } from '../db/schema/index.ts';
import { PayloadTooLargeError, UnavailableError } from '../errors.ts';
import { readSnapshot, writeSnapshot } from './snapshot.ts';
import { SpatialBudgetError, SpatialPool, type SpatialAnswers, type SpatialJob, type WorkerArea } from './spatial-pool.ts';
import type { CaseloadJob, CompactCaseload } from './caseload.ts';

/** An affected area: gazetteer codes (any level), a GeoJSON (Multi)Polygon, or both (their union). */
export interface AffectedArea {
  codes?: string[];
  /** GeoJSON, a polygon prepared once for repeated questions, or flat polygons handed to a worker. */
  geometry?: Geometry | PreparedPolygon | FlatPolygons | null;
}

/** Exposure of an area as RegistryIndex.exposure computes it: exact counts. */
export type ExposureCounts = ReturnType<RegistryIndex['exposure']>;

/**
 * The registry's columns, every typed array on a SharedArrayBuffer, so a worker thread reads the same
 * memory (server/registry/spatial-pool.ts) instead of a copy.
 */
export interface RegistryColumns {
  version: string;
  ids: Float64Array;
  lat: Float64Array;
  lon: Float64Array;
  cells: BigUint64Array;
  pmt: Float32Array;
  size: Uint8Array;
  flags: Uint8Array;
  enrolmentMask: Uint32Array;
  source: Uint8Array;
  province: Uint16Array;
  district: Uint16Array;
  tehsil: Uint16Array;
  codes: string[];
  sources: string[];
  enrolmentNames: string[];
}

type TypedArray = Float64Array | Float32Array | BigUint64Array | Uint32Array | Uint16Array | Uint8Array;

/** A copy of the first `count` values of `a` on a SharedArrayBuffer. */
export function sharedCopy<T extends TypedArray>(a: T, count = a.length): T {
  const Kind = a.constructor as new (buffer: SharedArrayBuffer) => T;
  const out = new Kind(new SharedArrayBuffer(count * a.BYTES_PER_ELEMENT));
  (out as unknown as { set(x: T): void }).set(a.subarray(0, count) as T);
  return out;
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
const dictionaryOf = (values: string[]): Dictionary => ({ values, index: new Map(values.map((v, i) => [v, i])) });
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
  /** Cell groups built elsewhere (by a worker) for these columns, to skip grouping again. */
  private groups?: CellGroups;

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

  static async load(database: Pick<Database, 'db'>, version: string, pageSize = 100_000): Promise<RegistryIndex> {
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
    return RegistryIndex.fromColumns({
      version,
      ids: sharedCopy(ids, count),
      lat: sharedCopy(lat, count),
      lon: sharedCopy(lon, count),
      cells: sharedCopy(cells, count),
      pmt: sharedCopy(pmt, count),
      size: sharedCopy(size, count),
      flags: sharedCopy(flags, count),
      enrolmentMask: sharedCopy(enrolmentMask, count),
      source: sharedCopy(source, count),
      province: sharedCopy(province, count),
      district: sharedCopy(district, count),
      tehsil: sharedCopy(tehsil, count),
      codes: codes.values,
      sources: sources.values,
      enrolmentNames,
    });
  }

  /** An index over columns already loaded (in a worker: the main thread's, shared), with its cell groups if known. */
  static fromColumns(c: RegistryColumns, groups?: CellGroups): RegistryIndex {
    const index = new RegistryIndex(
      c.version, c.ids, c.lat, c.lon, c.cells, c.pmt, c.size, c.flags, c.enrolmentMask, c.source, c.province, c.district, c.tehsil,
      dictionaryOf(c.codes), dictionaryOf(c.sources), c.enrolmentNames,
    );
    if (groups) index.groups = groups;
    return index;
  }

  /** The columns, to hand to a worker thread (typed arrays on shared memory are shared, not copied). */
  columns(): RegistryColumns {
    const { version, ids, lat, lon, cells, pmt, size, flags, enrolmentMask, source, province, district, tehsil } = this;
    return { version, ids, lat, lon, cells, pmt, size, flags, enrolmentMask, source, province, district, tehsil, codes: this.codes.values, sources: this.sources.values, enrolmentNames: this.enrolmentNames };
  }

  /** The cell groups if they are known already (a snapshot, or built), without building them. */
  knownGroups(): CellGroups | undefined {
    return this.index?.groups ?? this.groups;
  }

  /** The households grouped by cell: built on first use (0.4 s a million households). */
  cellGroups(): CellGroups {
    return this.spatial().groups;
  }

  private spatial(): HouseholdIndex {
    this.index ??= new HouseholdIndex({ lat: this.lat, lon: this.lon, cells: this.cells, ...(this.groups ? { groups: this.groups } : {}) });
    return this.index;
  }

  /**
   * Row positions of the households in the area, ascending. Codes match at any level (prefix of the
   * tehsil code). With `share`, part of the answer (see HouseholdIndex.inside; the codes are matched by
   * part 0): the union of the parts is the answer.
   */
  select(area: AffectedArea, share?: Share): Uint32Array {
    const hits = new Uint8Array(this.count);
    if (area.geometry) {
      const g = area.geometry;
      const polygon = g instanceof PreparedPolygon ? g : 'xy' in g ? new PreparedPolygon(g) : PreparedPolygon.fromGeoJSON(g);
      for (const i of this.spatial().inside(polygon, share)) hits[i] = 1;
    }
    if (area.codes?.length && !share?.part) {
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

  /**
   * The rows whose household lies within a jurisdiction, by its finest area code (an unlocated household
   * is federal only): the same rule as server/access/scope.ts `householdScope`, on the columns in memory.
   */
  within(rows: Uint32Array, jurisdiction: string): Uint32Array {
    if (jurisdiction === 'PK') return rows;
    const inside = this.jurisdictionTest(jurisdiction);
    return rows.filter((i) => inside(i));
  }

  /** A test of one row against a jurisdiction, with the dictionary's codes judged once each. */
  private jurisdictionTest(jurisdiction: string): (row: number) => boolean {
    const yes = this.codes.values.map((code) => code.startsWith(jurisdiction));
    return (i) => {
      const finest = this.tehsil[i] || this.district[i] || this.province[i];
      return finest ? yes[finest]! : 'PK'.startsWith(jurisdiction);
    };
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

  /**
   * Households per H3 cell at resolution `res` (≤ 8) within a bbox, for the density map; counts only, of
   * the households within `jurisdiction` (all when federal). Walked by cell group: a group whose disc
   * misses the box is skipped whole, one inside it is not tested household by household, and the groups
   * under one parent cell (contiguous in cell order) share one H3 call; a household is placed by its own
   * position only where its cell is not finer than `res`.
   */
  density(bbox: [number, number, number, number], res: number, jurisdiction = 'PK'): { cell: string; households: number }[] {
    const [w, s, e, n] = bbox;
    const counts = new Map<string, number>();
    const inside = jurisdiction === 'PK' ? () => true : this.jurisdictionTest(jurisdiction);
    const { cells, start, order, centreLon, centreLat, radius } = this.cellGroups();
    const shift = BigInt(3 * (15 - res));
    let previousKey = -1n;
    let previousParent: string | null = null;
    for (let g = 0; g < start.length - 1; g++) {
      const cx = centreLon[g]!, cy = centreLat[g]!, r = radius[g]!;
      if (cx + r < w || cx - r > e || cy + r < s || cy - r > n) continue;
      const whole = cx - r >= w && cx + r <= e && cy - r >= s && cy + r <= n;
      const key = cells[g]! >> shift;
      if (key !== previousKey) {
        const cell = bigintToH3(cells[g]!);
        previousParent = getResolution(cell) > res ? cellToParent(cell, res) : null;
        previousKey = key;
      }
      const parent = previousParent;
      let here = 0;
      for (let j = start[g]!; j < start[g + 1]!; j++) {
        const i = order[j]!;
        if (!whole) {
          const x = this.lon[i]!, y = this.lat[i]!;
          if (x < w || x > e || y < s || y > n) continue;
        }
        if (!inside(i)) continue;
        if (parent) here++;
        else {
          const own = latLngToCell(this.lat[i]!, this.lon[i]!, res);
          counts.set(own, (counts.get(own) ?? 0) + 1);
        }
      }
      if (parent && here) counts.set(parent, (counts.get(parent) ?? 0) + here);
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

/**
 * How area questions from requests are answered: off the main thread within a time budget, with a bound
 * on the polygons a request may carry, and aggregates shown to roles without identity access with small
 * counts suppressed (server/registry/disclosure.ts). The app sets it from the environment (server/env.ts).
 */
export interface RegistryPolicy {
  /** MADAD_SPATIAL_BUDGET_MS: how long one area question may run in a worker. */
  budgetMs: number;
  workers: number;
  maxWaiting: number;
  /** MADAD_MAX_POLYGON_VERTICES: positions an area in a request body may have. */
  maxPolygonVertices: number;
  /** MADAD_MIN_CELL: the smallest count shown to a role without identity access; figures are rounded to it. */
  minCell: number;
  /** Called with the limit's name each time a request is refused by one (the madad_limit_refusals_total metric). */
  refused: (limit: 'polygon_vertices' | 'spatial_budget' | 'spatial_queue') => void;
}

export const DEFAULT_POLICY: RegistryPolicy = {
  budgetMs: 5000,
  workers: Math.min(2, Math.max(1, availableParallelism())),
  maxWaiting: 64,
  maxPolygonVertices: 50_000,
  minCell: 10,
  refused: () => {},
};

/** The spatial workers of one index, and the last answers they gave (by question), newest last. */
interface IndexPool {
  index: RegistryIndex;
  pool: SpatialPool;
  answers: Map<string, Promise<unknown>>;
}

/**
 * Area questions answered again from memory: an alert's footprint is asked about by its page, its dry
 * run, the map and the batch build in turn, and the full UNOSAT extent takes over a second to answer at
 * 10 M households. The answers belong to one registry version (a new index starts with none); each is
 * a few MB at most (one row number per household selected).
 */
const ANSWERS_KEPT = 16;

/** Keeps an answer (the newest last), forgetting the oldest past ANSWERS_KEPT and any that fails. */
function remember(answers: Map<string, Promise<unknown>>, key: string, asked: Promise<unknown>): void {
  answers.set(key, asked);
  while (answers.size > ANSWERS_KEPT) answers.delete(answers.keys().next().value!);
  asked.catch(() => {
    if (answers.get(key) === asked) answers.delete(key);
  });
}

const copyFlat = (f: FlatPolygons): FlatPolygons => ({ xy: f.xy.slice(), ringEnds: f.ringEnds.slice(), partEnds: f.partEnds.slice() });

/** The union of ascending row lists, ascending, each row once. */
function unionOfSorted(lists: Uint32Array[]): Uint32Array {
  const out = new Uint32Array(lists.reduce((n, l) => n + l.length, 0));
  const at = new Array<number>(lists.length).fill(0);
  let n = 0;
  for (;;) {
    let best = -1;
    for (let k = 0; k < lists.length; k++) if (at[k]! < lists[k]!.length && (best < 0 || lists[k]![at[k]!]! < lists[best]![at[best]!]!)) best = k;
    if (best < 0) break;
    const v = lists[best]![at[best]!++]!;
    if (n === 0 || out[n - 1] !== v) out[n++] = v;
  }
  return out.slice(0, n);
}

/** The question's identity: its kind, parameters and area (codes, and a sha256 of the polygons' coordinates). */
function answerKey(job: SpatialJob): string | undefined {
  if (job.kind === 'caseload') return undefined;
  if (job.kind === 'density') return `density:${job.bbox.join(',')}:${job.res}:${job.within}`;
  const { codes, geometry } = job.area;
  const hash = createHash('sha256');
  hash.update(JSON.stringify(codes ?? []));
  if (geometry) for (const a of [geometry.xy, geometry.ringEnds, geometry.partEnds]) hash.update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
  const area = hash.digest('base64');
  return job.kind === 'select' ? `select:${area}` : `exposure:${area}:${job.pmtCutoff}:${job.within}`;
}

/** A kept answer as the caller's own: row numbers may be handed on (moved to a worker), views may be changed. */
function copyAnswer(value: unknown): unknown {
  return value instanceof Uint32Array ? value.slice() : structuredClone(value);
}

/** What the cache did with a snapshot, for the server's log. */
export type SnapshotEvent =
  | { kind: 'read' | 'written'; version: string; households: number; ms: number; file?: string }
  | { kind: 'failed'; version: string; households: number; ms: number; error: unknown };

/**
 * Keeps one RegistryIndex per process, rebuilt when the registry version changes. With a snapshot folder
 * (the data folder), the index of a version is read from its snapshot file when there is one
 * (server/registry/snapshot.ts), and written there once loaded from the database and grouped.
 */
export class RegistryCache {
  private current?: RegistryIndex;
  private loading?: Promise<RegistryIndex>;
  private pool?: IndexPool;
  /** The snapshot being written, if any (awaited by `settled`). */
  private writing?: Promise<void>;
  policy: RegistryPolicy = DEFAULT_POLICY;

  constructor(
    private readonly database: Pick<Database, 'db'>,
    private readonly options: {
      snapshotDir?: string;
      /** Read a snapshot but never write one: a short-lived process (the CLI) would not stay to group and write it. */
      readOnly?: boolean;
      onSnapshot?: (event: SnapshotEvent) => void;
    } = {},
  ) {}

  configure(policy: Partial<RegistryPolicy>): void {
    this.policy = { ...this.policy, ...policy };
  }

  /**
   * The index of the registry as it is now. `db` is the handle to read through: a caller inside a
   * transaction passes it (PGlite has one connection, so a read beside the transaction would wait for it).
   */
  async get(db: Db = this.database.db): Promise<RegistryIndex> {
    const [row] = await db.select({ value: settings.value }).from(settings).where(eq(settings.key, 'registry_version'));
    const version = String(row?.value ?? 'empty');
    if (this.current?.version === version) return this.current;
    this.loading ??= this.load(db, version).finally(() => (this.loading = undefined));
    this.current = await this.loading;
    return this.current;
  }

  private async load(db: Db, version: string): Promise<RegistryIndex> {
    const dir = this.options.snapshotDir;
    const started = performance.now();
    const snapshot = dir ? await readSnapshot(dir, version) : null;
    if (snapshot) {
      this.options.onSnapshot?.({ kind: 'read', version, households: snapshot.columns.ids.length, ms: performance.now() - started });
      return RegistryIndex.fromColumns(snapshot.columns, snapshot.groups);
    }
    const index = await RegistryIndex.load({ db }, version);
    if (dir && !this.options.readOnly) {
      // Grouped by a spatial worker (the main thread keeps answering), then written off the main thread.
      const write = async () => {
        const { pool } = this.poolFor(index);
        const groups = await pool.grouped();
        const file = await writeSnapshot(dir, { columns: index.columns(), groups });
        this.options.onSnapshot?.({ kind: 'written', version, households: index.count, ms: performance.now() - started, file });
      };
      const writing: Promise<void> = write()
        .catch((err: unknown) => this.options.onSnapshot?.({ kind: 'failed', version, households: index.count, ms: performance.now() - started, error: err }))
        .finally(() => {
          if (this.writing === writing) this.writing = undefined;
        });
      this.writing = writing;
    }
    return index;
  }

  /** Resolves once no snapshot is being written (for a caller that must not leave before it is on disk, and tests). */
  async settled(): Promise<void> {
    while (this.writing) await this.writing;
  }

  /**
   * An area from a request body, bounded and flattened for a worker. Stored areas (an alert's footprint,
   * the gazetteer) are not bounded here: they came in through their own checks, and the UNOSAT 2022
   * flood extent alone has 268,239 positions. The time budget bounds them instead.
   */
  requestArea(geometry: Geometry | null | undefined): FlatPolygons | null {
    if (!geometry) return null;
    const polygons = readAreaPolygons(geometry);
    const n = positionCount(polygons);
    const max = this.policy.maxPolygonVertices;
    if (n > max) {
      this.policy.refused('polygon_vertices');
      throw new PayloadTooLargeError(
        `The area has ${n} positions; an area in a request may have at most ${max} (MADAD_MAX_POLYGON_VERTICES). Simplify it, or name the areas by their codes.`,
      );
    }
    return flattenPolygons(polygons);
  }

  /** A stored area (trusted, not bounded by the vertex limit), flattened for a worker. */
  storedArea(geometry: Geometry | null | undefined): FlatPolygons | null {
    return geometry ? flattenPolygons(readAreaPolygons(geometry)) : null;
  }

  /**
   * Row positions of the households in the area, found in the workers within the time budget: a polygon
   * is asked of every worker at once, each answering its share (the union is the answer).
   */
  async select(area: WorkerArea, db?: Db): Promise<{ index: RegistryIndex; rows: Uint32Array }> {
    const index = await this.get(db);
    if (!area.geometry) return { index, rows: index.select({ ...(area.codes ? { codes: area.codes } : {}) }) };
    const parts = Math.max(1, this.policy.workers);
    if (parts === 1) return { index, rows: await this.ask(index, { kind: 'select', area }) };
    const rows = await this.answer(index, answerKey({ kind: 'select', area }), (pool) => {
      // Each share's polygons are its own copy, all made before the first is sent: sending moves them.
      const copies = Array.from({ length: parts }, (_, part) => (part === 0 ? area.geometry! : copyFlat(area.geometry!)));
      return Promise.all(copies.map((geometry, part) => pool.run({ kind: 'select', area: { ...area, geometry }, share: { part, parts } }))).then(unionOfSorted);
    });
    return { index, rows };
  }

  /** Exact exposure counts of the households of an area within a jurisdiction, computed in a worker within the time budget. */
  async exposure(area: WorkerArea, pmtCutoff: number, within: string): Promise<{ index: RegistryIndex; counts: ExposureCounts }> {
    const index = await this.get();
    return { index, counts: await this.ask(index, { kind: 'exposure', area, pmtCutoff, within }) };
  }

  /** Exact households per H3 cell in a bbox, of those within a jurisdiction, counted in a worker within the time budget. */
  async density(bbox: [number, number, number, number], res: number, within: string): Promise<{ index: RegistryIndex; cells: { cell: string; households: number }[] }> {
    const index = await this.get();
    return { index, cells: await this.ask(index, { kind: 'density', bbox, res, within }) };
  }

  /** A caseload weighed in a worker over this index's columns (server/registry/caseload.ts; asked by server/rules/caseload.ts `caseloadInWorker`). */
  async caseload(index: RegistryIndex, caseload: CaseloadJob): Promise<CompactCaseload> {
    return this.ask(index, { kind: 'caseload', caseload });
  }

  private ask<K extends SpatialJob['kind']>(index: RegistryIndex, job: Extract<SpatialJob, { kind: K }>): Promise<SpatialAnswers[K]> {
    // Keyed before the job is sent: its polygons' buffers move to the worker.
    return this.answer(index, answerKey(job), (pool) => pool.run(job));
  }

  /** A kept answer to the question `key` names, or `run`'s, kept; a refusal is counted once per question. */
  private async answer<T>(index: RegistryIndex, key: string | undefined, run: (pool: SpatialPool) => Promise<T>): Promise<T> {
    const { pool, answers } = this.poolFor(index);
    const known = key ? answers.get(key) : undefined;
    if (known) {
      answers.delete(key!);
      answers.set(key!, known);
      return copyAnswer(await known) as T;
    }
    try {
      const asked = run(pool);
      if (key) remember(answers, key, asked);
      return copyAnswer(await asked) as T;
    } catch (err) {
      if (err instanceof SpatialBudgetError) this.policy.refused('spatial_budget');
      else if (err instanceof UnavailableError) this.policy.refused('spatial_queue');
      throw err;
    }
  }

  private poolFor(index: RegistryIndex): IndexPool {
    if (this.pool?.index !== index) {
      this.pool?.pool.close();
      this.pool = { index, pool: new SpatialPool(index.columns(), this.policy, index.knownGroups()), answers: new Map() };
    }
    return this.pool;
  }

  /** Stops the spatial workers (they hold no state of their own). */
  close(): void {
    this.pool?.pool.close();
    this.pool = undefined;
  }
}
