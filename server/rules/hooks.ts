import { recordAudit } from '../audit/service.ts';
import type { TxCtx } from '../context.ts';
import type { activations } from '../db/schema/index.ts';
import { enqueue } from '../outbox/enqueue.ts';

export type ActivationRow = typeof activations.$inferSelect;

export interface StopDetails {
  /** The jurisdiction the activation's audit entries belong to. */
  jurisdiction: string;
  reason: string;
}

/**
 * Called inside the transaction that marks an activation stopped, once per activation (DOMAIN.md: "stop:
 * cancel what is not yet paid when the hazard does not come"). It hands the stop to the batches through the
 * outbox (`activation.stopped`, delivered if and only if the stop commits): their unreleased batches are
 * cancelled and reservations freed there (server/batches/stop.ts). Until then no batch of the activation can
 * be released, since a release checks the activation under a lock.
 */
export async function onActivationStopped(ctx: TxCtx, activation: ActivationRow, stop: StopDetails): Promise<void> {
  await enqueue(ctx, 'activation.stopped', { activationId: activation.id, reason: stop.reason });
  await recordAudit(ctx.tx, ctx, {
    action: 'activation.stop_handed_on',
    subject: `activation:${activation.id}`,
    jurisdiction: stop.jurisdiction,
    summary: { activationId: activation.id, ruleId: activation.ruleId, stage: activation.stage, reason: stop.reason, note: 'its unreleased batches are cancelled next' },
  });
}
