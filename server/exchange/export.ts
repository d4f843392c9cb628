import { createHash } from 'node:crypto';
import { and, asc, eq, isNull, lte, sql } from 'drizzle-orm';
import { prefixPattern, householdArea } from '../access/scope.ts';
import { recordAudit, recordAuditAlone } from '../audit/service.ts';
import { withTransaction, type Ctx, type TxCtx } from '../context.ts';
import { queryRows, type Db, type Tx } from '../db/client.ts';
import { rawOf } from '../db/copy.ts';
import { exchangeExportChunks, exchangeExports } from '../db/schema/index.ts';
import { ConflictError, NotFoundError } from '../errors.ts';
import { agreementInForce, getAgreement, shareOf, type AgreementRow, type Share } from './agreements.ts';
import { EXPORT_FIELDS, linkageKeys, type ExportField } from './fields.ts';

export type ExportRow = typeof exchangeExports.$inferSelect;
export type ExportFormat = 'csv' | 'ndjson';

/** Households read per query while a slice is written. */
const PAGE = 50_000;
/** Bytes per kept chunk of an export made over HTTP. */
const CHUNK_BYTES = 1024 * 1024;
/** How long Madad keeps an export's bytes to download: then they are purged. */
export const EXPORT_HOURS = 72;

/** The household column (SQL) each export field is read from. */
const COLUMN: Record<ExportField, string> = {
  household_id: 'household_id',
  cnic: 'cnic',
  head_name: 'head_name',
  phone: 'phone',
  province: 'province',
  district: 'district',
  tehsil: 'tehsil',
  lat: 'lat',
  lon: 'lon',
  household_size: 'size',
  pmt_score: 'pmt',
  female_headed: 'female_headed',
  has_disabled: 'has_disabled',
  has_elderly: 'has_elderly',
  children_under5: 'children_under5',
  enrolments: 'enrolments',
  payment_channel: 'payment_channel',
  payment_account: 'payment_account',
};

const csvField = (s: string) => (/[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);

type Value = string | number | boolean | string[] | null;
function csvValue(v: Value): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'boolean') return v ? '1' : '0';
  if (Array.isArray(v)) return csvField(v.join(';'));
  return typeof v === 'number' ? String(v) : csvField(v);
}

/** PGlite and postgres.js give arrays as arrays; a text form `{a,b}` is read too. */
const arrayOf = (v: unknown): string[] => (Array.isArray(v) ? (v as string[]) : typeof v === 'string' ? v.replace(/^\{|\}$/g, '').split(',').filter(Boolean) : []);

/** The columns of a slice: the linkage key, then the agreed fields in the registry's order. */
export function sliceColumns(share: Share): string[] {
  return ['linkage_key', ...EXPORT_FIELDS.filter((f) => share.fields.includes(f))];
}

/**
 * The bytes of a registry slice under an agreement, page by page (never held whole): the households of the
 * share's registry within the agreement's jurisdiction, in id order, each with its linkage key and only the
 * agreed fields. CSV (a header, LF lines, RFC 4180 quoting) or NDJSON (one object per line). The CNIC is
 * read to make the key and leaves only when the agreement is identified and lists it. On PostgreSQL with
 * pgcrypto the database writes the lines itself (`sqlSlice`); these are the same bytes.
 */
export async function* sliceText(db: Db | Tx, agreement: Pick<AgreementRow, 'jurisdiction' | 'linkKey'>, share: Share, format: ExportFormat): AsyncGenerator<string> {
  const fields = EXPORT_FIELDS.filter((f) => share.fields.includes(f));
  const key = linkageKeys(agreement.linkKey);
  const cols = [...new Set(['id', 'cnic', ...fields.map((f) => COLUMN[f])])];
  const select = sql.raw(cols.join(', '));
  if (format === 'csv') yield `${['linkage_key', ...fields].join(',')}\n`;
  const [span] = await queryRows<{ lo: string | number | null; hi: string | number | null }>(db as Db, sql`select min(id) as lo, max(id) as hi from households`);
  const hi = Number(span?.hi ?? 0);
  // Pages are ranges of ids, read in id order by the primary key: each page costs its own rows only,
  // whatever the planner would make of `limit` after a filter over millions.
  for (let after = Number(span?.lo ?? 1) - 1; after < hi; after += PAGE) {
    const rows = await queryRows<Record<string, Value> & { id: number | string; cnic: string }>(
      db as Db,
      sql`select ${select} from households where source = ${share.source} and ${householdArea} like ${prefixPattern(agreement.jurisdiction)} and id > ${after} and id <= ${after + PAGE} order by id`,
    );
    if (rows.length === 0) continue;
    let chunk = '';
    for (const r of rows) {
      const link = key(r.cnic);
      if (format === 'csv') {
        let line = link;
        for (const f of fields) line += `,${csvValue(f === 'enrolments' ? arrayOf(r.enrolments) : (r[COLUMN[f]] ?? null))}`;
        chunk += `${line}\n`;
      } else {
        const o: Record<string, Value> = { linkage_key: link };
        for (const f of fields) o[f] = f === 'enrolments' ? arrayOf(r.enrolments) : (r[COLUMN[f]] ?? null);
        chunk += `${JSON.stringify(o)}\n`;
      }
    }
    yield chunk;
  }
}

