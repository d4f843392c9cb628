import type { PlanStatus } from './schema.ts';

/**
 * The moves of a plan action's status: planned → ready → in_progress → done; any open status may be
 * blocked or cancelled (with a reason); a blocked action goes back to a working status. Done and cancelled
 * are final. The migration's trigger on plan_actions and the check on plan_updates hold the same table.
 */
export const MOVES: Record<PlanStatus, readonly PlanStatus[]> = {
  planned: ['ready', 'blocked', 'cancelled'],
  ready: ['in_progress', 'blocked', 'cancelled'],
  in_progress: ['done', 'blocked', 'cancelled'],
  blocked: ['planned', 'ready', 'in_progress', 'cancelled'],
  done: [],
  cancelled: [],
};

export const NEEDS_REASON: ReadonlySet<PlanStatus> = new Set(['blocked', 'cancelled']);
export const CLOSED: ReadonlySet<PlanStatus> = new Set(['done', 'cancelled']);

export function canMove(from: PlanStatus, to: PlanStatus): boolean {
  return MOVES[from].includes(to);
}

/** Overdue: due before now and neither done nor cancelled. Derived on every read, never stored. */
export function isOverdue(status: PlanStatus, dueAt: Date | null, now: Date): boolean {
  return dueAt !== null && dueAt.getTime() < now.getTime() && !CLOSED.has(status);
}

/** `T+48 h`, `T+0 h`: the due time relative to the trigger, in whole hours. */
export function relativeDue(triggerAt: Date, dueAt: Date | null): { hours: number | null; text: string | null } {
  if (!dueAt) return { hours: null, text: null };
  const hours = Math.round((dueAt.getTime() - triggerAt.getTime()) / 3_600_000);
  return { hours, text: `T${hours < 0 ? '-' : '+'}${Math.abs(hours)} h` };
}
