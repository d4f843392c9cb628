import { recordAudit } from '../audit/service.ts';
import type { TxCtx } from '../context.ts';
import type { activations } from '../db/schema/index.ts';

export type ActivationRow = typeof activations.$inferSelect;

export interface StopDetails {
  /** The jurisdiction the activation's audit entries belong to. */
  jurisdiction: string;
  reason: string;
}

/**
 * Called inside the transaction that marks an activation stopped, once per activation. This is where the
 * payments work will cancel the payments of the activation that are not yet paid (DOMAIN.md: "stop: cancel
 * what is not yet paid when the hazard does not come"). There are no payments yet, so for now it records
 * that there was nothing to cancel: the trail shows the stop was followed through.
 */
export async function onActivationStopped(ctx: TxCtx, activation: ActivationRow, stop: StopDetails): Promise<void> {
  await recordAudit(ctx.tx, ctx, {
    action: 'activation.payments_cancelled',
    subject: `activation:${activation.id}`,
    jurisdiction: stop.jurisdiction,
    summary: { activationId: activation.id, ruleId: activation.ruleId, stage: activation.stage, cancelledPayments: 0, note: 'no payments yet to cancel', reason: stop.reason },
  });
}
