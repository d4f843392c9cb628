import { benefitAmount } from './benefit.ts';
import { selectEligible, type Cutoff, type EligibilityContext, type EligibilityResult, type Household } from './eligibility.ts';
import { applyCeiling, resolvePayers, splitByShares } from './funding.ts';
import { TriggerInputError } from './input-error.ts';
import { pkrText } from './money-text.ts';
import type { AreaLevel, HouseholdFlag, Payer, Rule } from './rule-schema.ts';

/** The households to weigh, with what eligibility needs to know about the action (stage, severity, area). */
export interface CaseloadHouseholds extends EligibilityContext {
  /** Every household in the action's area as the registry holds them; the order does not matter. */
  list: Household[];
}

/**
 * What is already committed against the rule's ceiling for these payers. An object rather than a number
 * so it can grow: the batches work will add what each household has already received.
 */
export interface Committed {
  pkr: number;
}

/** One payer's part of one household's amount. */
export type LinePayer = Payer & { amount: number };

export interface CaseloadLine {
  householdId: string;
  source: string;
  province: string;
  district: string;
  tehsil: string;
  pmt: number;
  amount: number;
  /**
   * The rule's payers made concrete for the household's province; the parts add up to `amount` exactly.
   * Frozen and shared by every line with the same province and amount.
   */
  payers: readonly Readonly<LinePayer>[];
  /**
   * Why the household is in and what it gets, in words a programme manager can check against the rule.
   * Frozen and shared by every line with the same reasons: a caseload may be millions of lines.
   */
  reasons: readonly string[];
}

export interface PayerTotal {
  agency: string;
  jurisdiction: string;
  households: number;
  amountPkr: number;
}

export interface AreaTotal {
  district: string;
  households: number;
  amountPkr: number;
}

export interface CaseloadTotals {
  /** Households given, before any test. */
  householdsInArea: number;
  eligible: number;
  percent: number | null;
  cutoffs: Cutoff[];
  excluded: EligibilityResult['excluded'];
  /** Eligibility's own note (the coverage tier chosen, or why none applies); empty when there is none. */
  note: string;
  /** Before the ceiling: what every eligible household would get. */
  requestedPkr: number;
  /** After the ceiling: what would be paid; byPayer and byArea each add up to it exactly. */
  totalPkr: number;
  households: number;
  ceiling: { ceilingPkr: number; committedPkr: number; cutHouseholds: number; cutPkr: number; text: string };
  byPayer: PayerTotal[];
  byArea: AreaTotal[];
}

export interface CaseloadResult {
  /** The `now` the caseload was computed at, ISO 8601. */
  asOf: string;
  /** Lines within the ceiling, poorest first. */
  lines: CaseloadLine[];
  /** Lines the ceiling cut, in the same order: the next to be paid if headroom is found. */
  cut: CaseloadLine[];
  totals: CaseloadTotals;
}

const LEVEL_NAME: Record<AreaLevel, string> = { 1: 'province', 2: 'district', 3: 'tehsil' };
const FLAG_FIELD: Record<HouseholdFlag, keyof Household['flags']> = {
  elderly: 'elderly',
  disabled: 'disabled',
  female_headed: 'femaleHeaded',
  children_under5: 'childrenUnder5',
};
const FLAG_TEXT: Record<HouseholdFlag, string> = { elderly: 'elderly', disabled: 'disabled', female_headed: 'female-headed', children_under5: 'children under 5' };

const codeAt = (h: Household, level: AreaLevel) => (level === 1 ? h.areaCodes.province : level === 2 ? h.areaCodes.district : h.areaCodes.tehsil);
const mostSpecific = (h: Household) => h.areaCodes.tehsil || h.areaCodes.district || h.areaCodes.province;
/** Registry scores carry more decimals than a reader needs (18.456): cut-offs are shown to two at most. */
const score = (n: number) => String(Math.round(n * 100) / 100);
const and = (xs: readonly string[]) => (xs.length < 2 ? xs.join('') : `${xs.slice(0, -1).join(', ')} and ${xs.at(-1)}`);

/**
 * `household-province` needs a province: a household the gazetteer could not place keeps its line, and
 * its provincial share is shown as `province-unknown` so someone places it before money moves.
 */
