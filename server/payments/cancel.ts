import { eq, sql } from 'drizzle-orm';
import { recordAudit } from '../audit/service.ts';
import { freeReservations, rowCount } from '../batches/reservations.ts';
import { withTransaction, type Ctx, type TxCtx } from '../context.ts';
import { queryRows, type Db, type Tx } from '../db/client.ts';
import { batches } from '../db/schema/index.ts';
import { payersOf, registerFile, type PaymentFileRow } from './files.ts';
import { CHANNELS } from './layouts.ts';
import { messagesFor } from './messages.ts';

type BatchRow = typeof batches.$inferSelect;

/**
 * Takes lines of a batch out of the reservations and marks them cancelled: the household may be paid again
 * for the incident (by this programme or another), and the line's money is no longer committed or paid.
 * Only for lines whose money has certainly not moved: never exported, or stopped by the bank.
 */
export async function cancelLines(t: TxCtx, batch: BatchRow, lineNos: readonly number[]): Promise<number> {
  if (lineNos.length === 0) return 0;
  await freeReservations(t, batch, lineNos);
  return rowCount(
    await t.tx.execute(sql`update batch_lines set state = 'cancelled' where batch_id = ${batch.id}::uuid and line_no = any(${`{${lineNos.join(',')}}`}::int[]) and state = 'live'`),
  );
}

export interface PaymentsStopped {
  /** Lines stopped at once: no instruction yet, one not yet in a file, or one the bank failed or nobody claimed. */
  cancelled: number;
  /** Instructions already in a file: the bank is asked to stop them (a cancellation file per channel). */
  cancelRequested: number;
  files: PaymentFileRow[];
}

/**
 * What stopping an activation does to a released batch (DOMAIN: "cancel what is not yet paid"): lines not
 * yet exported are cancelled at once and their reservations freed; instructions already in a file become
 * `cancel_requested` and go into a cancellation file per channel for the bank. Only the bank's answer that
 * they were stopped (reconciling that file) frees those households; one the bank already paid stays paid.
 */
export async function stopPayments(ctx: Ctx, input: { batchId: string; reason: string }): Promise<PaymentsStopped> {
  return withTransaction(ctx, async (t) => {
    const [b] = await t.tx.select().from(batches).where(eq(batches.id, input.batchId)).for('update');
    if (!b || (b.status !== 'released' && b.status !== 'partly_released')) return { cancelled: 0, cancelRequested: 0, files: [] };
    const stamp = t.now.toISOString();
    const unexported = await queryRows<{ line_no: number }>(
      t.tx as unknown as Db,
      sql`select l.line_no from batch_lines l where l.batch_id = ${b.id}::uuid and l.state = 'live'
          and not exists (select 1 from payment_instructions i where i.batch_id = l.batch_id and i.line_no = l.line_no
                          and i.state in ('exported', 'paid', 'cancel_requested'))`,
    );
    await t.tx.execute(sql`update payment_instructions set state = 'cancelled', reason = ${input.reason}, updated_at = ${stamp}::timestamptz
      where batch_id = ${b.id}::uuid and state = 'released'`);
    const cancelled = await cancelLines(t, b, unexported.map((r) => r.line_no));
    const requested = rowCount(
      await t.tx.execute(sql`update payment_instructions set state = 'cancel_requested', reason = ${input.reason}, updated_at = ${stamp}::timestamptz
        where batch_id = ${b.id}::uuid and state = 'exported'`),
    );
    const files = requested > 0 ? await cancellationFiles(t, b) : [];
    // Households told their payment was on its way, whose line is stopped now: told not to travel for it.
    const told = await queryRows<{ id: string }>(
      t.tx as unknown as Db,
      sql`select i.id from payment_instructions i where i.batch_id = ${b.id}::uuid and i.line_no = any(${`{${unexported.map((r) => r.line_no).join(',')}}`}::int[])`,
    );
    if (told.length > 0) await messagesFor(t, { instructionIds: told.map((r) => r.id), moment: 'cancelled' });
    await recordAudit(t.tx, t, {
      action: 'payments.stopped',
      subject: `batch:${b.id}`,
      jurisdiction: b.jurisdiction,
      summary: { batchId: b.id, reason: input.reason, cancelledAtOnce: cancelled, cancelRequested: requested, cancellationFiles: files.map((f) => ({ id: f.id, channel: f.channel, count: f.count })) },
    });
    return { cancelled, cancelRequested: requested, files };
  });
}

/** One cancellation file per channel for the instructions asked to be stopped and not yet in such a file. */
export async function cancellationFiles(t: TxCtx, b: BatchRow): Promise<PaymentFileRow[]> {
  const payers = await payersOf(t.tx, b.id);
  const made: PaymentFileRow[] = [];
  for (const channel of CHANNELS) {
    const [w] = await queryRows<{ n: number; pkr: string }>(
      t.tx as unknown as Db,
      sql`select count(*)::int as n, coalesce(sum(amount_pkr), 0)::text as pkr from payment_instructions
          where batch_id = ${b.id}::uuid and channel = ${channel} and state = 'cancel_requested' and cancel_file_id is null`,
    );
    if (!w || w.n === 0) continue;
    const file = await registerFile(t, b, payers, 'cancellation', channel, { count: w.n, totalPkr: Number(w.pkr) });
    await t.tx.execute(sql`update payment_instructions set cancel_file_id = ${file!.id}::uuid
      where batch_id = ${b.id}::uuid and channel = ${channel} and state = 'cancel_requested' and cancel_file_id is null`);
    made.push(file!);
  }
  return made;
}
