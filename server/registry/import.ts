import { createHash } from 'node:crypto';
import { Transform, type Readable } from 'node:stream';
import type { PGlite, Transaction } from '@electric-sql/pglite';
import type postgres from 'postgres';
import type { Database } from '../db/client.ts';
import { COPY_COLUMNS, type ConvertedPiece } from './convert.ts';
import { cutRecords, splitFirstRecord } from './csv.ts';
import { locatorAreas } from './locator.ts';
import { ConverterPool, defaultConverters, InThreadConverter, type Converter } from './pool.ts';
import { bumpRegistryVersion } from './registry-index.ts';
import { readHeader, REGISTRY_COLUMNS, type RowProblem } from './row.ts';

/** Pieces (~256 KB each) sent ahead per converter, so workers keep busy while a batch is written. */
const PIECES_AHEAD = 8;

export interface ImportReport {
  rows: number;
  /** Good rows: added, updated, found unchanged or superseded (their sum). */
  imported: number;
  added: number;
  updated: number;
  /** Good rows identical to the household already stored (not rewritten). */
  unchanged: number;
  /** Good rows superseded by a later row of the same household in the file. */
  repeated: number;
  refused: number;
  /** The first problems found (all are counted in `refused`). */
  problems: RowProblem[];
  unlocated: number;
  /** The registry was empty: the rows were loaded in one transaction and its indexes built after them. */
  firstLoad: boolean;
  seconds: number;
  /** sha256 of the bytes read, and how many: what the audit trail records of the file. */
  sha256: string;
  bytes: number;
}

export interface ImportOptions {
  batchSize?: number;
  /** Called after each batch with the rows read so far. */
  onProgress?: (rowsRead: number) => void;
  maxProblems?: number;
  /** Worker threads converting rows (default: one per core). */
  converters?: number;
}

/**
 * Streams a registry CSV into the households table: every row is checked, good rows land (upserted by
 * source and household id) with their H3 cell and area codes, refused rows are reported with row, column
 * and reason. The file is never held in memory whole: it is cut into pieces of whole records, worker
 * threads turn each piece into COPY text, and the text is written a batch at a time, in file order.
 */
