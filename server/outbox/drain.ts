import { and, asc, eq, gt, inArray, isNotNull, isNull, or, sql } from 'drizzle-orm';
import { systemActor } from '../access/principal.ts';
import { recordAudit } from '../audit/service.ts';
import { withTransaction, type Ctx, type TxCtx } from '../context.ts';
import { queryRows, type Db } from '../db/client.ts';
import { outbox } from '../db/schema/index.ts';
import { TOPICS, type Payload, type Topic } from './topics.ts';

export type OutboxRow = typeof outbox.$inferSelect;

/** What one topic's reaction does, and which part of the system it acts as in the audit trail. */
export interface Reaction<T extends Topic> {
  actor: string;
  handle(ctx: TxCtx, payload: Payload<T>, row: OutboxRow): Promise<void>;
  /**
   * Small reactions (an evaluation) may be handled several rows in one transaction, committed together;
   * if one fails, none of them is kept and each is handled again alone. Heavy ones (a batch build) never.
   */
  together?: boolean;
}
export type Reactions = { [T in Topic]: Reaction<T> };

export interface DrainOptions {
  /** Who drains, for the lease: the process (`host:pid`) or the CLI. */
  owner: string;
  /** The drainer's clock; rows become due by it. */
  now?: () => Date;
  /**
   * How long a claimed row is ours before another drainer may claim it. Short on purpose: what keeps a row
   * from being handled twice is the row lock held while it is handled, so the lease only keeps drainers off
   * each other's batches, and a dead drainer's rows come back after it.
   */
  leaseMs?: number;
  /** Rows claimed at once. */
  batch?: number;
  /** After this many failed attempts a row is set aside as failed (kept, visible, retried by hand). */
  maxAttempts?: number;
  /** Stop after this many rows (a drain call never runs unbounded). */
  limit?: number;
}

export interface DrainReport {
  handled: number;
  failed: number;
  /** Rows set aside for good in this run. */
  givenUp: number;
  /** Rows another drainer took over while this one waited (lease run out). */
  lost: number;
}

export const DEFAULT_LEASE_MS = 10_000;
export const DEFAULT_MAX_ATTEMPTS = 10;
const MAX_BACKOFF_MS = 3600_000;

/** When a row that failed `attempts` times is tried again: 2 s doubled per attempt, at most an hour. */
export function retryAt(attempts: number, now: Date): Date {
  return new Date(now.getTime() + Math.min(2000 * 2 ** Math.max(0, attempts - 1), MAX_BACKOFF_MS));
}

/**
 * Handles the due rows in order of writing. Each row is claimed with a lease (`for update skip locked`, so
 * concurrent drainers take different rows), then handled in a transaction that locks the row again and
 * checks it is still ours and not done: the reaction's writes and the row's `done_at` commit together,
 * so a row is handled once even when a lease runs out and another process takes it over. A failure rolls
 * the reaction back and schedules a retry with backoff; after `maxAttempts` the row is kept as failed.
 */
export async function drainOutbox(db: Db, reactions: Reactions, options: DrainOptions): Promise<DrainReport> {
  const clock = options.now ?? (() => new Date());
  const leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS;
  const maxAttempts = options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
  const limit = options.limit ?? 10_000;
  const report: DrainReport = { handled: 0, failed: 0, givenUp: 0, lost: 0 };
  while (report.handled + report.failed + report.lost < limit) {
    const claimed = await claim(db, options.owner, clock(), leaseMs, Math.min(options.batch ?? 20, limit));
    if (claimed.length === 0) break;
    const alone = (id: number) => handleOne(db, reactions, id, options.owner, clock, maxAttempts);
    // In order of writing: runs of rows whose reactions may share a transaction, and the others one by one.
    for (let i = 0; i < claimed.length; ) {
      let j = i;
      while (j < claimed.length && reactions[claimed[j]!.topic as Topic]?.together) j++;
      const run = j > i ? claimed.slice(i, j) : [claimed[i]!];
      i = Math.max(j, i + 1);
      const handled = run.length > 1 ? await handleTogether(db, reactions, run.map((r) => r.id), options.owner, clock) : undefined;
      if (handled) {
        report.handled += handled.handled;
        report.lost += handled.lost;
        continue;
      }
      for (const { id } of run) {
        const outcome = await alone(id);
        report[outcome]++;
        if (outcome === 'givenUp') report.failed++;
      }
    }
  }
  return report;
}

