import { z } from 'zod';

/**
 * The closed list of outbox topics and their payloads. A payload names what changed, never a copy of it:
 * the reaction reads the current state, so a late or repeated delivery acts on what is true now.
 */
export const TOPICS = {
  'alert.changed': z.object({
    alertId: z.uuid(),
    chainId: z.uuid(),
    change: z.enum(['created', 'updated', 'superseded', 'cancelled', 'ended', 'expired']),
  }),
  'event.changed': z.object({
    eventId: z.uuid(),
    change: z.enum(['declared', 'updated', 'closed']),
  }),
  /** A readiness or activation stage fired: its batch (a prepared list or a draft) is built in the background. */
  'activation.fired': z.object({
    activationId: z.uuid(),
    stage: z.enum(['readiness', 'activation']),
  }),
  /** Every payer released its share of a batch: its payment instructions are made. */
  'batch.released': z.object({
    batchId: z.uuid(),
  }),
  /**
   * A batch gave back households that another batch of the incident and purpose, not yet released, had
   * netted against it: that batch may owe them more (a draft is built again; a signed one is flagged).
   */
  'batch.netting_changed': z.object({
    batchId: z.uuid(),
    freedBy: z.uuid(),
  }),
  /** An activation stopped (a Cancel, an all-clear, a stop stage): its unreleased batches are cancelled. */
  'activation.stopped': z.object({
    activationId: z.uuid(),
    reason: z.string(),
  }),
} as const;

export type Topic = keyof typeof TOPICS;
export type Payload<T extends Topic> = z.infer<(typeof TOPICS)[T]>;
export const TOPIC_NAMES = Object.keys(TOPICS) as Topic[];
