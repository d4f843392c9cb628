import { TriggerInputError } from './input-error.ts';

/**
 * What is still owed when a household already received money for the same event and purpose (an earlier
 * stage, or another programme): the rule's amount less what was received, never below 0 and never above
 * the rule's amount (a negative "received", e.g. a reversal, does not raise the top-up).
 */
export function netOff(amountPkr: number, alreadyReceivedPkr: number): number {
  if (!Number.isSafeInteger(amountPkr) || amountPkr < 0) throw new TriggerInputError(`amount must be a non-negative whole number of rupees, got ${amountPkr}`);
  if (!Number.isSafeInteger(alreadyReceivedPkr)) throw new TriggerInputError(`already received must be a whole number of rupees, got ${alreadyReceivedPkr}`);
  return Math.min(amountPkr, Math.max(0, amountPkr - Math.max(0, alreadyReceivedPkr)));
}
