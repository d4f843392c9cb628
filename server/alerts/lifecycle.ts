import type { NormalizedAlert } from './parse/index.ts';

export type AlertState = 'active' | 'superseded' | 'cancelled' | 'ended' | 'expired';

/**
 * The state a message starts in, from its own content. CAP 1.2 §3.2.1: a Cancel ends what it references;
 * senders also "soft cancel" with an Update whose responseType is AllClear, or with urgency Past and
 * certainty Unlikely (MeteoAlarm downgrades do this).
 */
export function initialState(alert: NormalizedAlert, now: Date): { state: AlertState; reason?: string } {
  if (alert.msgType === 'Cancel') return { state: 'cancelled', reason: 'a Cancel message' };
  if (alert.responseType?.includes('AllClear')) return { state: 'ended', reason: 'responseType AllClear (soft cancel)' };
  if (alert.urgency === 'Past' && alert.certainty === 'Unlikely') return { state: 'ended', reason: 'urgency Past and certainty Unlikely (soft cancel)' };
  if (alert.expires && new Date(alert.expires) <= now) return { state: 'expired', reason: `expired at ${alert.expires}` };
  return { state: 'active' };
}

/** What a message does to the messages it references. */
export function effectOnReferenced(state: AlertState, msgType: NormalizedAlert['msgType']): { state: AlertState; reason: string } | undefined {
  if (msgType === 'Cancel') return { state: 'cancelled', reason: 'cancelled by a later message' };
  if (state === 'ended') return { state: 'ended', reason: 'ended by a later all-clear' };
  if (msgType === 'Update') return { state: 'superseded', reason: 'superseded by an Update' };
  return undefined;
}

/** Whether the alert counts as an actual warning: Test, Exercise, Draft and System are shown, never acted on. */
export const isActual = (status: string) => status === 'Actual';
