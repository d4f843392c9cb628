import type { Geometry } from 'geojson';
import {
  caseload as computeCaseload,
  type CaseloadLine,
  type CaseloadResult,
  type Cutoff,
  type Decision,
  type Household,
  type LinePayer,
  type Rule,
  type Severity,
  type Stage,
} from '../../triggers/index.ts';
import type { RegistryIndex } from './registry-index.ts';

/*
 * A caseload weighed over the registry index: the households of the decision's area and what the core's
 * caseload decides for them. It lives beside the index because the spatial workers compute it over the
 * shared columns (server/registry/spatial-worker.ts); server/rules/caseload.ts asks for it and protects it.
 */

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
  /** The households of the area, when already selected (off the main thread, see RegistryCache.select). */
  rows?: Uint32Array;
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
function weigh(index: RegistryIndex, { rule, decision, geometry, severity, now, committedPkr = 0, rows: selected }: CaseloadInput) {
  const fired = decision.stage === 'readiness' || decision.stage === 'activation';
  const stage: Stage = fired ? decision.stage! : 'activation';
  const codes = decision.areaCodes;
  // No codes and no polygon is no area at all, not the whole country.
  const rows = selected ?? (codes.length || geometry ? index.select({ codes, geometry: geometry ?? null }) : new Uint32Array(0));
  const list: Household[] = index.households(rows);
  const result = computeCaseload(
    rule,
    { stage, list, ...(severity ? { severity } : {}), ...(codes.length ? { areaCodes: codes } : {}) },
    { pkr: committedPkr },
    now,
  );
  return { result, stage, fired, rows };
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

/**
 * A caseload as a spatial worker is asked for it (server/registry/spatial-pool.ts): the households are
 * those of `rows` when a polygon's were found first (within the area budget), otherwise those of the
 * decision's codes, found in the worker.
 */
export interface CaseloadJob {
  rule: Rule;
  decision: Decision;
  severity?: Severity;
  now: Date;
  committedPkr?: number;
  rows?: Uint32Array;
  /** Every line (to build a batch), or only the totals (a dry run). */
  lines: boolean;
}

/**
 * Lines as a worker sends them back: one typed array per field, by line, and what many lines share
 * (payers' lists, reasons) as numbers into the caseload's lists. A line's household facts (id, source,
 * area codes, PMT) are read from the registry's columns at `row`, which both threads share.
 */
export interface CompactLines {
  row: Uint32Array;
  /** The line's amount before netting (CaseloadLine.amount). */
  amount: Float64Array;
  payers: Uint32Array;
  reasons: Uint32Array;
}

/** A caseload in the form a worker answers with: the summary, and the lines as typed arrays. */
export interface CompactCaseload {
  summary: Caseload;
  asOf: string;
  /** The largest amount of any line, within the ceiling or cut: the unit rupees are rounded to when protected. */
  largest: number;
  lines: CompactLines;
  cut: CompactLines;
  payerLists: (readonly Readonly<LinePayer>[])[];
  reasonsLists: (readonly string[])[];
}

/**
 * The positions in `rows` of household ids, by binary search when the ids ascend with the rows (the index
 * is read in id order), by a map otherwise.
 */
function rowFinder(index: RegistryIndex, rows: Uint32Array): (id: string) => number {
  const ids = index.ids;
  let ascending = true;
  for (let k = 1; k < rows.length && ascending; k++) ascending = ids[rows[k - 1]!]! < ids[rows[k]!]!;
  if (!ascending) {
    const at = new Map<string, number>();
    for (const r of rows) at.set(String(ids[r]), r);
    return (id) => at.get(id)!;
  }
  return (id) => {
    const want = Number(id);
    let lo = 0;
    let hi = rows.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (ids[rows[mid]!]! < want) lo = mid + 1;
      else hi = mid;
    }
    return rows[lo]!;
  };
}

/** The caseload of a job, computed as `caseloadWithLines` does, in the compact form (in a spatial worker). */
export function compactCaseload(index: RegistryIndex, job: CaseloadJob): CompactCaseload {
  const weighed = weigh(index, { rule: job.rule, decision: job.decision, now: job.now, ...(job.severity ? { severity: job.severity } : {}), ...(job.committedPkr ? { committedPkr: job.committedPkr } : {}), ...(job.rows ? { rows: job.rows } : {}) });
  const { lines, cut } = weighed.result;
  let largest = 0;
  for (const line of lines) largest = Math.max(largest, line.amount);
  for (const line of cut) largest = Math.max(largest, line.amount);
  const payerLists: (readonly Readonly<LinePayer>[])[] = [];
  const reasonsLists: (readonly string[])[] = [];
  const payerAt = new Map<readonly unknown[], number>();
  const reasonsAt = new Map<readonly string[], number>();
  const rowOf = rowFinder(index, weighed.rows);
  const pack = (list: CaseloadLine[]): CompactLines => {
    const n = job.lines ? list.length : 0;
    const out = { row: new Uint32Array(n), amount: new Float64Array(n), payers: new Uint32Array(n), reasons: new Uint32Array(n) };
    for (let k = 0; k < n; k++) {
      const l = list[k]!;
      let p = payerAt.get(l.payers);
      if (p === undefined) payerAt.set(l.payers, (p = payerLists.push(l.payers) - 1));
      let r = reasonsAt.get(l.reasons);
      if (r === undefined) reasonsAt.set(l.reasons, (r = reasonsLists.push(l.reasons) - 1));
      out.row[k] = rowOf(l.householdId);
      out.amount[k] = l.amount;
      out.payers[k] = p;
      out.reasons[k] = r;
    }
    return out;
  };
  return { summary: summaryOf(index, weighed), asOf: weighed.result.asOf, largest, lines: pack(lines), cut: pack(cut), payerLists, reasonsLists };
}

