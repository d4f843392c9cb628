import type { Geometry } from 'geojson';
import {
  caseload as computeCaseload,
  type CaseloadLine,
  type CaseloadResult,
  type Cutoff,
  type Decision,
  type Household,
  type Rule,
  type Severity,
  type Stage,
} from '../../triggers/index.ts';
import type { RegistryIndex } from '../registry/registry-index.ts';

export type { CaseloadLine };

/** What the dry-run API returns about a caseload: totals only, since a caseload may be millions of lines. */
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
  /** When the caseload is computed: the request's clock, or a replayed message's sent time. */
  now: Date;
  /** Already committed against the rule's ceiling. A dry run commits nothing, so 0 by default. */
  committedPkr?: number;
}

/** The summary and the lines behind it (within the ceiling, and cut by it), for the batches work. */
export interface CaseloadWithLines {
  summary: Caseload;
  asOf: string;
  lines: CaseloadLine[];
  cut: CaseloadLine[];
}

/**
 * The registry's part of a caseload: the households in the decision's area (its codes and, for an alert,
 * its polygon) and the stage they are weighed at. The decisions are made by the core's `caseload`.
 */
function weigh(index: RegistryIndex, { rule, decision, geometry, severity, now, committedPkr = 0 }: CaseloadInput) {
  const fired = decision.stage === 'readiness' || decision.stage === 'activation';
  const stage: Stage = fired ? decision.stage! : 'activation';
  const codes = decision.areaCodes;
  // No codes and no polygon is no area at all, not the whole country.
  const rows = codes.length || geometry ? index.select({ codes, geometry: geometry ?? null }) : new Uint32Array(0);
  const list: Household[] = index.households(rows);
  const result = computeCaseload(
    rule,
    { stage, list, ...(severity ? { severity } : {}), ...(codes.length ? { areaCodes: codes } : {}) },
    { pkr: committedPkr },
    now,
  );
  return { result, stage, fired };
}

function summaryOf(index: RegistryIndex, { result, stage, fired }: { result: CaseloadResult; stage: Stage; fired: boolean }): Caseload {
  const t = result.totals;
  return {
    stage,
    whatIf: !fired,
    registryVersion: index.version,
    householdsInArea: t.householdsInArea,
    eligible: t.eligible,
    percent: t.percent,
    cutoffs: t.cutoffs,
    excluded: t.excluded,
    note: [index.count === 0 ? 'no registry is loaded' : '', t.note, fired ? '' : 'neither readiness nor activation fired: figures show what activation would reach']
      .filter(Boolean)
      .join('; '),
    requestedPkr: t.requestedPkr,
    totalPkr: t.totalPkr,
    households: t.households,
    ceiling: t.ceiling,
    byPayer: t.byPayer,
    byArea: t.byArea,
  };
}

/** The households a decision reaches and what they would cost, as totals. Reads only; writes nothing. */
export function caseload(index: RegistryIndex, input: CaseloadInput): Caseload {
  return summaryOf(index, weigh(index, input));
}

/** The same caseload with every line (payer shares and reasons per household), for building batches. */
export function caseloadWithLines(index: RegistryIndex, input: CaseloadInput): CaseloadWithLines {
  const weighed = weigh(index, input);
  return { summary: summaryOf(index, weighed), asOf: weighed.result.asOf, lines: weighed.result.lines, cut: weighed.result.cut };
}
