import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { bbox as turfBbox } from '@turf/turf';
import { and, eq, isNull, like } from 'drizzle-orm';
import type { Polygon } from 'geojson';
import type { AreaRecord } from '../../geodata/boundaries.ts';
import { systemActor } from '../../server/access/principal.ts';
import type { Role } from '../../server/access/roles.ts';
import type { MadadAlertInput } from '../../server/alerts/parse/madad-json.ts';
import { ingestBody, type IngestItem } from '../../server/alerts/store.ts';
import { importAreas } from '../../server/areas/service.ts';
import type { Ctx } from '../../server/context.ts';
import type { Database, Db } from '../../server/db/client.ts';
import { areas } from '../../server/db/schema/index.ts';
import { createEvent, type EventRow, type NewEvent } from '../../server/events/service.ts';
import { importHouseholds } from '../../server/households/import.ts';
import type { ImportOptions, ImportReport } from '../../server/registry/import.ts';
import { REGISTRY_COLUMNS, type RegistryColumn } from '../../server/registry/row.ts';
import { loadRules, readRuleDir, SHIPPED_RULES_DIR, type LoadedRule } from '../../server/rules/loader.ts';
import { createToken } from '../../server/tokens/service.ts';
import { createUser } from '../../server/users/service.ts';
import { capMessage } from './cap.ts';

let counter = 0;
/** A name no other test uses. */
export const unique = (prefix: string) => `${prefix}-${process.pid}-${++counter}-${Math.random().toString(36).slice(2, 6)}`;

/** The federal setup actor that factories act as (the system, as the CLI does): `system:test`. */
export function setupCtx(db: Db, now = new Date()): Ctx {
  return { db, actor: systemActor('test'), now, requestId: 'test-setup' };
}

export const TEST_PASSWORD = 'correct horse battery staple';

/**
 * Every alert sender the tests' fixtures and helpers use: the CAP, GDACS and USGS samples in
 * ../shared/fixtures (GDACS and USGS messages carry the sender their parsers set, `gdacs.org` and
 * `earthquake.usgs.gov`; an Atom index without `cap:sender` carries its author, `meteoalarm.org`), the demo's
 * CAP file, and the helpers' own (`capMessage`: `pmd.gov.pk`, `makeAlert` and `quake`: `ndma.gov.pk`). Tokens
 * and users of the roles that may push are bound to all of them unless a test says otherwise; a test of the
 * binding itself gives one sender. A fixture with a new sender needs its line here.
 */
export const TEST_SENDERS: readonly string[] = [
  'pmd.gov.pk',
  'ndma.gov.pk',
  'ffd.pmd.gov.pk',
  'gdacs.org',
  'earthquake.usgs.gov',
  'meteoalarm.org',
  '402013233923688',
  'KARO@CLETS.DOJ.CA.GOV',
  'KSTO@NWS.NOAA.GOV',
  'bbrundage@dps.state.nv.us',
  'cap@ec.gc.ca',
  'ddmt01@wra.gov.tw',
  'http://earthquake.usgs.gov/research/monitoring/anss/neic/',
  'http://newwcatwc.arh.noaa.gov/tsuPortal/',
  'https://www.metoffice.gov.uk/weather/warnings-and-advice/uk-warnings',
  'noreplyvarning@smhi.se',
  'trinet@caltech.edu',
  'vigilance@meteo.fr',
  'w-nws.webmaster@noaa.gov',
];

/** The roles that may push alerts (POST /api/alerts), and so get TEST_SENDERS by default. */
const PUSHING_ROLES: readonly Role[] = ['feed', 'dma_officer', 'admin'];
const defaultSenders = (roles: readonly Role[]) => (roles.some((r) => PUSHING_ROLES.includes(r)) ? [...TEST_SENDERS] : []);

export function makeUser(db: Db, fields: { roles?: Role[]; jurisdiction?: string; agency?: string; username?: string; senders?: string[] } = {}) {
  const roles = fields.roles ?? ['responder'];
  return createUser(setupCtx(db), {
    username: fields.username ?? unique('user').toLowerCase(),
    displayName: 'Test User',
    password: TEST_PASSWORD,
    roles,
    agency: fields.agency ?? 'PDMA Sindh',
    jurisdiction: fields.jurisdiction ?? 'PK7',
    senders: fields.senders ?? defaultSenders(roles),
  });
}