export async function importRegistry(database: Database, input: Readable, options: ImportOptions = {}): Promise<ImportReport> {
  const started = performance.now();
  const batchSize = options.batchSize ?? 25_000;
  const maxProblems = options.maxProblems ?? 1000;
  const report: ImportReport = { rows: 0, imported: 0, added: 0, updated: 0, unchanged: 0, repeated: 0, refused: 0, problems: [], unlocated: 0, firstLoad: false, seconds: 0, sha256: '', bytes: 0 };
  const hash = createHash('sha256');
  const hashing = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      hash.update(chunk);
      report.bytes += chunk.length;
      done(null, chunk);
    },
  });
  input.once('error', (err) => hashing.destroy(err));
  input.pipe(hashing);
  const finish = () => ({
    ...report,
    imported: report.added + report.updated + report.unchanged + report.repeated,
    seconds: (performance.now() - started) / 1000,
    sha256: hash.copy().digest('hex'),
  });

  const pieces = cutRecords(hashing);
  const first = await pieces.next();
  if (first.done) return finish();
  const header = splitFirstRecord(first.value.bytes);
  const columns = readHeader(header.record?.fields ?? []);
  if (!columns.ok) {
    report.problems.push({ row: 1, column: 'header', reason: `missing columns: ${columns.missing.join(', ')}; expected ${REGISTRY_COLUMNS.join(',')}` });
    report.refused = -1;
    return finish();
  }

  const setup = { areas: await locatorAreas(database.db), positions: columns.positions, maxProblems };
  const second = await pieces.next();
  const pool: Converter = second.done ? new InThreadConverter(setup) : ConverterPool.start(options.converters ?? defaultConverters(), setup);

  const convertAndWrite = async (writer: BatchWriter) => {
    let batch: Uint8Array[] = [];
    let batchRows = 0;
    // One batch is written while the next is converted: the database and the workers work side by side.
    let writing: Promise<void> = Promise.resolve();
    const flush = async () => {
      if (batchRows === 0) return;
      const data = Buffer.concat(batch);
      const rows = batchRows;
      const read = report.rows;
      batch = [];
      batchRows = 0;
      await writing;
      writing = writer.write({ data, rows }).then((written) => {
        report.added += written.added;
        report.updated += written.updated;
        report.repeated += written.repeated;
        report.unchanged += rows - written.added - written.updated - written.repeated;
        options.onProgress?.(read);
      });
      // Handled here so a failed write waits, without crashing the process, for the loop to meet it.
      writing.catch(() => undefined);
    };
    const take = async (piece: ConvertedPiece) => {
      report.rows += piece.rows;
      report.refused += piece.refused;
      report.unlocated += piece.unlocated;
      for (const p of piece.problems) if (report.problems.length < maxProblems) report.problems.push(p);
      if (piece.good > 0) {
        batch.push(piece.copy);
        batchRows += piece.good;
      }
      if (batchRows >= batchSize) await flush();
    };
    try {
      // Pieces in conversion, oldest first: results are taken in file order.
      const converting: Promise<ConvertedPiece>[] = [];
      let line = 1 + header.lines;
      const send = (bytes: Uint8Array, lines: number) => {
        converting.push(pool.convert(bytes, line));
        line += lines;
      };
      send(header.rest, first.value.lines - header.lines);
      if (!second.done) send(second.value.bytes, second.value.lines);
      for await (const piece of pieces) {
        send(piece.bytes, piece.lines);
        if (converting.length >= PIECES_AHEAD * pool.size) await take(await converting.shift()!);
      }
      while (converting.length) await take(await converting.shift()!);
      await flush();
      await writing;
    } finally {
      // No batch may still be in flight when the writer's transaction or connection ends.
      await writing.catch(() => undefined);
    }
  };

  try {
    const load = await writeBatches(database, convertAndWrite).catch((error: unknown) => {
      const why = error instanceof Error ? error.message : String(error);
      throw new Error(`The registry import stopped after ${report.rows} rows read; nothing was applied, the registry is as it was: ${why}`, { cause: error });
    });
    report.firstLoad = load.firstLoad;
    report.added -= load.superseded;
    report.repeated += load.superseded;
    await bumpRegistryVersion(database);
  } finally {
    await pool.close();
  }
  return finish();
}

const COLUMNS = COPY_COLUMNS.join(', ');
/** Everything but the key: what an update may change. */
const VALUES = COPY_COLUMNS.slice(2);

/**
 * Rows whose key is already stored are updated only when something differs, so re-importing an unchanged
 * registry writes nothing (an update rewrites the row and every index entry).
 */
const MERGE = `
  with staged as (
    select distinct on (source, household_id) ${COLUMNS} from households_staging order by source, household_id, ord desc
  ), written as (
    insert into households (${COLUMNS}) select ${COLUMNS} from staged
    on conflict (source, household_id) do update set ${VALUES.map((c) => `${c} = excluded.${c}`).join(', ')}, updated_at = now()
    where (${VALUES.map((c) => `households.${c}`).join(', ')}) is distinct from (${VALUES.map((c) => `excluded.${c}`).join(', ')})
    returning xmax = 0 as added
  )
  select count(*) filter (where added)::int as added, count(*) filter (where not added)::int as updated,
    ((select count(*) from households_staging) - (select count(*) from staged))::int as repeated
  from written`;

interface Batch {
  /** The rows in COPY text format. */
  data: Buffer<ArrayBuffer>;
  rows: number;
}

interface Written {
  added: number;
  updated: number;
  /** Rows of the batch whose household comes again later in it (the later row is the one kept). */
  repeated: number;
}

interface BatchWriter {
  write(batch: Batch): Promise<Written>;
}