/** SQL for one agreed field as the export writes it (the same text as `csvValue` and JSON.stringify give). */
function sqlField(f: ExportField, format: ExportFormat): string {
  const c = COLUMN[f];
  const text = (e: string) =>
    format === 'csv' ? `(case when ${e} is null then '' when ${e} ~ '[",\r\n]' then '"' || replace(${e}, '"', '""') || '"' else ${e} end)` : `coalesce(to_json(${e})::text, 'null')`;
  switch (f) {
    case 'lat':
    case 'lon':
    case 'pmt_score':
    case 'household_size':
      return format === 'csv' ? `coalesce(${c}::text, '')` : `coalesce(${c}::text, 'null')`;
    case 'female_headed':
    case 'has_disabled':
    case 'has_elderly':
    case 'children_under5':
      return format === 'csv' ? `(case when ${c} then '1' when not ${c} then '0' else '' end)` : `coalesce(${c}::text, 'null')`;
    case 'enrolments':
      return format === 'csv' ? text(`array_to_string(${c}, ';')`) : `to_json(coalesce(${c}, '{}'::text[]))::text`;
    default:
      return text(c);
  }
}

/** Whether this PostgreSQL has pgcrypto's hmac(), creating the extension when allowed; asked once per database handle. */
const pgcrypto = new WeakMap<object, Promise<boolean>>();
export function hasPgcrypto(db: Db): Promise<boolean> {
  let known = pgcrypto.get(db);
  if (!known) {
    known = (async () => {
      try {
        await db.execute(sql`create extension if not exists pgcrypto`);
      } catch {
        // No right to create it: it may still be there.
      }
      try {
        await db.execute(sql`select hmac('x'::bytea, 'k'::bytea, 'sha256')`);
        return true;
      } catch {
        return false;
      }
    })();
    pgcrypto.set(db, known);
  }
  return known;
}

/**
 * The slice written by PostgreSQL itself: one text column per household, each line made in SQL and the
 * linkage key by pgcrypto's hmac() (the key is a bound parameter, never in the statement's text), read
 * through a cursor a page at a time. The same bytes as `sliceText`.
 */
async function* sqlSlice(tx: Tx, agreement: Pick<AgreementRow, 'jurisdiction' | 'linkKey'>, share: Share, format: ExportFormat): AsyncGenerator<string> {
  const raw = rawOf(tx);
  if (raw.kind !== 'postgres') throw new Error('sqlSlice: PostgreSQL only');
  const fields = EXPORT_FIELDS.filter((f) => share.fields.includes(f));
  const link = `translate(rtrim(encode(hmac(convert_to(cnic, 'UTF8'), decode($1, 'hex'), 'sha256'), 'base64'), '='), '+/', '-_')`;
  const line =
    format === 'csv'
      ? [link, ...fields.map((f) => sqlField(f, 'csv'))].join(` || ',' || `)
      : `'{"linkage_key":"' || ${link} || '"' || ${fields.map((f) => `',"${f}":' || ${sqlField(f, 'ndjson')}`).join(' || ') || `''`} || '}'`;
  if (format === 'csv') yield `${['linkage_key', ...fields].join(',')}\n`;
  const query = raw.sql.unsafe(
    `select ${line} as l from households where source = $2 and coalesce(tehsil, district, province, 'PK') like $3 order by id`,
    [agreement.linkKey.toString('hex'), share.source, prefixPattern(agreement.jurisdiction)],
  );
  for await (const rows of query.cursor(PAGE)) {
    let chunk = '';
    for (const r of rows) chunk += `${(r as unknown as { l: string }).l}\n`;
    yield chunk;
  }
}

