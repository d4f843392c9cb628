import { describe, expect, it } from 'vitest';
import { evaluate, type EventSubject, type Rule } from '../../triggers/index.ts';
import { Steps, sortInSteps } from '../../server/batches/steps.ts';
import { RegistryIndex } from '../../server/registry/registry-index.ts';
import { caseloadWithLines, compactCaseload, type CompactLines } from '../../server/rules/caseload.ts';
import { readRuleDir, SHIPPED_RULES_DIR } from '../../server/rules/loader.ts';

/** A registry of `n` households over six tehsils of two districts, seeded; ids shuffled when asked. */
function registry(n: number, seed: number, shuffledIds: boolean): RegistryIndex {
  let x = seed;
  const random = () => ((x = (x * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const codes = ['', 'PK7', 'PK703', 'PK704', ...['PK70301', 'PK70302', 'PK70303', 'PK70401', 'PK70402', 'PK70403']];
  const ids = Float64Array.from({ length: n }, (_, i) => 1000 + i * 3);
  if (shuffledIds) for (let i = n - 1; i > 0; i--) { const j = Math.floor(random() * (i + 1)); [ids[i], ids[j]] = [ids[j]!, ids[i]!]; }
  const tehsil = Uint16Array.from({ length: n }, () => 4 + Math.floor(random() * 6));
  return RegistryIndex.fromColumns({
    version: `test-${seed}`,
    ids,
    lat: new Float64Array(n),
    lon: new Float64Array(n),
    cells: new BigUint64Array(n),
    // Scores on a coarse grid, so households tie at the cut-offs.
    pmt: Float32Array.from({ length: n }, () => Math.round(random() * 400) / 8),
    size: Uint8Array.from({ length: n }, () => 1 + Math.floor(random() * 9)),
    flags: Uint8Array.from({ length: n }, () => Math.floor(random() * 16)),
    enrolmentMask: Uint32Array.from({ length: n }, () => (random() < 0.3 ? 1 : 0)),
    source: Uint8Array.from({ length: n }, () => (random() < 0.9 ? 1 : 2)),
    province: new Uint16Array(n).fill(1),
    district: Uint16Array.from(tehsil, (t) => (t < 7 ? 2 : 3)),
    tehsil,
    codes,
    sources: ['', 'NSER', 'PSER'],
    enrolmentNames: ['KAFAALAT'],
  });
}

/** The lines of a compact caseload read back as the core writes them. */
function decoded(index: RegistryIndex, c: ReturnType<typeof compactCaseload>, lines: CompactLines) {
  const cols = index.columns();
  return Array.from(lines.row, (row, k) => ({
    householdId: String(cols.ids[row]),
    source: cols.sources[cols.source[row]!]!,
    province: cols.codes[cols.province[row]!]!,
    district: cols.codes[cols.district[row]!]!,
    tehsil: cols.codes[cols.tehsil[row]!]!,
    pmt: cols.pmt[row]!,
    amount: lines.amount[k]!,
    payers: c.payerLists[lines.payers[k]!]!,
    reasons: c.reasonsLists[lines.reasons[k]!]!,
  }));
}

const shipped = readRuleDir(SHIPPED_RULES_DIR).find((r) => r.rule.id === 'flood-relief-2022')!.rule as Rule;
const now = new Date('2022-09-01T00:00:00Z');
const declared: EventSubject = {
  kind: 'event',
  id: 'flood',
  hazard: 'flood',
  status: 'declared',
  areaCodes: ['PK70301', 'PK70302', 'PK704'],
  declaredAt: now.toISOString(),
  metrics: {},
};

describe('a caseload weighed in a worker answers as typed arrays', () => {
  for (const [label, shuffled, ceiling] of [
    ['ids in row order, no ceiling reached', false, undefined],
    ['ids shuffled, a ceiling that cuts', true, 20_000_000],
  ] as const) {
    it(`gives every line, cut line and total of the core's caseload (${label})`, () => {
      const index = registry(6000, shuffled ? 7 : 3, shuffled);
      const rule: Rule = ceiling ? { ...shipped, funding: { ...shipped.funding, ceiling_pkr: ceiling } } : shipped;
      const decision = evaluate(rule, declared, now);
      expect(decision.stage).toBe('activation');
      const expected = caseloadWithLines(index, { rule, decision, now });
      const compact = compactCaseload(index, { rule, decision, now, lines: true });
      expect(expected.lines.length + expected.cut.length).toBeGreaterThan(1000);
      if (ceiling) expect(expected.cut.length).toBeGreaterThan(0);
      expect(decoded(index, compact, compact.lines)).toEqual(expected.lines);
      expect(decoded(index, compact, compact.cut)).toEqual(expected.cut);
      expect(compact.summary).toEqual(expected.summary);
      expect(compact.asOf).toBe(expected.asOf);
      expect(compact.largest).toBe(Math.max(...expected.lines.map((l) => l.amount), ...expected.cut.map((l) => l.amount)));
      // Lines share their lists: a handful, not one per line.
      expect(compact.payerLists.length).toBeLessThan(10);
      expect(compact.reasonsLists.length).toBeLessThan(expected.lines.length / 10);
    });
  }

  it('answers totals only when no lines are asked for', () => {
    const index = registry(3000, 5, false);
    const decision = evaluate(shipped, declared, now);
    const compact = compactCaseload(index, { rule: shipped, decision, now, lines: false });
    expect(compact.lines.row.length).toBe(0);
    expect(compact.summary).toEqual(caseloadWithLines(index, { rule: shipped, decision, now }).summary);
  });
});

describe('sorting in steps', () => {
  it('sorts as Float64Array.prototype.sort does, across many runs', async () => {
    let x = 11;
    const values = Float64Array.from({ length: 300_001 }, (_, i) => ((x = (x * 48271) % 2147483647) % 4_000_000) * 2 ** 22 + i);
    const expected = Float64Array.from(values).sort();
    const sorted = await sortInSteps(values, new Steps());
    let differ = 0;
    for (let i = 0; i < expected.length; i++) if (sorted[i] !== expected[i]) differ++;
    expect(sorted.length).toBe(expected.length);
    expect(differ).toBe(0);
  });
});
