import type { Decision, Rule, Severity } from '../../triggers/index.ts';
import { pkrText } from '../../triggers/money-text.ts';
import { protectAmount, protectCount, type Disclosure } from '../registry/disclosure.ts';
import type { FlatPolygons } from '../../geodata/flat-polygons.ts';
import type { Db } from '../db/client.ts';
import type { RegistryCache, RegistryIndex } from '../registry/registry-index.ts';
import type { Caseload, CaseloadJob, CompactCaseload } from '../registry/caseload.ts';

export { caseload, caseloadWithLines, compactCaseload } from '../registry/caseload.ts';
export type { Caseload, CaseloadInput, CaseloadJob, CaseloadLine, CaseloadWithLines, CompactCaseload, CompactLines } from '../registry/caseload.ts';

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