const isPostgres = (tx: Tx) => {
  try {
    return rawOf(tx).kind === 'postgres';
  } catch {
    return false;
  }
};

/** The slice's bytes by the fastest way this database has. */
async function* slice(tx: Tx, fast: boolean, agreement: Pick<AgreementRow, 'jurisdiction' | 'linkKey'>, share: Share, format: ExportFormat): AsyncGenerator<string> {
  yield* fast ? sqlSlice(tx, agreement, share, format) : sliceText(tx, agreement, share, format);
}

/** What a manifest says of an export: the receiving side checks the bytes against it. */
export function manifestOf(e: ExportRow) {
  return {
    export: e.id,
    agreement: e.agreementId,
    source: e.source,
    recipient: e.recipient,
    format: e.format as ExportFormat,
    columns: ['linkage_key', ...e.fields],
    jurisdiction: e.jurisdiction,
    rows: e.rows,
    bytes: e.bytes,
    sha256: e.sha256,
    madeBy: e.madeBy,
    madeAt: e.madeAt.toISOString(),
    expiresAt: e.expiresAt.toISOString(),
  };
}

interface Made {
  rows: number;
  bytes: number;
  sha256: string;
}

/**
 * Writes a slice to `sink` (a file, kept chunks) while counting and hashing it. Rows are counted as lines
 * (less the CSV header).
 */
async function writeSlice(text: AsyncIterable<string>, format: ExportFormat, sink: (bytes: Buffer) => Promise<void>): Promise<Made> {
  const hash = createHash('sha256');
  let bytes = 0;
  let lines = 0;
  for await (const chunk of text) {
    const b = Buffer.from(chunk, 'utf8');
    hash.update(b);
    bytes += b.length;
    for (let i = b.indexOf(10); i !== -1; i = b.indexOf(10, i + 1)) lines++;
    await sink(b);
  }
  return { rows: format === 'csv' ? lines - 1 : lines, bytes, sha256: hash.digest('hex') };
}

function manifestValues(ctx: Ctx, a: AgreementRow, share: Share, format: ExportFormat, made: Made, kept: 'madad' | 'recipient') {
  return {
    agreementId: a.id,
    source: share.source,
    recipient: share.to,
    format,
    fields: EXPORT_FIELDS.filter((f) => share.fields.includes(f)),
    jurisdiction: a.jurisdiction,
    ...made,
    madeBy: `${ctx.actor.kind}:${ctx.actor.name}`,
    madeAt: ctx.now,
    expiresAt: new Date(Math.min(ctx.now.getTime() + EXPORT_HOURS * 3600_000, a.validTo.getTime())),
    kept,
  };
}

async function audited(t: TxCtx, a: AgreementRow, row: ExportRow): Promise<ExportRow> {
  await recordAudit(t.tx, t, {
    action: 'exchange.exported',
    subject: `export:${row.id}`,
    jurisdiction: a.jurisdiction,
    summary: { ...manifestOf(row), linkage: a.linkage, kept: row.kept },
  });
  return row;
}

/**
 * Makes an export under an agreement in force and keeps its bytes (in chunks) until it expires, for the
 * recipient to download: one transaction, so a failed export leaves nothing. Returns its manifest.
 */
export async function makeExport(ctx: Ctx, input: { agreementId: string; source?: string; format: ExportFormat }): Promise<ExportRow> {
  await purgeExpiredExports(ctx);
  const fast = !ctx.tx && (await hasPgcrypto(ctx.db));
  return withTransaction(ctx, async (t) => {
    const a = await agreementInForce(t.tx, t, input.agreementId, 'export under it');
    const share = shareOf(a, input.source);
    // The manifest row first (the chunks refer to it); its figures are written once the bytes are.
    const [first] = await t.tx.insert(exchangeExports).values(manifestValues(t, a, share, input.format, { rows: 0, bytes: 0, sha256: '' }, 'madad')).returning({ id: exchangeExports.id });
    const id = first!.id;
    let seq = 0;
    let pending: Buffer[] = [];
    let size = 0;
    const flush = async () => {
      if (size === 0) return;
      await t.tx.insert(exchangeExportChunks).values({ exportId: id, seq: seq++, bytes: Buffer.concat(pending) });
      pending = [];
      size = 0;
    };
    const made = await writeSlice(slice(t.tx, fast && isPostgres(t.tx), a, share, input.format), input.format, async (b) => {
      pending.push(b);
      size += b.length;
      if (size >= CHUNK_BYTES) await flush();
    });
    await flush();
    const [row] = await t.tx.update(exchangeExports).set(made).where(eq(exchangeExports.id, id)).returning();
    return audited(t, a, row!);
  });
}

