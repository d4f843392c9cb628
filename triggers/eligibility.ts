import type { AreaLevel, Eligibility, HouseholdFlag, Stage } from './rule-schema.ts';
import { SEVERITIES, type Severity } from './subject.ts';

/** A registry household as the server hands it to the core: only what selection needs, no identity. */
export interface Household {
  id: string;
  /** Registry it comes from: NSER, PSER, ... */
  source: string;
  /** Proxy-means-test score, 0-100, lower is poorer. */
  pmt: number;
  size: number;
  areaCodes: { province: string; district: string; tehsil: string };
  flags: { femaleHeaded: boolean; disabled: boolean; elderly: boolean; childrenUnder5: boolean };
  /** Programmes the household is enrolled in, e.g. ['kafaalat']. */
  enrolments: string[];
}

export interface EligibilityContext {
  stage: Stage;
  /** The subject's severity, for coverage tiers by severity. */
  severity?: Severity;
  /**
   * Area codes the action applies to (a decision's `areaCodes`: declared tehsils, affected districts).
   * A household is inside when its most specific code starts with one of them. Omitted: no area filter.
   */
  areaCodes?: string[];
}

/** The PMT cut-off used in one unit, kept with the decision so the selection can be audited and repeated. */
export interface Cutoff {
  level: AreaLevel;
  areaCode: string;
  percent: number;
  /** Households of the listed sources in the unit: the distribution the percentile is taken over. */
  households: number;
  /** ceil(percent × households / 100): the rank whose PMT is the cut-off. */
  rank: number;
  pmtCutoff: number;
  /** Households at or under the cut-off (more than `rank` when scores tie at the cut-off). */
  atOrUnder: number;
}

export type Exclusion = 'source' | 'area' | 'pmt' | 'percentile' | 'flags' | 'enrolment' | 'coverage';

export interface EligibilityResult {
  /** Eligible household ids, in input order. */
  eligible: string[];
  /** The poorest-percent share applied, if any (from poorest_percent or the coverage tier chosen). */
  percent: number | null;
  cutoffs: Cutoff[];
  /** How many households each test excluded (counted at the first test they failed). */
  excluded: Record<Exclusion, number>;
  note: string;
}

const FLAG_FIELD: Record<HouseholdFlag, keyof Household['flags']> = {
  elderly: 'elderly',
  disabled: 'disabled',
  female_headed: 'femaleHeaded',
  children_under5: 'childrenUnder5',
};

const codeAt = (h: Household, level: AreaLevel) => (level === 1 ? h.areaCodes.province : level === 2 ? h.areaCodes.district : h.areaCodes.tehsil);
const mostSpecific = (h: Household) => h.areaCodes.tehsil || h.areaCodes.district || h.areaCodes.province;

/**
 * The share to cover: poorest_percent, or the coverage tier for this stage and severity. Among tiers that
 * apply (stage matches or is not given; severity at or above the tier's), the one with the highest
 * severity_at_least wins, the first in file order on a tie: "Extreme covers 75 %" beats "Moderate covers 25 %".
 */
export function coveragePercent(e: Eligibility, ctx: EligibilityContext): { percent: number | null; level: AreaLevel; note: string } {
  if (e.poorest_percent) return { percent: e.poorest_percent.percent, level: e.poorest_percent.within_level, note: '' };
  if (!e.coverage) return { percent: null, level: 3, note: '' };
  const rank = (s: Severity | undefined) => (s === undefined ? -1 : SEVERITIES.indexOf(s));
  let best: (typeof e.coverage.tiers)[number] | undefined;
  for (const t of e.coverage.tiers) {
    if (t.stage !== undefined && t.stage !== ctx.stage) continue;
    if (t.severity_at_least !== undefined && (ctx.severity === undefined || rank(ctx.severity) < rank(t.severity_at_least))) continue;
    if (best === undefined || rank(t.severity_at_least) > rank(best.severity_at_least)) best = t;
  }
  if (!best) return { percent: 0, level: e.coverage.within_level, note: `no coverage tier applies to ${ctx.stage} at severity ${ctx.severity ?? 'not given'}` };
  return {
    percent: best.poorest_percent,
    level: e.coverage.within_level,
    note: `coverage tier ${best.poorest_percent} % (severity ${best.severity_at_least ?? 'any'}${best.stage ? `, ${best.stage}` : ''})`,
  };
}

