import type { Readable } from 'node:stream';
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
  seconds: number;
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
  const report: ImportReport = { rows: 0, imported: 0, added: 0, updated: 0, unchanged: 0, repeated: 0, refused: 0, problems: [], unlocated: 0, seconds: 0 };
  const finish = () => ({ ...report, imported: report.added + report.updated + report.unchanged + report.repeated, seconds: (performance.now() - started) / 1000 });

  const pieces = cutRecords(input);
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
  const writer = await batchWriter(database);
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
    await bumpRegistryVersion(database);
  } finally {
    await writing.catch(() => undefined);
    await Promise.all([writer.close(), pool.close()]);
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
  close(): Promise<void>;
}

/** The two things a writer needs from a driver: COPY text into a table, and run a statement. */
interface CopySession {
  copy(table: string, data: Buffer<ArrayBuffer>): Promise<void>;
  query<T>(statement: string): Promise<T[]>;
  release(): Promise<void>;
}

const UNIQUE_VIOLATION = '23505';

/**
 * Writes batches of COPY text. A batch of new households is copied straight into `households` (measured
 * here: 130,000 rows/s with its indexes, against 55,000 through a staging table and
 * `insert … on conflict`). When a batch holds a household already stored (or one twice), that COPY fails
 * whole on the unique index and the batch goes through the staging table and one merge instead; the
 * writer stays on that path until a merged batch turns out to be all new again.
 */
async function batchWriter(database: Database): Promise<BatchWriter> {
  const session = await copySession(database);
  await session.query(`create temp table if not exists households_staging as select ${COLUMNS} from households with no data`);
  await session.query('alter table households_staging add column if not exists ord bigint generated always as identity');
  let direct = true;
  return {
    async write({ data, rows }) {
      if (direct) {
        try {
          await session.copy(`households (${COLUMNS})`, data);
          return { added: rows, updated: 0, repeated: 0 };
        } catch (error) {
          if ((error as { code?: string }).code !== UNIQUE_VIOLATION) throw error;
        }
      }
      await session.query('truncate households_staging');
      await session.copy(`households_staging (${COLUMNS})`, data);
      const [written] = await session.query<Written>(MERGE);
      direct = written!.added === rows;
      return written!;
    },
    async close() {
      await session.query('drop table if exists households_staging');
      await session.release();
    },
  };
}

async function copySession(database: Database): Promise<CopySession> {
  if (database.sql) {
    const conn = await database.sql.reserve();
    // An import can be run again with the same result, so it need not wait for each batch to reach disk.
    await conn.unsafe('set synchronous_commit = off');
    return {
      async copy(table, data) {
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
      },
      query: async <T>(statement: string) => (await conn.unsafe(statement)) as unknown as T[],
      release: async () => conn.release(),
    };
  }
  const pglite = database.pglite!;
  return {
    async copy(table, data) {
      await pglite.query(`copy ${table} from '/dev/blob'`, [], { blob: new Blob([data]) });
    },
    query: async <T>(statement: string) => (await pglite.query<T>(statement)).rows,
    release: async () => {},
  };
}