async function claim(db: Db, owner: string, now: Date, leaseMs: number, batch: number): Promise<{ id: number; topic: string }[]> {
  const until = new Date(now.getTime() + leaseMs);
  const rows = await queryRows<{ id: number | string; topic: string }>(
    db,
    sql`update outbox set leased_by = ${owner}, leased_until = ${until.toISOString()}::timestamptz
        where id in (
          select id from outbox
          where done_at is null and failed_at is null and available_at <= ${now.toISOString()}::timestamptz
            and (leased_until is null or leased_until < ${now.toISOString()}::timestamptz)
          order by id limit ${batch}
          for update skip locked)
        returning id, topic`,
  );
  return rows.map((r) => ({ id: Number(r.id), topic: r.topic })).sort((a, b) => a.id - b.id);
}

/** The context a row's reaction runs in: the handling transaction, as the reaction's actor, at the change's time. */
function reactionCtx(tx: TxCtx['tx'], reaction: Reaction<Topic>, row: OutboxRow): TxCtx {
  // The reaction judges the change as of when it was made, whenever it is delivered.
  return { db: tx, tx, actor: systemActor(reaction.actor), now: row.createdAt, ...(row.requestId ? { requestId: row.requestId } : {}) };
}

/**
 * Handles several rows in one transaction: each is locked and checked still ours and not done, as
 * `handleOne` does, the reactions run in order and every row's `done_at` commits with all their writes.
 * Undefined when anything failed: then nothing was kept, and the caller handles each row alone, so a
 * failure is recorded against its own row only.
 */
async function handleTogether(db: Db, reactions: Reactions, ids: number[], owner: string, clock: () => Date): Promise<{ handled: number; lost: number } | undefined> {
  try {
    const handled = await db.transaction(async (tx) => {
      const rows = await tx
        .select()
        .from(outbox)
        .where(and(inArray(outbox.id, ids), eq(outbox.leasedBy, owner), isNull(outbox.doneAt), isNull(outbox.failedAt)))
        .orderBy(asc(outbox.id))
        .for('update');
      for (const row of rows) {
        const topic = row.topic as Topic;
        const reaction = reactions[topic] as Reaction<Topic> | undefined;
        if (!reaction) throw new Error(`no reaction for topic ${row.topic}`);
        await reaction.handle(reactionCtx(tx, reaction, row), TOPICS[topic].parse(row.payload), row);
      }
      if (rows.length) {
        await tx
          .update(outbox)
          .set({ doneAt: clock(), attempts: sql`${outbox.attempts} + 1`, leasedBy: null, leasedUntil: null })
          .where(inArray(outbox.id, rows.map((r) => r.id)));
      }
      return rows.length;
    });
    return { handled, lost: ids.length - handled };
  } catch {
    return undefined;
  }
}

async function handleOne(db: Db, reactions: Reactions, id: number, owner: string, clock: () => Date, maxAttempts: number): Promise<'handled' | 'failed' | 'givenUp' | 'lost'> {
  try {
    const ran = await db.transaction(async (tx) => {
      const [row] = await tx
        .select()
        .from(outbox)
        .where(and(eq(outbox.id, id), eq(outbox.leasedBy, owner), isNull(outbox.doneAt), isNull(outbox.failedAt)))
        .for('update');
      if (!row) return false;
      const topic = row.topic as Topic;
      const reaction = reactions[topic] as Reaction<Topic> | undefined;
      if (!reaction) throw new Error(`no reaction for topic ${row.topic}`);
      const payload = TOPICS[topic].parse(row.payload);
      await reaction.handle(reactionCtx(tx, reaction, row), payload, row);
      await tx
        .update(outbox)
        .set({ doneAt: clock(), attempts: row.attempts + 1, leasedBy: null, leasedUntil: null })
        .where(eq(outbox.id, id));
      return true;
    });
    return ran ? 'handled' : 'lost';
  } catch (err) {
    const now = clock();
    const message = (err instanceof Error ? err.message : String(err)).slice(0, 2000);
    const mine = and(eq(outbox.id, id), eq(outbox.leasedBy, owner));
    const [held] = await db.select({ attempts: outbox.attempts }).from(outbox).where(mine);
    if (!held) return 'lost';
    const attempts = held.attempts + 1;
    const givenUp = attempts >= maxAttempts;
    await db
      .update(outbox)
      .set({ attempts, lastError: message, lastErrorAt: now, availableAt: retryAt(attempts, now), failedAt: givenUp ? now : null, leasedBy: null, leasedUntil: null })
      .where(mine);
    return givenUp ? 'givenUp' : 'failed';
  }
}