/**
 * An API token for `role` in `jurisdiction`, bound to `senders` (TEST_SENDERS for a role that may push);
 * returns the bearer header, the token's id and its name (the audit trail shows `token:<name>`). A token
 * given an expiry is made as of an hour before it: the tests' clocks lie in the past, and a token may not be
 * made already expired.
 */
export async function bearer(
  db: Db,
  role: Role,
  jurisdiction = 'PK7',
  expiresAt?: Date,
  senders?: string[],
): Promise<{ authorization: string; id: string; name: string }> {
  const madeAt = expiresAt && expiresAt.getTime() <= Date.now() ? new Date(expiresAt.getTime() - 3600_000) : new Date();
  const created = await createToken(setupCtx(db, madeAt), {
    name: unique(role),
    role,
    agency: 'TEST',
    jurisdiction,
    expiresAt,
    senders: senders ?? defaultSenders([role]),
  });
  return { authorization: `Bearer ${created.token}`, id: created.id, name: created.name };
}

/** A box in degrees: west, south, east, north. */
export type Box = readonly [number, number, number, number];

/** The square polygon over a box, in GeoJSON's [lon, lat] order. */
export function square([w, s, e, n]: Box): Polygon {
  return { type: 'Polygon', coordinates: [[[w, s], [e, s], [e, n], [w, n], [w, s]]] };
}

/** An area as imported, with the box its square covers. */
export interface MadeArea extends AreaRecord {
  box: Box;
}

/**
 * An area of `level` under `parentCode`, imported through importAreas as a square over `box` (by default the
 * parent's box, so a tehsil fills its district). Without `code`, it takes the highest code under the parent
 * that this database does not hold yet, counting down from 99 so that made codes stay clear of real P-codes
 * (which count up from 01): the first district made under `PK7` is `PK799`, its first tehsil `PK79999`.
 */
export async function makeArea(
  db: Db,
  fields: { level: number; parentCode: string; box?: Box; name?: string; code?: string; validFrom?: string; population?: number },
): Promise<MadeArea> {
  const box = fields.box ?? (await storedBox(db, fields.parentCode));
  const code = fields.code ?? (await freeAreaCode(db, fields.parentCode, fields.level === 1 ? 1 : 2));
  const record: AreaRecord = {
    code,
    name: fields.name ?? unique('Testabad'),
    level: fields.level,
    parentCode: fields.parentCode,
    geometry: square(box),
    source: 'test factory',
    population: fields.population ?? null,
  };
  await importAreas(setupCtx(db), { records: [record], validFrom: fields.validFrom ?? '2022-01-01' });
  return { ...record, box };
}

async function storedBox(db: Db, code: string): Promise<Box> {
  // From the geometry, not the stored bbox: that column is single precision, and a child must fit exactly.
  const [row] = await db.select({ geometry: areas.geometry }).from(areas).where(and(eq(areas.code, code), isNull(areas.validTo)));
  if (!row) throw new Error(`makeArea: no area ${code} is stored to take a box from; give a box`);
  const [w, s, e, n] = turfBbox(row.geometry as Polygon);
  return [w, s, e, n];
}

async function freeAreaCode(db: Db, parent: string, digits: number): Promise<string> {
  // `_` in LIKE is one character: codes exactly `digits` longer than the parent's.
  const used = new Set((await db.select({ code: areas.code }).from(areas).where(like(areas.code, parent + '_'.repeat(digits)))).map((r) => r.code));
  for (let n = 10 ** digits - 1; n >= 1; n--) {
    const code = parent + String(n).padStart(digits, '0');
    if (!used.has(code)) return code;
  }
  throw new Error(`makeArea: every code under ${parent} is taken`);
}

let cnic = 4210100000000;
/** A registry household row; PMT and place are what the tests choose, the rest is plausible filler. */
export function household(id: string, lat: number, lon: number, pmt: number, size = 5, source = 'NSER'): Record<string, string> {
  return {
    source,
    household_id: id,
    cnic: String(++cnic),
    head_name: `Head ${id}`,
    phone: '',
    lat: String(lat),
    lon: String(lon),
    household_size: String(size),
    pmt_score: String(pmt),
    female_headed: '0',
    has_disabled: '0',
    has_elderly: '0',
    children_under5: '0',
    enrolments: '',
    payment_channel: '',
    payment_account: '',
  };
}

