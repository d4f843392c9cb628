import { buildBatch, renetBatch } from '../batches/build.ts';
import type { BatchDeps } from '../batches/deps.ts';
import { stopBatches } from '../batches/stop.ts';
import { stopPayments } from '../payments/cancel.ts';
import { issueInstructions } from '../payments/instructions.ts';
import { copyStageActions } from '../plan/copy.ts';
import type { Reactions } from '../outbox/drain.ts';
import { evaluateAlert, evaluateEvent, TRIGGER_ACTOR } from '../rules/evaluation.ts';

/** The part of the system that builds and stops batches, as the audit trail names it (`system:batches`). */
export const BATCH_ACTOR = 'batches';
/** The part that makes payment instructions (`system:payments`). */
export const PAYMENTS_ACTOR = 'payments';

/**
 * What the system does about each outbox topic. Here, and not in server/outbox/, so the outbox knows no
 * domain and domains may write to it without a folder cycle.
 */
export function reactions(batchDeps: BatchDeps): Reactions {
  return {
    // Evaluations are small: a drain decides its alert and event changes several to a transaction.
    'alert.changed': {
      actor: TRIGGER_ACTOR,
      together: true,
      handle: async (ctx, p) => void (await evaluateAlert(ctx, { alertId: p.alertId, cause: `alert.${p.change}` })),
    },
    'event.changed': {
      actor: TRIGGER_ACTOR,
      together: true,
      handle: async (ctx, p) => void (await evaluateEvent(ctx, { eventId: p.eventId, cause: `event.${p.change}` })),
    },
    'activation.fired': {
      actor: BATCH_ACTOR,
      // The stage's pre-agreed actions join the incident's plan (as system:plan), then its batch is built.
      handle: async (ctx, p) => {
        await copyStageActions(ctx, { activationId: p.activationId });
        await buildBatch(ctx, { activationId: p.activationId, skipStopped: true }, batchDeps);
      },
    },
    'batch.released': {
      actor: PAYMENTS_ACTOR,
      handle: async (ctx, p) => void (await issueInstructions(ctx, p)),
    },
    'batch.netting_changed': {
      actor: BATCH_ACTOR,
      handle: async (ctx, p) => void (await renetBatch(ctx, p, batchDeps)),
    },
    'activation.stopped': {
      actor: BATCH_ACTOR,
      // Unreleased batches are cancelled; released ones stop their payments (what is not yet paid).
      handle: async (ctx, p) => {
        const { left } = await stopBatches(ctx, p);
        for (const b of left) await stopPayments(ctx, { batchId: b.batchId, reason: p.reason });
      },
    },
  };
}
