import { recordAudit } from '../audit/service.ts';
import type { Db } from '../db/client.ts';
import type { activations } from '../db/schema/index.ts';

export type ActivationRow = typeof activations.$inferSelect;

export interface StopContext {
  now: Date;
  actor: string;
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
export async function onActivationStopped(tx: Db, activation: ActivationRow, ctx: StopContext): Promise<void> {
  await recordAudit(tx, {
    actor: ctx.actor,
    action: 'activation.payments_cancelled',
    subject: `activation:${activation.id}`,
    jurisdiction: ctx.jurisdiction,
    summary: { activationId: activation.id, ruleId: activation.ruleId, stage: activation.stage, cancelledPayments: 0, note: 'no payments yet to cancel', reason: ctx.reason },
    at: ctx.now,
  });
}