/**
 * Writes an export straight to `sink` (the CLI: a file on the operator's disk), registering its manifest;
 * Madad keeps no bytes of it. In one transaction: a failure registers nothing.
 */
export async function exportTo(ctx: Ctx, input: { agreementId: string; source?: string; format: ExportFormat }, sink: (bytes: Buffer) => Promise<void>): Promise<ExportRow> {
  const fast = !ctx.tx && (await hasPgcrypto(ctx.db));
  return withTransaction(ctx, async (t) => {
    const a = await agreementInForce(t.tx, t, input.agreementId, 'export under it');
    const share = shareOf(a, input.source);
    const made = await writeSlice(slice(t.tx, fast && isPostgres(t.tx), a, share, input.format), input.format, sink);
    const [row] = await t.tx.insert(exchangeExports).values(manifestValues(t, a, share, input.format, made, 'recipient')).returning();
    return audited(t, a, row!);
  });
}

/** An export's manifest, for an officer of a party to its agreement (which need not be in force). */
export async function getExport(ctx: Ctx, id: string): Promise<ExportRow> {
  const [e] = await ctx.db.select().from(exchangeExports).where(eq(exchangeExports.id, id));
  if (!e || e.sha256 === '') throw new NotFoundError(`No export ${id}.`);
  // Visibility of the agreement decides (a party's officer, a federal auditor); out of scope reads as not found.
  await getAgreement(ctx, e.agreementId);
  return e;
}

/**
 * The bytes of a kept export, streamed from its chunks, while it has not expired and its agreement is in
 * force; every download is audited before the first byte.
 */
export async function downloadExport(ctx: Ctx, id: string): Promise<{ file: ExportRow; bytes: AsyncIterable<Buffer> }> {
  const file = await getExport(ctx, id);
  await agreementInForce(ctx.db, ctx, file.agreementId, 'download exports under it');
  if (file.kept !== 'madad') throw new ConflictError(`Export ${id} was written to a file by the command line; Madad keeps no copy of it.`);
  if (file.purgedAt || file.expiresAt <= ctx.now) throw new ConflictError(`Export ${id} expired at ${file.expiresAt.toISOString()}: its bytes are gone; make a new export.`);
  await recordAuditAlone(ctx, {
    action: 'exchange.export_downloaded',
    subject: `export:${id}`,
    jurisdiction: file.jurisdiction,
    summary: { export: id, agreement: file.agreementId, rows: file.rows, sha256: file.sha256, fields: file.fields },
  });
  const db = ctx.db;
  async function* bytes() {
    for (let seq = 0; ; seq++) {
      const [c] = await db.select({ bytes: exchangeExportChunks.bytes }).from(exchangeExportChunks).where(and(eq(exchangeExportChunks.exportId, id), eq(exchangeExportChunks.seq, seq)));
      if (!c) return;
      yield c.bytes;
    }
  }
  return { file, bytes: bytes() };
}

/** Deletes the kept bytes of every export past its expiry (audited); returns how many exports were purged. */
export async function purgeExpiredExports(ctx: Ctx): Promise<number> {
  return withTransaction(ctx, async (t) => {
    const due = await t.tx
      .select({ id: exchangeExports.id, jurisdiction: exchangeExports.jurisdiction })
      .from(exchangeExports)
      .where(and(eq(exchangeExports.kept, 'madad'), isNull(exchangeExports.purgedAt), lte(exchangeExports.expiresAt, t.now), sql`${exchangeExports.sha256} <> ''`))
      .orderBy(asc(exchangeExports.madeAt));
    for (const e of due) {
      await t.tx.delete(exchangeExportChunks).where(eq(exchangeExportChunks.exportId, e.id));
      await t.tx.update(exchangeExports).set({ purgedAt: t.now }).where(eq(exchangeExports.id, e.id));
      await recordAudit(t.tx, t, { action: 'exchange.export_purged', subject: `export:${e.id}`, jurisdiction: e.jurisdiction, summary: { export: e.id } });
    }
    return due.length;
  });
}
