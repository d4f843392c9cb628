import { userInfo } from 'node:os';
import { systemActor, type Actor } from '../access/principal.ts';
import type { Ctx } from '../context.ts';
import { openDatabase, type Database } from '../db/client.ts';
import { parseEnv } from '../env.ts';
import { RegistryCache } from '../registry/registry-index.ts';

/**
 * Whoever runs the CLI can reach the database directly, so the CLI acts as the system with federal admin
 * rights; the audit trail names the operating-system user (`system:cli:<user>`).
 */
export function cliActor(): Actor {
  let name = 'unknown';
  try {
    name = userInfo().username;
  } catch {
    // no passwd entry (some containers): keep 'unknown'
  }
  return systemActor(`cli:${name}`);
}

/** Opens the configured database (migrated), runs `fn`, closes it whatever happens. */
export async function withDatabase<T>(fn: (database: Database) => Promise<T>): Promise<T> {
  const env = parseEnv();
  const database = await openDatabase({ url: env.DATABASE_URL, dataDir: env.MADAD_DATA_DIR, max: 2 });
  try {
    await database.migrate();
    return await fn(database);
  } finally {
    await database.close();
  }
}

/** The registry index as the CLI reads it: from the server's snapshot in the data folder when it is current. */
export function cliRegistry(database: Database): RegistryCache {
  return new RegistryCache(database, { snapshotDir: parseEnv().MADAD_DATA_DIR, readOnly: true });
}

export function cliCtx(database: Database): Ctx {
  return { db: database.db, actor: cliActor(), now: new Date(), requestId: `cli-${crypto.randomUUID()}` };
}

/** Prints rows as an aligned plain-text table. */
export function printTable(rows: Record<string, unknown>[], columns: string[]): void {
  const cell = (v: unknown) => (v instanceof Date ? v.toISOString() : v === null || v === undefined ? '' : Array.isArray(v) ? v.join(',') : String(v));
  const widths = columns.map((c) => Math.max(c.length, ...rows.map((r) => cell(r[c]).length)));
  const line = (values: string[]) => values.map((v, i) => v.padEnd(widths[i]!)).join('  ').trimEnd();
  process.stdout.write(`${line(columns)}\n${rows.map((r) => line(columns.map((c) => cell(r[c])))).join('\n')}${rows.length ? '\n' : ''}`);
}

/** Reads all of standard input (for secrets that must not appear in the process list). */
export async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
