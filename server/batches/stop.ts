import { and, eq, ne, sql } from 'drizzle-orm';
import { recordAudit } from '../audit/service.ts';
import { withTransaction, type Ctx } from '../context.ts';
import { activations, batches } from '../db/schema/index.ts';
import { commonJurisdiction } from '../access/jurisdiction.ts';
import { cancelLocked } from './approvals.ts';

/**
 * What follows an activation's stop (the outbox reaction to `activation.stopped`): every batch of it that
 * is not released is cancelled, its lines with it, and its reservations freed. A batch with a released share
 * is left to the payments work (its money is on the way), and the trail says so.
 */
export async function stopBatches(ctx: Ctx, input: { activationId: string; reason: string }) {
  return withTransaction(ctx, async (t) => {
    const [activation] = await t.tx.select().from(activations).where(eq(activations.id, input.activationId));
    if (!activation) return { cancelled: [], left: [] };
    const live = and(eq(batches.activationId, activation.id), ne(batches.status, 'cancelled'));
    // A build of this activation may still be running on another server (it holds the activation's build
    // lock and its batch is not yet visible): wait for it, then read again, so what it built is cancelled
    // too. The batches seen so far are locked first, in the order a rebuild takes them (its batch, then the
    // build lock), so a stop and a rebuild never wait on each other crosswise.
    await t.tx.select({ id: batches.id }).from(batches).where(live).for('update');
    await t.tx.execute(sql`select pg_advisory_xact_lock(hashtext(${`batches:activation:${activation.id}`}))`);
    const open = await t.tx.select().from(batches).where(live).for('update');
    const cancelled: string[] = [];
    const left: { batchId: string; status: string }[] = [];
    for (const b of open) {
      if (b.status === 'released' || b.status === 'partly_released') left.push({ batchId: b.id, status: b.status });
      else cancelled.push((await cancelLocked(t, b, `activation stopped: ${input.reason}`)).id);
    }
    await recordAudit(t.tx, t, {
      action: 'activation.batches_stopped',
      subject: `activation:${activation.id}`,
      jurisdiction: open[0]?.jurisdiction ?? commonJurisdiction([]),
      summary: {
        activationId: activation.id,
        ruleId: activation.ruleId,
        cancelledBatches: cancelled,
        leftForPayments: left,
        note: left.length
          ? 'released batches are left to the payments work: their payments are stopped or reconciled there'
          : cancelled.length
            ? 'unreleased batches cancelled and their reservations freed'
            : 'no batch to cancel',
        reason: input.reason,
      },
    });
    return { cancelled, left };
  });
}
