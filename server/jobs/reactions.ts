import type { Reactions } from '../outbox/drain.ts';
import { evaluateAlert, evaluateEvent, TRIGGER_ACTOR } from '../rules/evaluation.ts';

/**
 * What the system does about each outbox topic. Here, and not in server/outbox/, so the outbox knows no
 * domain and domains may write to it without a folder cycle.
 */
export function reactions(): Reactions {
  return {
    'alert.changed': {
      actor: TRIGGER_ACTOR,
      handle: async (ctx, p) => void (await evaluateAlert(ctx, { alertId: p.alertId, cause: `alert.${p.change}` })),
    },
    'event.changed': {
      actor: TRIGGER_ACTOR,
      handle: async (ctx, p) => void (await evaluateEvent(ctx, { eventId: p.eventId, cause: `event.${p.change}` })),
    },
  };
}
