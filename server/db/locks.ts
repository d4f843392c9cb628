import { sql } from 'drizzle-orm';
import { queryRows, type Database } from './client.ts';

/**
 * Runs `fn` only if this process gets the Postgres advisory lock named `key`; returns whether it ran.
 * Several server replicas may schedule the same job: only the one holding the lock runs it.
 * Session locks need one connection from lock to unlock, so postgres.js reserves one.
 */
export async function withAdvisoryLock(database: Database, key: string, fn: () => Promise<void>): Promise<boolean> {
  if (database.sql) {
    const conn = await database.sql.reserve();
    try {
      const [row] = await conn<{ locked: boolean }[]>`select pg_try_advisory_lock(hashtext(${key})) as locked`;
      if (!row?.locked) return false;
      try {
        await fn();
      } finally {
        await conn`select pg_advisory_unlock(hashtext(${key}))`;
      }
      return true;
    } finally {
      conn.release();
    }
  }
  // A PGlite data folder is open in one process only, so there are no replicas to exclude; the lock is
  // taken anyway so the same code path runs on both drivers.
  const [row] = await queryRows<{ locked: boolean }>(database.db, sql`select pg_try_advisory_lock(hashtext(${key})) as locked`);
  if (!row?.locked) return false;
  try {
    await fn();
  } finally {
    await queryRows(database.db, sql`select pg_advisory_unlock(hashtext(${key}))`);
  }
  return true;
}
