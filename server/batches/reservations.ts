import { sql } from 'drizzle-orm';
import type { TxCtx } from '../context.ts';
import { queryRows, type Db, type Tx } from '../db/client.ts';
import type { batches } from '../db/schema/index.ts';
import { enqueue } from '../outbox/enqueue.ts';

type BatchRow = typeof batches.$inferSelect;

/**
 * Makes writers of one incident and purpose's reservations take turns, until the transaction ends: builds,
 * rebuilds, cancels and stops. Each then sees what the one before committed, and none waits on a row
 * another holds while holding this lock (two frees of one household, or a free and a build, would otherwise
 * deadlock or lower a row twice).
 */
export async function lockReservations(tx: Tx, incident: string, purpose: string): Promise<void> {
  await tx.execute(sql`select pg_advisory_xact_lock(hashtext(${`reservations:${incident}:${purpose}`}))`);
}

/**
 * Takes a batch's live lines (all, or only `lineNos`) out of the reservations of its incident and purpose (a
 * cancel, a stop, a rebuild, a bank confirming it stopped a payment): a household held only by those lines is
 * free again; one another line or programme also holds keeps that part. Returns how many households were
 * freed or lowered.
 *
 * A batch of another programme not yet released may have netted some of these households against what these
 * lines held ("BISP gives 15,000: Sindh already gave 10,000"); with the holding gone it owes them more. Each
 * such batch gets a `batch.netting_changed` in the same transaction, unless `dependants` is false (a rebuild
 * that this very message caused: one round, never a ping-pong between two drafts).
 */
export async function freeReservations(t: TxCtx, batch: BatchRow, lineNos?: readonly number[], opts: { dependants: boolean } = { dependants: true }): Promise<number> {
  if (batch.kind !== 'payment' || lineNos?.length === 0) return 0;
  const tx = t.tx;
  await lockReservations(tx, batch.incident, batch.purpose);
  const lines = lineNos ? `{${lineNos.join(',')}}` : null;
  const some = lines ? sql`and line_no = any(${lines}::int[])` : sql``;
  if (opts.dependants) {
    for (const d of await nettedAgainst(tx, batch, some)) await enqueue(t, 'batch.netting_changed', { batchId: d, freedBy: batch.id });
  }
  const mine = sql`select dedup_key, sum(amount_pkr)::bigint as a from batch_lines where batch_id = ${batch.id}::uuid and state = 'live' ${some} group by dedup_key`;
  const held = lines
    ? sql`not (h->>'batchId' = ${batch.id}::text and (h->>'lineNo')::int = any(${lines}::int[]))`
    : sql`h->>'batchId' <> ${batch.id}::text`;
  const freed = await tx.execute(sql`
    delete from reservations r using (${mine}) m
    where r.incident = ${batch.incident} and r.purpose = ${batch.purpose} and r.dedup_key = m.dedup_key and r.reserved_pkr <= m.a`);
  const lowered = await tx.execute(sql`
    update reservations r set reserved_pkr = r.reserved_pkr - m.a,
      held_by = (select jsonb_agg(h) from jsonb_array_elements(r.held_by) h where ${held})
    from (${mine}) m
    where r.incident = ${batch.incident} and r.purpose = ${batch.purpose} and r.dedup_key = m.dedup_key`);
  return rowCount(freed) + rowCount(lowered);
}

/**
 * The other batches of the incident and purpose, not yet released, with a netted or dropped line (it has a
 * net text) for a household these live lines hold.
 */
async function nettedAgainst(tx: Tx, batch: BatchRow, some: ReturnType<typeof sql>): Promise<string[]> {
  const rows = await queryRows<{ id: string }>(
    tx as unknown as Db,
    sql`
    select b.id from batches b
    where b.incident = ${batch.incident} and b.purpose = ${batch.purpose} and b.id <> ${batch.id}::uuid
      and b.kind = 'payment' and b.status in ('draft', 'submitted', 'approved')
      and exists (
        select 1 from batch_lines c join (select dedup_key from batch_lines where batch_id = ${batch.id}::uuid and state = 'live' ${some}) m
          on m.dedup_key = c.dedup_key
        where c.batch_id = b.id and c.net_text is not null)
    order by b.id`,
  );
  return rows.map((r) => r.id);
}

/** Rows a statement touched, whichever driver ran it. */
export function rowCount(result: unknown): number {
  const r = result as { affectedRows?: number; count?: number; rowCount?: number };
  return Number(r.affectedRows ?? r.count ?? r.rowCount ?? 0);
}
