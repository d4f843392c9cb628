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
export async function enqueue<T extends Topic>(ctx: TxCtx, topic: T, payload: Payload<T>): Promise<void> {
  const checked = TOPICS[topic].parse(payload);
  await ctx.tx.insert(outbox).values({
    topic,
    payload: checked,
    actor: actorOf(ctx.actor),
    requestId: ctx.requestId ?? null,
    createdAt: ctx.now,
    availableAt: ctx.now,
  });
  await ctx.tx.execute(sql`select pg_notify(${OUTBOX_CHANNEL}, ${topic})`);
}
