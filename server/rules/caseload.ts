import type { Geometry } from 'geojson';
import {
  applyCeiling,
  benefitAmount,
  resolvePayers,
  selectEligible,
  splitByShares,
  type Cutoff,
  type Decision,
  type Household,
  type Payer,
  type Rule,
  type Severity,
  type Stage,
} from '../../triggers/index.ts';
import type { RegistryIndex } from '../registry/registry-index.ts';

export interface CaseloadLine {
  householdId: string;
  province: string;
  district: string;
  pmt: number;
  amount: number;
}

export interface Caseload {
  /** The stage the households were selected for: the fired one, or activation as a what-if when none fired. */
  stage: Stage;
  /** True when neither readiness nor activation fired: the figures say what activation would cost. */
  whatIf: boolean;
  registryVersion: string;
  /** Households in the subject's area (its in-scope codes and, for an alert, its polygon). */
  householdsInArea: number;
  eligible: number;
  percent: number | null;
  cutoffs: Cutoff[];
  excluded: Record<string, number>;
  note: string;
  /** Before the ceiling: what every eligible household would get. */
  requestedPkr: number;
  /** After the ceiling: what would be paid; byPayer and byArea each add up to it exactly. */
  totalPkr: number;
  households: number;
  ceiling: { ceilingPkr: number; committedPkr: number; cutHouseholds: number; cutPkr: number; text: string };
  byPayer: { agency: string; jurisdiction: string; households: number; amountPkr: number }[];
  byArea: { district: string; households: number; amountPkr: number }[];
}

export interface CaseloadInput {
  rule: Rule;
  decision: Decision;
  /** The alert's polygon, when it has one. */
  geometry?: Geometry | null;
  severity?: Severity;
}

/** `household-province` needs a province; a household the gazetteer could not place is shown as such. */
function payersFor(payers: readonly Payer[], province: string): Payer[] {
  if (/^PK[1-7]$/.test(province)) return resolvePayers(payers, province);
  return payers.map((p) => (p.jurisdiction === 'household-province' ? { ...p, jurisdiction: 'province-unknown' } : { ...p }));
}

/**
 * The households a decision reaches and what they would cost: selection in the area, eligibility at the
 * stage (percentile cut-offs kept), the benefit per household, the ceiling, then the split by payer and by
 * district. Lines meet the ceiling poorest first (PMT ascending, then id), so if money runs short the
 * poorest are paid. Nothing is committed yet, so the whole ceiling is headroom. Reads only; writes nothing.
 */
export function caseload(index: RegistryIndex, { rule, decision, geometry, severity }: CaseloadInput): Caseload {
  const fired = decision.stage === 'readiness' || decision.stage === 'activation';
  const stage: Stage = fired ? decision.stage! : 'activation';
  const codes = decision.areaCodes;
  const rows = codes.length || geometry ? index.select({ codes, geometry: geometry ?? null }) : new Uint32Array(0);
  const households = index.households(rows);
  const byId = new Map<string, Household>(households.map((h) => [h.id, h]));
  const selection = selectEligible(rule.eligibility, households, {
    stage,
    ...(severity ? { severity } : {}),
    ...(codes.length ? { areaCodes: codes } : {}),
  });

  const lines: CaseloadLine[] = selection.eligible
    .map((id) => {
      const h = byId.get(id)!;
      return { householdId: id, province: h.areaCodes.province, district: h.areaCodes.district, pmt: h.pmt, amount: benefitAmount(rule.benefit, h) };
    })
    .sort((a, b) => a.pmt - b.pmt || Number(a.householdId) - Number(b.householdId));
  const requestedPkr = lines.reduce((s, l) => s + l.amount, 0);
  const capped = applyCeiling(lines, rule.funding.ceiling_pkr, 0);

  const payers = new Map<string, { agency: string; jurisdiction: string; households: number; amountPkr: number }>();
  const areas = new Map<string, { district: string; households: number; amountPkr: number }>();
  for (const line of capped.accepted) {
    for (const part of splitByShares(line.amount, payersFor(rule.funding.payers, line.province))) {
      const key = `${part.agency}\u0000${part.jurisdiction}`;
      const p = payers.get(key) ?? { agency: part.agency, jurisdiction: part.jurisdiction, households: 0, amountPkr: 0 };
      p.households++;
      p.amountPkr += part.amount;
      payers.set(key, p);
    }
    const district = line.district || 'unknown';
    const a = areas.get(district) ?? { district, households: 0, amountPkr: 0 };
    a.households++;
    a.amountPkr += line.amount;
    areas.set(district, a);
  }

  return {
    stage,
    whatIf: !fired,
    registryVersion: index.version,
    householdsInArea: rows.length,
    eligible: selection.eligible.length,
    percent: selection.percent,
    cutoffs: selection.cutoffs,
    excluded: selection.excluded,
    note: [index.count === 0 ? 'no registry is loaded' : '', selection.note, fired ? '' : 'neither readiness nor activation fired: figures show what activation would reach']
      .filter(Boolean)
      .join('; '),
    requestedPkr,
    totalPkr: capped.acceptedPkr,
    households: capped.accepted.length,
    ceiling: { ceilingPkr: capped.ceilingPkr, committedPkr: 0, cutHouseholds: capped.cut.length, cutPkr: capped.cutPkr, text: capped.text },
    byPayer: [...payers.values()],
    byArea: [...areas.values()].sort((a, b) => b.amountPkr - a.amountPkr || a.district.localeCompare(b.district)),
  };
}