export interface OutboxCounts {
  pending: number;
  /** Pending rows whose first attempt is overdue by more than a minute: the drain is not keeping up or not running. */
  late: number;
  retrying: number;
  failed: number;
  oldestPendingAt: string | null;
}

export interface OutboxStatus extends OutboxCounts {
  failures: { id: number; topic: string; attempts: number; lastError: string | null; failedAt: string | null; createdAt: string }[];
}

/**
 * How many rows wait, retry and were given up, for /readyz and the metrics (asked on every probe and
 * scrape). Delivered rows are kept for ever, so each count reads only through the partial indexes of the
 * rows not yet done (outbox_pending_idx, outbox_failed_idx), never the whole table.
 */
export async function outboxCounts(db: Db, now: Date): Promise<OutboxCounts> {
  const [counts] = await queryRows<{ pending: number; late: number; retrying: number; failed: number; oldest: string | Date | null }>(
    db,
    sql`with pending as (select attempts, available_at, created_at from outbox where done_at is null and failed_at is null)
        select count(*)::int as pending,
               count(*) filter (where attempts = 0 and available_at < ${new Date(now.getTime() - 60_000).toISOString()}::timestamptz)::int as late,
               count(*) filter (where attempts > 0)::int as retrying,
               min(created_at) as oldest,
               (select count(*)::int from outbox where failed_at is not null) as failed
        from pending`,
  );
  return {
    pending: counts?.pending ?? 0,
    late: counts?.late ?? 0,
    retrying: counts?.retrying ?? 0,
    failed: counts?.failed ?? 0,
    oldestPendingAt: counts?.oldest ? new Date(counts.oldest).toISOString() : null,
  };
}

/** The counts, and the rows being retried or given up with their last errors, for /api/system/outbox. */
export async function outboxStatus(db: Db, now: Date): Promise<OutboxStatus> {
  const failures = await db
    .select()
    .from(outbox)
    // Two arms, each the predicate of a partial index.
    .where(or(isNotNull(outbox.failedAt), and(isNull(outbox.doneAt), isNull(outbox.failedAt), gt(outbox.attempts, 0))))
    .orderBy(asc(outbox.id))
    .limit(100);
  return {
    ...(await outboxCounts(db, now)),
    failures: failures.map((r) => ({
      id: r.id,
      topic: r.topic,
      attempts: r.attempts,
      lastError: r.lastError,
      failedAt: r.failedAt?.toISOString() ?? null,
      createdAt: r.createdAt.toISOString(),
    })),
  };
}

/** Puts given-up rows back in the queue (once their cause is fixed), audited; returns how many. */
export function retryFailed(ctx: Ctx): Promise<number> {
  return withTransaction(ctx, async (t) => {
    const rows = await t.tx
      .update(outbox)
      .set({ failedAt: null, attempts: 0, availableAt: t.now })
      .where(and(isNotNull(outbox.failedAt), isNull(outbox.doneAt)))
      .returning({ id: outbox.id, topic: outbox.topic });
    if (rows.length) await recordAudit(t.tx, t, { action: 'outbox.retry', subject: 'outbox', jurisdiction: 'PK', summary: { retried: rows.map((r) => `${r.id}:${r.topic}`) } });
    return rows.length;
  });
}