const csvField = (value: string) => (/[",\r\n]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value);

/** A registry CSV file's text: the full header, then one line per row (RFC 4180 quoting where needed). */
export function registryCsv(rows: Record<string, string>[]): string {
  return [REGISTRY_COLUMNS.join(','), ...rows.map((r) => REGISTRY_COLUMNS.map((c) => csvField(r[c] ?? '')).join(','))].join('\n') + '\n';
}

export interface HouseholdFields {
  /** The registry's household id; a unique one when not given. */
  id?: string;
  lat: number;
  lon: number;
  pmt?: number;
  size?: number;
  source?: string;
  /** Any other column as a file spells it, e.g. `{ female_headed: '1', payment_channel: 'bank' }`. */
  columns?: Partial<Record<RegistryColumn, string>>;
}

/**
 * Households imported through importHouseholds, as `madad registry import` does (audit entry included): one
 * row or many, in one file. Throws when a row is refused, since a factory is meant to make good data.
 */
export async function makeHousehold(
  database: Database,
  fields: HouseholdFields | HouseholdFields[],
  options: ImportOptions & { now?: Date } = {},
): Promise<ImportReport & { householdIds: string[] }> {
  const rows = (Array.isArray(fields) ? fields : [fields]).map((f) => ({ ...household(f.id ?? unique('hh'), f.lat, f.lon, f.pmt ?? 20, f.size ?? 5, f.source ?? 'NSER'), ...f.columns }));
  const { now, ...importOptions } = options;
  const report = await importHouseholds(
    setupCtx(database.db, now),
    { database, source: Readable.from([Buffer.from(registryCsv(rows))]), name: `${unique('households')}.csv` },
    importOptions,
  );
  if (report.refused !== 0) throw new Error(`makeHousehold: the import refused rows: ${JSON.stringify(report.problems)}`);
  return { ...report, householdIds: rows.map((r) => r.household_id!) };
}

/** A time as senders in Pakistan write it: ISO 8601 at +05:00 (CAP wants an offset, not `Z`). */
const pkt = (at: Date) => `${new Date(at.getTime() + 5 * 3600_000).toISOString().slice(0, 19)}+05:00`;

interface AlertCommon {
  identifier?: string;
  sender?: string;
  /** ISO 8601 with offset; the factory's `now` when not given. */
  sent?: string;
  status?: MadadAlertInput['status'];
  msgType?: 'Alert' | 'Update' | 'Cancel';
  scope?: 'Public' | 'Restricted';
  /** The messages an Update or Cancel refers to (as `makeAlert` returns them). */
  references?: { sender: string; identifier: string; sent: string }[];
  /** P-codes the gazetteer resolves; in CAP at most one, sent as a `pcode` geocode. */
  areaCodes?: string[];
  severity?: MadadAlertInput['severity'];
  urgency?: MadadAlertInput['urgency'];
  certainty?: MadadAlertInput['certainty'];
  headline?: string;
  expires?: string;
  /** The time of the ingest. */
  now?: Date;
}

export type AlertFields =
  | (AlertCommon & { format?: 'madad'; hazard?: MadadAlertInput['hazard']; metrics?: MadadAlertInput['metrics']; polygon?: Box | Polygon })
  | (AlertCommon & { format: 'cap'; event?: string; polygon?: Box | string });

export interface MadeAlert {
  /** The stored alert's id. */
  id: string;
  item: IngestItem;
  sender: string;
  identifier: string;
  sent: string;
}

/**
 * An alert stored through ingestBody, as a feed posting it would: Madad JSON by default (hazard `flood`), or
 * CAP 1.2 with `format: 'cap'` (hazard from `event`). Its evaluation waits in the outbox for `drain`. Throws
 * when the message is rejected.
 */
export async function makeAlert(db: Db, fields: AlertFields = {}): Promise<MadeAlert> {
  const now = fields.now ?? new Date();
  const identifier = fields.identifier ?? unique('ALERT');
  const sender = fields.sender ?? (fields.format === 'cap' ? 'pmd.gov.pk' : 'ndma.gov.pk');
  const sent = fields.sent ?? pkt(now);
  let body: string;
  let contentType: string;
  if (fields.format === 'cap') {
    const codes = fields.areaCodes ?? [];
    if (codes.length > 1) throw new Error('makeAlert: a CAP alert here carries at most one area code');
    const polygon = typeof fields.polygon === 'object' ? capPolygon(fields.polygon) : fields.polygon;
    body = capMessage({
      identifier,
      sender,
      sent,
      ...(fields.status ? { status: fields.status } : {}),
      ...(fields.msgType ? { msgType: fields.msgType } : {}),
      ...(fields.scope ? { scope: fields.scope } : {}),
      ...(fields.references?.length ? { references: fields.references.map((r) => `${r.sender},${r.identifier},${r.sent}`).join(' ') } : {}),
      ...(fields.event ? { event: fields.event } : {}),
      ...(fields.severity ? { severity: fields.severity } : {}),
      ...(fields.urgency ? { urgency: fields.urgency } : {}),
      ...(fields.certainty ? { certainty: fields.certainty } : {}),
      ...(fields.headline ? { headline: fields.headline } : {}),
      ...(fields.expires ? { expires: fields.expires } : {}),
      ...(polygon ? { polygon } : {}),
      ...(codes[0] ? { geocode: { valueName: 'pcode', value: codes[0] } } : {}),
    });
    contentType = 'application/cap+xml';
  } else {
    const polygon = fields.polygon && ('type' in fields.polygon ? fields.polygon : square(fields.polygon));
    const message: MadadAlertInput = {
      source: 'madad',
      sender,
      identifier,
      sent,
      status: fields.status ?? 'Actual',
      msgType: fields.msgType ?? 'Alert',
      scope: fields.scope ?? 'Public',
      references: fields.references ?? [],
      hazard: fields.hazard ?? 'flood',
      severity: fields.severity ?? 'Severe',
      urgency: fields.urgency ?? 'Immediate',
      certainty: fields.certainty ?? 'Observed',
      headline: fields.headline ?? `Test alert ${identifier}`,
      metrics: fields.metrics ?? {},
      ...(fields.expires ? { expires: fields.expires } : {}),
      area: { areaCodes: fields.areaCodes ?? [], ...(polygon ? { geometry: polygon } : {}) },
    };
    body = JSON.stringify(message);
    contentType = 'application/json';
  }
  const report = await ingestBody(setupCtx(db, now), { body: new TextEncoder().encode(body), contentType });
  const item = report.items[0]!;
  if (item.result === 'rejected' || !item.id) throw new Error(`makeAlert: ${identifier} was not stored: ${item.reason ?? item.result}`);
  return { id: item.id, item, sender, identifier, sent };
}

/** A box as a CAP polygon: `lat,lon` pairs, closed. */
function capPolygon([w, s, e, n]: Box): string {
  return `${s},${w} ${s},${e} ${n},${e} ${n},${w} ${s},${w}`;
}

/** An event made through createEvent: a unique name, a declared flood unless told otherwise. */
export function makeEvent(db: Db, fields: Partial<Omit<NewEvent, 'areas'>> & { areas: NewEvent['areas']; now?: Date }): Promise<EventRow> {
  return createEvent(setupCtx(db, fields.now), {
    name: fields.name ?? unique('Event'),
    hazard: fields.hazard ?? 'flood',
    status: fields.status ?? 'declared',
    areas: fields.areas,
    alertIds: fields.alertIds ?? [],
  });
}

/** The ids of the rules shipped in triggers/rules/. */
export type ShippedRuleId = 'cyclone' | 'drought' | 'earthquake' | 'flood-relief-2022' | 'heatwave' | 'sindh-flood-kafaalat';

/**
 * A rule loaded through loadRules from a copy of a shipped rule file, under a unique id unless `id` is given
 * (give the shipped id to make a new version of the shipped rule). `change` edits the YAML text after the id
 * is set, e.g. `(y) => y.replace('flat_pkr: 25000', 'flat_pkr: 30000')`.
 */
export async function makeRule(
  db: Db,
  fields: { from: ShippedRuleId; id?: string; change?: (yaml: string) => string; now?: Date },
): Promise<LoadedRule & { yaml: string }> {
  const shipped = readRuleDir(SHIPPED_RULES_DIR).find((r) => r.rule.id === fields.from);
  if (!shipped) throw new Error(`makeRule: no shipped rule ${fields.from}`);
  const id = fields.id ?? unique(fields.from).toLowerCase();
  const renamed = shipped.text.replace(/^id: .*$/m, `id: ${id}`);
  const yaml = fields.change ? fields.change(renamed) : renamed;
  const dir = mkdtempSync(path.join(tmpdir(), 'madad-rule-'));
  try {
    writeFileSync(path.join(dir, `${id}.yaml`), yaml);
    const [loaded] = await loadRules(setupCtx(db, fields.now), dir);
    return { ...loaded!, yaml };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