/** The two things a writer needs from a driver: COPY text into a table, and run a statement. */
interface CopySession {
  copy(table: string, data: Buffer<ArrayBuffer>): Promise<void>;
  query<T>(statement: string): Promise<T[]>;
  /** Runs a statement that may fail without failing the transaction around it; returns its error, if any. */
  attempt(statement: string): Promise<unknown>;
  /** COPY that may fail without failing the transaction around it; returns its error, if any. */
  attemptCopy(table: string, data: Buffer<ArrayBuffer>): Promise<unknown>;
}

interface Loaded {
  firstLoad: boolean;
  /** Rows a first load removed because a later row of the same household followed them. */
  superseded: number;
}

const UNIQUE_VIOLATION = '23505';

/**
 * Gives `use` the writer for this import and returns once its batches are all stored, in one transaction:
 * an import is applied whole or not at all, so a failure (a file that breaks off, a refused batch, a killed
 * process) leaves the registry as it was. The table is locked against other writers from the first look to
 * the commit (readers go on reading the registry as it was, on PostgreSQL; PGlite serves nothing else
 * meanwhile, having one connection).
 *
 * Into an empty registry (a first load, such as NSER's ~35 M households), the rows are copied with the
 * table's secondary indexes dropped, and the indexes are built after them, as PostgreSQL's "Populating a
 * Database" advises: 10 M households whose ids do not follow the file's order took 126 s copied into the
 * indexed table (each row's entries on random pages of indexes larger than shared_buffers) and 73 s copied
 * bare with both indexes built after. There is nothing to read yet, so the table is locked against readers
 * too. Otherwise the merging writer writes each batch.
 */
async function writeBatches(database: Database, use: (writer: BatchWriter) => Promise<void>): Promise<Loaded> {
  return inTransaction(database, async (session): Promise<Loaded> => {
    // Taken before looking, so no other import can add households between the look and the load.
    await session.query('lock table households in share row exclusive mode');
    const [registry] = await session.query<{ empty: boolean }>('select not exists (select 1 from households) as empty');
    if (!registry!.empty) {
      await use(await mergingWriter(session));
      return { firstLoad: false, superseded: 0 };
    }
    const indexes = await session.query<SecondaryIndex>(SECONDARY_INDEXES);
    for (const index of indexes) await session.query(`drop index ${index.name}`);
    await use({
      async write({ data, rows }) {
        await session.copy(`households (${COLUMNS})`, data);
        return { added: rows, updated: 0, repeated: 0 };
      },
    });
    const superseded = await buildIndexes(session, indexes);
    await session.query('analyze households');
    return { firstLoad: true, superseded };
  });
}

interface SecondaryIndex {
  name: string;
  definition: string;
  unique: boolean;
}

/** The indexes of households other than its primary key, each with the statement that makes it. */
const SECONDARY_INDEXES = `
  select quote_ident(c.relname) as name, pg_get_indexdef(i.indexrelid) as definition, i.indisunique as unique
  from pg_index i join pg_class c on c.oid = i.indexrelid
  where i.indrelid = 'households'::regclass and not i.indisprimary
  order by i.indisunique desc, c.relname`;

/** Rows of a household that a later row of the same household follows (the table's ids grow in file order). */
const SUPERSEDED = `
  with gone as (
    delete from households h using households later
    where later.source = h.source and later.household_id = h.household_id and later.id > h.id
    returning 1
  )
  select count(*)::int as superseded from gone`;

/**
 * Builds the indexes dropped for a first load. A household given twice in the file stops the unique index:
 * then its earlier rows are removed (the later row is the one kept, as in a merge) and the index is built
 * again. Returns how many rows were removed.
 */
async function buildIndexes(session: CopySession, indexes: SecondaryIndex[]): Promise<number> {
  let superseded = 0;
  for (const index of indexes) {
    const failure = await session.attempt(index.definition);
    if (failure === undefined) continue;
    if (!index.unique || (failure as { code?: string }).code !== UNIQUE_VIOLATION) throw failure;
    const [removed] = await session.query<{ superseded: number }>(SUPERSEDED);
    superseded += removed!.superseded;
    await session.query(index.definition);
  }
  return superseded;
}