/**
 * Percentile within a unit, defined precisely: take the households of the listed sources in the unit,
 * sort by PMT ascending, and let rank k = ceil(p × n / 100). The cut-off is the PMT of the k-th household,
 * and every household with PMT ≤ cut-off is in, so households tied at the cut-off are all included
 * (two neighbours with the same score are never split by sort order). The distribution is taken before
 * flags, enrolment and pmt_at_most, because the cut-off is a property of the unit's registry, as BISP
 * applied it per tehsil in 2022.
 */
export function percentileCutoffs(population: Household[], percent: number, level: AreaLevel): Cutoff[] {
  const byArea = new Map<string, number[]>();
  for (const h of population) {
    const code = codeAt(h, level);
    const list = byArea.get(code);
    if (list) list.push(h.pmt);
    else byArea.set(code, [h.pmt]);
  }
  return [...byArea.keys()].sort().map((areaCode) => {
    const scores = byArea.get(areaCode)!.sort((a, b) => a - b);
    // Integer arithmetic: ceil(p·n/100) without floating-point surprises (p is a whole percentage).
    const rank = Math.max(1, Math.floor((percent * scores.length + 99) / 100));
    const pmtCutoff = scores[rank - 1]!;
    return { level, areaCode, percent, households: scores.length, rank, pmtCutoff, atOrUnder: scores.filter((s) => s <= pmtCutoff).length };
  });
}

/** Select the households a rule's eligibility admits at a stage. Pure; order of `households` is kept. */
export function selectEligible(e: Eligibility, households: Household[], ctx: EligibilityContext): EligibilityResult {
  const excluded: Record<Exclusion, number> = { source: 0, area: 0, pmt: 0, percentile: 0, flags: 0, enrolment: 0, coverage: 0 };
  const population: Household[] = [];
  for (const h of households) {
    if (!e.sources.includes(h.source)) excluded.source++;
    else if (ctx.areaCodes && !ctx.areaCodes.some((c) => mostSpecific(h).startsWith(c))) excluded.area++;
    else if (!Number.isFinite(h.pmt)) excluded.pmt++;
    else population.push(h);
  }

  const { percent, level, note } = coveragePercent(e, ctx);
  if (percent === 0) {
    excluded.coverage += population.length;
    return { eligible: [], percent: 0, cutoffs: [], excluded, note };
  }
  const cutoffs = percent === null ? [] : percentileCutoffs(population, percent, level);
  const cutoffByArea = new Map(cutoffs.map((c) => [c.areaCode, c.pmtCutoff]));

  // Programme names compare without case: registries write KAFAALAT, rule files often `kafaalat`.
  const required = e.enrolment_required?.map((p) => p.toUpperCase());
  const barred = e.enrolment_excluded?.map((p) => p.toUpperCase());
  const enrolledIn = (h: Household, p: string) => h.enrolments.some((x) => x.toUpperCase() === p);
  const eligible: string[] = [];
  for (const h of population) {
    if (percent !== null && h.pmt > cutoffByArea.get(codeAt(h, level))!) excluded.percentile++;
    else if (e.pmt_at_most !== undefined && h.pmt > e.pmt_at_most) excluded.pmt++;
    else if (e.flags_all && !e.flags_all.every((f) => h.flags[FLAG_FIELD[f]])) excluded.flags++;
    else if (e.flags_any && !e.flags_any.some((f) => h.flags[FLAG_FIELD[f]])) excluded.flags++;
    else if (required && !required.every((p) => enrolledIn(h, p))) excluded.enrolment++;
    else if (barred && barred.some((p) => enrolledIn(h, p))) excluded.enrolment++;
    else eligible.push(h.id);
  }
  return { eligible, percent, cutoffs, excluded, note };
}
