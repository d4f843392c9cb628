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
import { pkrText } from '../../triggers/money-text.ts';
import { protectAmount, protectCount, type Disclosure } from '../registry/disclosure.ts';
import type { FlatPolygons } from '../../geodata/flat-polygons.ts';
import type { Db } from '../db/client.ts';
import type { RegistryCache, RegistryIndex } from '../registry/registry-index.ts';

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

/**
 * A decision's caseload computed off the main thread: a polygon's households are found first in a spatial
 * worker within the area budget (MADAD_SPATIAL_BUDGET_MS), then a worker weighs them (or the households of
 * the decision's codes) with a budget of its own. `db` is the handle the index is read through (a caller's
 * transaction, see RegistryCache.get).
 */
export async function caseloadInWorker(
  registry: RegistryCache,
  input: { rule: Rule; decision: Decision; geometry: FlatPolygons | null; severity?: Severity; now: Date },
  options: { lines: boolean; db?: Db },
): Promise<{ index: RegistryIndex; caseload: CompactCaseload }> {
  const { rule, decision, geometry, severity, now } = input;
  const job: CaseloadJob = { rule, decision, now, lines: options.lines, ...(severity ? { severity } : {}) };
  if (geometry) {
    const { index, rows } = await registry.select({ codes: decision.areaCodes, geometry }, options.db);
    return { index, caseload: await registry.caseload(index, { ...job, rows }) };
  }
  const index = await registry.get(options.db);
  return { index, caseload: await registry.caseload(index, job) };
}

/** A caseload as a role without identity access sees it (server/registry/disclosure.ts): counts may be null. */
export type ProtectedCaseload = ReturnType<typeof protectCaseload>;

/**
 * Every household count under the smallest cell hidden and the rest rounded; every sum of rupees hidden
 * with its households and rounded to `minCell` times the largest line (`unit`), since rupees divided by a
 * benefit would give the count back. A percentile cut-off is the PMT of one household: shown only when the
 * households it is taken over are not too few. The ceiling's sentence is written again from what is shown.
 */
export function protectCaseload(c: Caseload, d: Disclosure | null, unit: number) {
  const n = (x: number) => protectCount(x, d);
  const pkr = (amount: number, households: number) => protectAmount(amount, households, unit, d);
  const few = (x: number | null) => (x === null ? `fewer than ${d!.minCell}` : String(x));
  const ceiling = {
    ceilingPkr: c.ceiling.ceilingPkr,
    committedPkr: c.ceiling.committedPkr,
    cutHouseholds: n(c.ceiling.cutHouseholds),
    cutPkr: pkr(c.ceiling.cutPkr, c.ceiling.cutHouseholds),
    text: c.ceiling.text,
  };
  const totalPkr = pkr(c.totalPkr, c.households);
  if (d) {
    const paid = totalPkr === null ? 'an amount for fewer households than are shown' : pkrText(totalPkr);
    ceiling.text =
      c.ceiling.cutHouseholds === 0
        ? `about ${paid} within the ceiling of ${pkrText(c.ceiling.ceilingPkr)}`
        : `${few(ceiling.cutHouseholds)} lines (${ceiling.cutPkr === null ? 'amount not shown' : `about ${pkrText(ceiling.cutPkr)}`}) cut by the ceiling of ${pkrText(c.ceiling.ceilingPkr)}`;
    ceiling.text += `; counts under ${d.minCell} are not shown and the others are rounded to ${d.roundedTo}`;
  }
  return {
    ...c,
    householdsInArea: n(c.householdsInArea),
    eligible: n(c.eligible),
    cutoffs: c.cutoffs.map((k) => {
      const shown = protectCount(k.households, d) !== null;
      return { ...k, households: n(k.households), rank: shown ? n(k.rank) : null, atOrUnder: shown ? n(k.atOrUnder) : null, pmtCutoff: shown ? k.pmtCutoff : null };
    }),
    // Zero too: in a tiny area, 0 against "fewer than 10" would tell whether the one household passed.
    excluded: Object.fromEntries(Object.entries(c.excluded).map(([why, count]) => [why, n(count)])),
    requestedPkr: pkr(c.requestedPkr, c.eligible),
    totalPkr,
    households: n(c.households),
    ceiling,
    byPayer: c.byPayer.map((p) => ({ ...p, households: n(p.households), amountPkr: pkr(p.amountPkr, p.households) })),
    byArea: c.byArea.map((a) => ({ ...a, households: n(a.households), amountPkr: pkr(a.amountPkr, a.households) })),
    disclosure: d,
  };
}

