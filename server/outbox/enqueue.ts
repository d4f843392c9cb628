import { sql } from 'drizzle-orm';
import { actorOf } from '../access/principal.ts';
import type { TxCtx } from '../context.ts';
import { outbox } from '../db/schema/index.ts';
import { TOPICS, type Payload, type Topic } from './topics.ts';

/** The channel drainers listen on; a NOTIFY is delivered at commit, to every process on the database. */
export const OUTBOX_CHANNEL = 'madad_outbox';

/**
 * Writes a change others react to, in the transaction of the change (a `TxCtx` by type): it is delivered
 * if and only if the change commits. The NOTIFY wakes a drainer at once, in this process or another;
 * without it the drain job's next run finds the row.
 */
export function enqueue<T extends Topic>(ctx: TxCtx, topic: T, payload: Payload<T>): Promise<void> {
  return enqueueAll(ctx, [{ topic, payload } as Change]);
}

export type Change = { [T in Topic]: { topic: T; payload: Payload<T> } }[Topic];

/**
 * Writes several changes of one transaction in one insert, in order (rows are drained in the order of
 * their ids, which a multi-row insert takes in the order listed), with one NOTIFY per topic: PostgreSQL
 * folds identical notifications of a transaction into one anyway.
 */
export async function enqueueAll(ctx: TxCtx, changes: readonly Change[]): Promise<void> {
  if (changes.length === 0) return;
  const actor = actorOf(ctx.actor);
  const rows = changes.map(({ topic, payload }) => ({
    topic,
    payload: TOPICS[topic].parse(payload),
    actor,
    requestId: ctx.requestId ?? null,
    createdAt: ctx.now,
    availableAt: ctx.now,
  }));
  // Sent together, in parts of a bounded size; they run in order, and a NOTIFY is delivered only at commit anyway.
  const inserts = [];
  for (let i = 0; i < rows.length; i += 100) inserts.push(ctx.tx.insert(outbox).values(rows.slice(i, i + 100)));
  await Promise.all([...inserts, ...[...new Set(changes.map((c) => c.topic))].map((topic) => ctx.tx.execute(sql`select pg_notify(${OUTBOX_CHANNEL}, ${topic})`))]);
}
