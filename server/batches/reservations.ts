import { sql } from 'drizzle-orm';
import type { Tx } from '../db/client.ts';
import type { batches } from '../db/schema/index.ts';

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
 */
export async function freeReservations(tx: Tx, batch: BatchRow, lineNos?: readonly number[]): Promise<number> {
  if (batch.kind !== 'payment' || lineNos?.length === 0) return 0;
  await lockReservations(tx, batch.incident, batch.purpose);
  const lines = lineNos ? `{${lineNos.join(',')}}` : null;
  const some = lines ? sql`and line_no = any(${lines}::int[])` : sql``;
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

/** Rows a statement touched, whichever driver ran it. */
export function rowCount(result: unknown): number {
  const r = result as { affectedRows?: number; count?: number; rowCount?: number };
  return Number(r.affectedRows ?? r.count ?? r.rowCount ?? 0);
}
