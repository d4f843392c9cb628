import { pkrText } from './money-text.ts';
import type { ApprovalTier } from './rule-schema.ts';
import { TriggerInputError } from './input-error.ts';

/**
 * The approval tier a batch of `amountPkr` falls in: the first tier whose up_to_pkr is at least the amount
 * (up_to is inclusive); the schema guarantees the last tier has no limit, so there is always one.
 */
export function approvalTier(tiers: readonly ApprovalTier[], amountPkr: number): ApprovalTier & { text: string } {
  if (!Number.isSafeInteger(amountPkr) || amountPkr < 0) throw new TriggerInputError(`amount must be a non-negative whole number of rupees, got ${amountPkr}`);
  const tier = tiers.find((t) => t.up_to_pkr === undefined || amountPkr <= t.up_to_pkr);
  if (!tier) throw new TriggerInputError(`no approval tier covers ${pkrText(amountPkr)}`);
  const range = tier.up_to_pkr === undefined ? 'any amount' : `up to ${pkrText(tier.up_to_pkr)}`;
  return { ...tier, text: `${pkrText(amountPkr)} (${range}) needs ${tier.roles.join(' and ')} (${tier.jurisdiction} jurisdiction)` };
}
