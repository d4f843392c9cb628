import type { Benefit } from './rule-schema.ts';
import { TriggerInputError } from './input-error.ts';

const assertPkr = (n: number, what: string) => {
  if (!Number.isSafeInteger(n) || n < 0) throw new TriggerInputError(`${what} must be a non-negative whole number of rupees, got ${n}`);
};

/**
 * The top-up for one household, in whole PKR.
 * - flat_pkr: the same for every household (2022 flood relief: PKR 25,000).
 * - per_member_pkr × household size, capped at cap_pkr when given.
 * - multiple_of_regular: regular_pkr × multiple, rounded to the nearest rupee (half up), since a
 *   fractional multiple (1.5 × 13,500) may not land on a whole rupee.
 */
export function benefitAmount(benefit: Benefit, household: { size: number }): number {
  if (benefit.flat_pkr !== undefined) return benefit.flat_pkr;
  if (benefit.per_member_pkr !== undefined) {
    if (!Number.isSafeInteger(household.size) || household.size < 1) throw new TriggerInputError(`household size must be a whole number ≥ 1, got ${household.size}`);
    const amount = benefit.per_member_pkr * household.size;
    return benefit.cap_pkr === undefined ? amount : Math.min(amount, benefit.cap_pkr);
  }
  const m = benefit.multiple_of_regular!;
  return Math.round(m.regular_pkr * m.multiple);
}

/**
 * Split an amount into `count` whole-rupee instalments that add up exactly. The remainder rupees go
 * one each to the first instalments, so early instalments are never smaller than later ones.
 */
export function splitInstalments(amountPkr: number, count: number): number[] {
  assertPkr(amountPkr, 'amount');
  if (!Number.isSafeInteger(count) || count < 1) throw new TriggerInputError(`instalments must be a whole number ≥ 1, got ${count}`);
  const base = Math.floor(amountPkr / count);
  const remainder = amountPkr - base * count;
  return Array.from({ length: count }, (_, i) => base + (i < remainder ? 1 : 0));
}

/** A household's instalments under a rule's benefit. */
export function benefitInstalments(benefit: Benefit, household: { size: number }): number[] {
  return splitInstalments(benefitAmount(benefit, household), benefit.instalments);
}