function payersFor(payers: readonly Payer[], province: string): Payer[] {
  if (/^PK[1-7]$/.test(province)) return resolvePayers(payers, province);
  return payers.map((p) => (p.jurisdiction === 'household-province' ? { ...p, jurisdiction: 'province-unknown' } : { ...p }));
}

/**
 * Numeric ids (the registry's) in number order, so household 9 comes before 10; any other id after them,
 * by code unit. Putting the two kinds in separate groups keeps the order total when ids are mixed.
 */
function compareIds(a: string, b: string): number {
  const na = /^\d+$/.test(a);
  const nb = /^\d+$/.test(b);
  if (na && nb) {
    const x = a.replace(/^0+(?=\d)/, '');
    const y = b.replace(/^0+(?=\d)/, '');
    if (x.length !== y.length) return x.length - y.length;
    if (x !== y) return x < y ? -1 : 1;
  } else if (na !== nb) return na ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * The reasons for one household, in the order the rule tests them: source, area, PMT, flags, enrolment,
 * benefit. They name the unit's cut-off rather than the household's own score (the line carries `pmt`),
 * so households of one unit, size and flags share one frozen list instead of a million copies.
 */
function explainer(rule: Rule, cutoffs: readonly Cutoff[], areaCodes: readonly string[] | undefined) {
  const e = rule.eligibility;
  const b = rule.benefit;
  const cutoffByUnit = new Map(cutoffs.map((c) => [c.areaCode, c]));
  const level = cutoffs[0]?.level;
  const paid = b.instalments > 1 ? `, paid in ${b.instalments} instalments` : '';
  const seen = new Map<string, readonly string[]>();
  return (h: Household, amount: number): readonly string[] => {
    const place = mostSpecific(h);
    const unit = level === undefined ? '' : codeAt(h, level);
    const matched = e.flags_any?.filter((f) => h.flags[FLAG_FIELD[f]]) ?? [];
    const key = `${h.source}\u0000${place}\u0000${unit}\u0000${matched.join()}\u0000${h.size}\u0000${amount}`;
    const known = seen.get(key);
    if (known) return known;
    const reasons = [`listed in ${h.source}, one of the rule's registries`];
    const area = areaCodes?.find((c) => place.startsWith(c));
    if (area !== undefined) reasons.push(area === place ? `lives in ${place}, in the action's area` : `lives in ${place}, inside the action's area ${area}`);
    const cut = cutoffByUnit.get(unit);
    if (cut)
      reasons.push(
        `PMT at or under ${score(cut.pmtCutoff)}, the cut-off for the poorest ${cut.percent} % of ${LEVEL_NAME[cut.level]} ${cut.areaCode} (rank ${cut.rank} of ${cut.households})`,
      );
    if (e.pmt_at_most !== undefined) reasons.push(`PMT at or under the rule's limit of ${score(e.pmt_at_most)}`);
    if (e.flags_all?.length) reasons.push(`${and(e.flags_all.map((f) => FLAG_TEXT[f]))}, as the rule requires`);
    if (e.flags_any?.length) reasons.push(`${and(matched.map((f) => FLAG_TEXT[f]))} (the rule asks for any of ${e.flags_any.map((f) => FLAG_TEXT[f]).join(', ')})`);
    if (e.enrolment_required?.length) reasons.push(`enrolled in ${and(e.enrolment_required)}, as the rule requires`);
    if (e.enrolment_excluded?.length) reasons.push(`not enrolled in ${e.enrolment_excluded.join(' or ')}, which the rule excludes`);
    if (b.flat_pkr !== undefined) reasons.push(`${pkrText(amount)}, the same for every household${paid}`);
    else if (b.per_member_pkr !== undefined) {
      const uncapped = b.per_member_pkr * h.size;
      const capped = uncapped > amount ? `, capped at ${pkrText(amount)}` : '';
      reasons.push(`${pkrText(b.per_member_pkr)} × ${h.size} member${h.size === 1 ? '' : 's'} = ${pkrText(uncapped)}${capped}${paid}`);
    } else {
      const m = b.multiple_of_regular!;
      reasons.push(`${score(m.multiple)} × the regular ${pkrText(m.regular_pkr)} = ${pkrText(amount)}${paid}`);
    }
    const frozen = Object.freeze(reasons);
    seen.set(key, frozen);
    return frozen;
  };
}

/** Each line's payer parts: the same province and amount always split the same way, so it is done once. */
function splitter(payers: readonly Payer[]) {
  const seen = new Map<string, readonly Readonly<LinePayer>[]>();
  return (province: string, amount: number): readonly Readonly<LinePayer>[] => {
    const key = `${province}\u0000${amount}`;
    let parts = seen.get(key);
    if (!parts) {
      parts = Object.freeze(splitByShares(amount, payersFor(payers, province)).map((p) => Object.freeze(p)));
      seen.set(key, parts);
    }
    return parts;
  };
}

/**
 * The households a rule reaches among those given and what they would cost at `now`: eligibility at the
 * stage (percentile cut-offs kept), the benefit per household, the ceiling less what is already
 * committed, then each line split among the payers and the totals by payer and by district. Lines meet
 * the ceiling poorest first (PMT ascending, then id), so if money runs short the poorest are paid; the
 * ones cut are returned too, so nobody disappears from the count. Pure: no clock, no I/O.
 */
export function caseload(rule: Rule, households: CaseloadHouseholds, committed: Committed, now: Date): CaseloadResult {
  // `now` comes from the caller's clock, never from a person: a bad one is a bug, hence a plain RangeError.
  if (Number.isNaN(now.getTime())) throw new RangeError('caseload needs a valid `now`');
  const { list, ...context } = households;
  const byId = new Map<string, Household>();
  for (const h of list) {
    if (byId.has(h.id)) throw new TriggerInputError(`household ${h.id} is listed twice; each household may appear once in a caseload`);
    byId.set(h.id, h);
  }
  const selection = selectEligible(rule.eligibility, list, context);
  const explain = explainer(rule, selection.cutoffs, context.areaCodes);
  const split = splitter(rule.funding.payers);

  const all = selection.eligible
    .map((id): CaseloadLine => {
      const h = byId.get(id)!;
      const amount = benefitAmount(rule.benefit, h);
      const { province, district, tehsil } = h.areaCodes;
      return { householdId: id, source: h.source, province, district, tehsil, pmt: h.pmt, amount, payers: split(province, amount), reasons: explain(h, amount) };
    })
    .sort((a, b) => a.pmt - b.pmt || compareIds(a.householdId, b.householdId));
  const requestedPkr = all.reduce((s, l) => s + l.amount, 0);
  const capped = applyCeiling(all, rule.funding.ceiling_pkr, committed.pkr);

  const payers = new Map<string, PayerTotal & { order: number }>();
  const areas = new Map<string, AreaTotal>();
  for (const line of capped.accepted) {
    line.payers.forEach((part, order) => {
      const key = `${part.agency}\u0000${part.jurisdiction}`;
      const p = payers.get(key) ?? { agency: part.agency, jurisdiction: part.jurisdiction, households: 0, amountPkr: 0, order };
      p.households++;
      p.amountPkr += part.amount;
      payers.set(key, p);
    });
    const district = line.district || 'unknown';
    const a = areas.get(district) ?? { district, households: 0, amountPkr: 0 };
    a.households++;
    a.amountPkr += line.amount;
    areas.set(district, a);
  }
  const byCode = (x: string, y: string) => (x < y ? -1 : x > y ? 1 : 0);

  return {
    asOf: now.toISOString(),
    lines: capped.accepted,
    cut: capped.cut,
    totals: {
      householdsInArea: list.length,
      eligible: selection.eligible.length,
      percent: selection.percent,
      cutoffs: selection.cutoffs,
      excluded: selection.excluded,
      note: selection.note,
      requestedPkr,
      totalPkr: capped.acceptedPkr,
      households: capped.accepted.length,
      ceiling: { ceilingPkr: capped.ceilingPkr, committedPkr: committed.pkr, cutHouseholds: capped.cut.length, cutPkr: capped.cutPkr, text: capped.text },
      // In the rule's payer order (federal before provincial, as the rule lists them), then the largest first.
      byPayer: [...payers.values()]
        .sort((a, b) => a.order - b.order || b.amountPkr - a.amountPkr || byCode(a.jurisdiction, b.jurisdiction))
        .map(({ order: _order, ...p }) => p),
      byArea: [...areas.values()].sort((a, b) => b.amountPkr - a.amountPkr || byCode(a.district, b.district)),
    },
  };
}
