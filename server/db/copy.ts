import type { Transaction } from '@electric-sql/pglite';
import type { Writable } from 'node:stream';
import type postgres from 'postgres';
import type { Tx } from './client.ts';

/** Bytes of COPY text handed to the connection and not yet sent, before waiting for it. */
const IN_FLIGHT = 16 << 20;
/** On PGlite, COPY text is gathered up to this size and handed over as one blob. */
const PGLITE_PIECE = 4 << 20;

/**
 * The driver connection under a drizzle transaction, for what drizzle cannot say: COPY. Bulk writers (a
 * batch build, a bank's answer) run inside their caller's transaction, so their COPY must go through it.
 */
export type Raw = { kind: 'postgres'; sql: postgres.TransactionSql } | { kind: 'pglite'; pglite: Transaction };
export function rawOf(tx: Tx): Raw {
  const client = (tx as unknown as { session?: { client?: Record<string, unknown> } }).session?.client;
  if (client && typeof client.unsafe === 'function') return { kind: 'postgres', sql: client as unknown as postgres.TransactionSql };
  if (client && typeof client.query === 'function' && typeof client.exec === 'function') return { kind: 'pglite', pglite: client as unknown as Transaction };
  throw new Error('copy: the transaction gives no driver connection to COPY through');
}

/**
 * Runs a COPY statement and settles when the server has answered. postgres.js 3.4 never settles the stream
 * of a COPY the server refuses (porsager/postgres#1173) and passes the error only to the query: taken there.
 */
function copyQuery(raw: postgres.TransactionSql, statement: string) {
  const query = raw.unsafe(statement) as postgres.PendingQuery<postgres.Row[]> & { reject: (error: unknown) => void };
  const refused = new Promise<never>((_, fail) => {
    const reject = query.reject;
    query.reject = (error: unknown) => (fail(error), reject(error));
  });
  refused.catch(() => undefined);
  return { query, refused };
}

/**
 * A COPY into `target` (`table (columns)`) written a piece at a time, from a loop that may itself wait (a
 * stream being read). `write` returns when the connection has room for more; `end` when the server has
 * taken everything. On PGlite the text is gathered and copied a few MB at a time.
 */
export class CopyWriter {
  private inFlight = 0;
  private wake = () => {};
  private gathered: Buffer[] = [];
  private gatheredBytes = 0;

  private constructor(
    private readonly raw: Raw,
    private readonly target: string,
    private readonly stream: Writable | null,
    private readonly failures: Promise<never>,
    private readonly refused: Promise<never>,
  ) {}

  static async open(raw: Raw, target: string): Promise<CopyWriter> {
    if (raw.kind === 'pglite') return new CopyWriter(raw, target, null, new Promise<never>(() => {}), new Promise<never>(() => {}));
    const { query, refused } = copyQuery(raw.sql, `copy ${target} from stdin`);
    const stream = await Promise.race([query.writable(), refused]);
    const failed = new Promise<never>((_, fail) => stream.once('error', fail));
    failed.catch(() => undefined);
    const failures = Promise.race([refused, failed]);
    failures.catch(() => undefined);
    return new CopyWriter(raw, target, stream, failures, refused);
  }

  /**
   * Gives up a COPY half-written (its input was refused): the server is told (CopyFail) and answered before
   * the caller's transaction rolls back, so the connection is left in order. PGlite copied nothing yet.
   */
  async abort(reason: unknown): Promise<void> {
    this.gathered = [];
    this.gatheredBytes = 0;
    if (!this.stream || this.stream.destroyed) return;
    this.stream.destroy(reason instanceof Error ? reason : new Error(String(reason)));
    await this.refused.catch(() => undefined);
  }

  /** Hands over a piece of COPY text; `done` is told when the piece may be written into again. */
  async write(piece: Buffer, done: (piece: Buffer) => void = () => {}): Promise<void> {
    if (piece.length === 0) return done(piece);
    if (!this.stream) {
      this.gathered.push(Buffer.from(piece));
      this.gatheredBytes += piece.length;
      done(piece);
      if (this.gatheredBytes >= PGLITE_PIECE) await this.flushPglite();
      return;
    }
    this.inFlight += piece.length;
    this.stream.write(piece, () => {
      this.inFlight -= piece.length;
      done(piece);
      this.wake();
    });
    while (this.inFlight > IN_FLIGHT) await Promise.race([new Promise<void>((resolve) => (this.wake = resolve)), this.failures]);
  }

  async end(): Promise<void> {
    if (!this.stream) return this.flushPglite();
    const stream = this.stream;
    await Promise.race([new Promise<void>((resolve) => stream.end(resolve)), this.failures]);
  }

  private async flushPglite(): Promise<void> {
    if (this.gatheredBytes === 0 || this.raw.kind !== 'pglite') return;
    const blob = new Blob(this.gathered.map((b) => new Uint8Array(b)));
    this.gathered = [];
    this.gatheredBytes = 0;
    await this.raw.pglite.query(`copy ${this.target} from '/dev/blob'`, [], { blob });
  }
}

/** Writes COPY text into `target` (`table (columns)`), a piece at a time; on PGlite, one COPY per piece. */
export async function copyIn(raw: Raw, target: string, pieces: Iterable<Buffer>, reuse: (piece: Buffer) => void): Promise<void> {
  if (raw.kind === 'pglite') {
    for (const piece of pieces) if (piece.length > 0) await raw.pglite.query(`copy ${target} from '/dev/blob'`, [], { blob: new Blob([new Uint8Array(piece)]) });
    return;
  }
  const writer = await CopyWriter.open(raw, target);
  for (const piece of pieces) await writer.write(piece, reuse);
  await writer.end();
}

const COPY_ESCAPES = /[\\\t\n\r]/g;
const COPY_IN: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' };

/** One field of COPY text (`\N` for null). */
export function copyField(value: string | number | null): string {
  if (value === null) return '\\N';
  return typeof value === 'number' ? String(value) : value.replace(COPY_ESCAPES, (c) => COPY_IN[c]!);
}
