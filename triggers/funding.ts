import { pkrText } from './money-text.ts';
import type { Payer } from './rule-schema.ts';
import { TriggerInputError } from './input-error.ts';

export interface PayerShare {
  agency: string;
  share_bp: number;
}

export type PayerAmount<T extends PayerShare> = T & { amount: number };

/**
 * Split a total among payers by basis points (10000 = 100 %) with the largest-remainder method: each
 * payer gets the floor of its exact share, and the rupees left over go one each to the largest
 * fractional remainders, ties to the payer listed first. The parts always add up to the total exactly.
 * BigInt keeps total × share_bp exact for any safe-integer total.
 */
export function splitByShares<T extends PayerShare>(totalPkr: number, payers: readonly T[]): PayerAmount<T>[] {
  if (!Number.isSafeInteger(totalPkr) || totalPkr < 0) throw new TriggerInputError(`total must be a non-negative whole number of rupees, got ${totalPkr}`);
  const sum = payers.reduce((s, p) => s + p.share_bp, 0);
  if (payers.length === 0 || sum !== 10000 || payers.some((p) => !Number.isSafeInteger(p.share_bp) || p.share_bp < 0))
    throw new TriggerInputError(`payer shares must be whole basis points adding up to 10000, got ${sum}`);
  const total = BigInt(totalPkr);
  const parts = payers.map((p, index) => {
    const exact = total * BigInt(p.share_bp);
    return { index, floor: exact / 10000n, remainder: exact % 10000n };
  });
  let left = total - parts.reduce((s, p) => s + p.floor, 0n);
  const order = [...parts].sort((a, b) => (a.remainder === b.remainder ? a.index - b.index : a.remainder > b.remainder ? -1 : 1));
  const extra = new Set<number>();
  for (const p of order) {
    if (left === 0n) break;
    extra.add(p.index);
    left -= 1n;
  }
  return payers.map((p, i) => ({ ...p, amount: Number(parts[i]!.floor) + (extra.has(i) ? 1 : 0) }));
}

/**
 * A rule's payers made concrete for one household: a `household-province` payer becomes the household's
 * province (its P-code PK1..PK7), so a 50:50 federal:provincial rule charges Sindh for Sindh households and
 * Balochistan for Balochistan households.
 */
export function resolvePayers(payers: readonly Payer[], householdProvince: string): Payer[] {
  if (!/^PK[1-7]$/.test(householdProvince)) throw new TriggerInputError(`household province must be a province P-code PK1..PK7, got ${householdProvince}`);
  return payers.map((p) => (p.jurisdiction === 'household-province' ? { ...p, jurisdiction: householdProvince } : { ...p }));
}

export interface CeilingResult<T> {
  accepted: T[];
  cut: T[];
  ceilingPkr: number;
  /** Headroom before this batch: ceiling less what is already committed. */
  headroomBefore: number;
  headroomAfter: number;
  acceptedPkr: number;
  cutPkr: number;
  text: string;
}

/**
 * Keep a batch inside the rule's ceiling. Lines are taken in the order given until the next one would
 * cross the ceiling; that line and every later one are cut. Stopping at the first that does not fit
 * (rather than skipping to smaller lines) keeps the caller's priority order: nobody jumps the queue
 * because their amount is smaller. A line is paid whole or not at all.
 */
export function applyCeiling<T extends { amount: number }>(lines: readonly T[], ceilingPkr: number, committedPkr: number): CeilingResult<T> {
  for (const [n, what] of [[ceilingPkr, 'ceiling'], [committedPkr, 'committed']] as const)
    if (!Number.isSafeInteger(n) || n < 0) throw new TriggerInputError(`${what} must be a non-negative whole number of rupees, got ${n}`);
  const headroomBefore = Math.max(0, ceilingPkr - committedPkr);
  let used = 0;
  let i = 0;
  for (; i < lines.length; i++) {
    const amount = lines[i]!.amount;
    if (used + amount > headroomBefore) break;
    used += amount;
  }
  const accepted = lines.slice(0, i);
  const cut = lines.slice(i);
  const cutPkr = cut.reduce((s, l) => s + l.amount, 0);
  const text =
    cut.length === 0
      ? `${accepted.length} lines, ${pkrText(used)} within the ceiling of ${pkrText(ceilingPkr)} (${pkrText(headroomBefore - used)} left)`
      : `${cut.length} lines (${pkrText(cutPkr)}) cut: the ceiling of ${pkrText(ceilingPkr)} leaves ${pkrText(headroomBefore)} of headroom, ${pkrText(used)} used by ${accepted.length} lines`;
  return { accepted, cut, ceilingPkr, headroomBefore, headroomAfter: headroomBefore - used, acceptedPkr: used, cutPkr, text };
}

export interface FitResult<T> {
  accepted: T[];
  cut: T[];
  /** What the accepted lines use of each payer's headroom, by payer key. */
  used: Map<string, number>;
}

/**
 * `applyCeiling` for several payers, each with its own budget: lines are taken in the order given (poorest
 * first) while every payer's share of the line fits that payer's headroom; the first line that does not fit
 * is cut with every later one, so nobody jumps the queue because their amount or their payer is smaller.
 * A payer with no headroom entry has no budget limit here (it is checked again at release).
 */
export function fitBudgets<T extends { shares: readonly { payer: string; amount: number }[] }>(
  lines: readonly T[],
  headroom: ReadonlyMap<string, number>,
): FitResult<T> {
  const used = new Map<string, number>();
  let i = 0;
  outer: for (; i < lines.length; i++) {
    for (const s of lines[i]!.shares) {
      const room = headroom.get(s.payer);
      if (room !== undefined && (used.get(s.payer) ?? 0) + s.amount > room) break outer;
    }
    for (const s of lines[i]!.shares) used.set(s.payer, (used.get(s.payer) ?? 0) + s.amount);
  }
  return { accepted: lines.slice(0, i), cut: lines.slice(i), used };
}
