import { asc, eq } from 'drizzle-orm';
import pino from 'pino';
import { createApp, type AppDeps } from '../../server/app.ts';
import type { Db } from '../../server/db/client.ts';
import type { Database } from '../../server/db/client.ts';
import { reactions } from '../../server/jobs/reactions.ts';
import { batchDeps, type BatchDeps } from '../../server/batches/deps.ts';
import { RegistryCache } from '../../server/registry/registry-index.ts';
import { outbox } from '../../server/db/schema/index.ts';
import { drainOutbox, type DrainReport } from '../../server/outbox/drain.ts';
import type { Topic } from '../../server/outbox/topics.ts';

export const silentLog = pino({ level: 'silent' });

/** The dedup key of every test (a real HMAC key, the same for the app and the drainer, on both drivers). */
export const TEST_DEDUP_KEY = 'test-dedup-key-of-at-least-thirty-two-characters';

const depsByDb = new WeakMap<Db, BatchDeps>();
/**
 * The batch dependencies of a test database's drainer: one registry cache per database and the test key,
 * the key the test app is given too, so batches built by either agree.
 */
export function testBatchDeps(db: Db): BatchDeps {
  let deps = depsByDb.get(db);
  if (!deps) {
    deps = batchDeps({ driver: 'postgres', location: 'test' }, new RegistryCache({ db }), { MADAD_DEDUP_KEY: TEST_DEDUP_KEY });
    depsByDb.set(db, deps);
  }
  return deps;
}

/** The real app over a real database, as the server builds it. */
export function testApp(database: Database, options: { bodyLimit?: number; clock?: () => Date; env?: Partial<AppDeps['env']> } = {}) {
  return createApp({
    database,
    env: { MADAD_BODY_LIMIT: options.bodyLimit ?? 1024 * 1024, MADAD_DEDUP_KEY: TEST_DEDUP_KEY, ...options.env },
    log: silentLog,
    clock: options.clock,
  });
}

/**
 * Delivers what the outbox holds, as a server's drainer does (same reactions, same code), so a test sees the
 * evaluations that follow its requests. `now` is the drainer's clock: a row is due once the clock passes the
 * time it was written, so a test whose clock runs ahead of the real one passes its own.
 */
export function drain(db: Db, now?: Date): Promise<DrainReport> {
  return drainOutbox(db, reactions(testBatchDeps(db)), { owner: `test:${process.pid}`, ...(now ? { now: () => now } : {}) });
}

/** The changes written to the outbox for `topic`, oldest first, with whether they were delivered. */
export async function announced(db: Db, topic: Topic): Promise<(Record<string, string> & { delivered: boolean })[]> {
  const rows = await db.select().from(outbox).where(eq(outbox.topic, topic)).orderBy(asc(outbox.id));
  return rows.map((r) => Object.assign({}, r.payload as Record<string, string>, { delivered: r.doneAt !== null }));
}