/**
 * Writes batches of COPY text into a registry that holds households. A batch of new households is copied
 * straight into `households` (measured here: 130,000 rows/s with its indexes, against 55,000 through a
 * staging table and `insert … on conflict`). When a batch holds a household already stored (or one twice),
 * that COPY fails whole on the unique index and the batch goes through the staging table and one merge
 * instead; the writer stays on that path until a merged batch turns out to be all new again.
 */
async function mergingWriter(session: CopySession): Promise<BatchWriter> {
  await session.query(`create temp table households_staging on commit drop as select ${COLUMNS} from households with no data`);
  await session.query('alter table households_staging add column ord bigint generated always as identity');
  let direct = true;
  return {
    async write({ data, rows }) {
      if (direct) {
        // In its own savepoint, so that a refused COPY undoes only itself and the import goes on.
        const refused = await session.attemptCopy(`households (${COLUMNS})`, data);
        if (refused === undefined) return { added: rows, updated: 0, repeated: 0 };
        if ((refused as { code?: string }).code !== UNIQUE_VIOLATION) throw refused;
      }
      await session.query('truncate households_staging');
      await session.copy(`households_staging (${COLUMNS})`, data);
      const [written] = await session.query<Written>(MERGE);
      direct = written!.added === rows;
      return written!;
    },
  };
}

/** Runs `fn` in one transaction on one connection (PGlite's holds the embedded database meanwhile). */
async function inTransaction<T>(database: Database, fn: (session: CopySession) => Promise<T>): Promise<T> {
  if (database.sql) return (await database.sql.begin((tx) => fn(postgresSession(tx)))) as T;
  return database.pglite!.transaction((tx) => fn(pgliteSession(tx)));
}

function postgresSession(conn: postgres.Sql | postgres.TransactionSql): CopySession {
  const copy = async (table: string, data: Buffer<ArrayBuffer>) => {
    const query = conn.unsafe(`copy ${table} from stdin`) as postgres.PendingQuery<postgres.Row[]> & { reject: (error: unknown) => void };
    // postgres.js 3.4 never settles the stream of a COPY the server refuses once the data is sent, and
    // passes the error only to the (already settled) query (porsager/postgres#1173): take it there.
    const refused = new Promise<never>((_, fail) => {
      const reject = query.reject;
      query.reject = (error: unknown) => (fail(error), reject(error));
    });
    refused.catch(() => undefined);
    const stream = await query.writable();
    // One write per batch: per-line writes cost more than building the text.
    const written = new Promise<void>((resolve, reject) => {
      stream.on('error', reject);
      stream.end(data, resolve);
    });
    await Promise.race([written, refused]);
  };
  return {
    copy,
    query: async <T>(statement: string) => (await conn.unsafe(statement)) as unknown as T[],
    // postgres.js fails a whole transaction when any query in it fails, unless it ran in its savepoint.
    attempt: (statement) =>
      ('savepoint' in conn ? conn.savepoint((point) => point.unsafe(statement)) : conn.unsafe(statement)).then(
        () => undefined,
        (error: unknown) => error,
      ),
    attemptCopy: (table, data) =>
      ('savepoint' in conn ? conn.savepoint((point) => postgresSession(point).copy(table, data)) : copy(table, data)).then(
        () => undefined,
        (error: unknown) => error,
      ),
  };
}

function pgliteSession(pglite: PGlite | Transaction): CopySession {
  const inSavepoint = async (run: () => Promise<unknown>) => {
    await pglite.query('savepoint attempt');
    try {
      await run();
      await pglite.query('release savepoint attempt');
      return undefined;
    } catch (error) {
      await pglite.query('rollback to savepoint attempt');
      await pglite.query('release savepoint attempt');
      return error;
    }
  };
  const copy = async (table: string, data: Buffer<ArrayBuffer>) => {
    await pglite.query(`copy ${table} from '/dev/blob'`, [], { blob: new Blob([data]) });
  };
  return {
    copy,
    query: async <T>(statement: string) => (await pglite.query<T>(statement)).rows,
    attempt: (statement) => inSavepoint(() => pglite.query(statement)),
    attemptCopy: (table, data) => inSavepoint(() => copy(table, data)),
  };
}
