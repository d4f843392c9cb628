/**
 * Shared by the fuzz tests: fast-check's parameters, the time budget of one case, and text mutations.
 * Runs are few by default (the suite must stay quick); FUZZ_RUNS multiplies them for a long hunt, and
 * FUZZ_SEED replays the run whose seed a failure printed (fast-check prints seed and path).
 */
import fc from 'fast-check';

export function fuzzParams(numRuns: number): fc.Parameters<unknown> {
  const factor = Number(process.env.FUZZ_RUNS ?? 1);
  return {
    numRuns: Math.max(1, Math.round(numRuns * (Number.isFinite(factor) && factor > 0 ? factor : 1))),
    ...(process.env.FUZZ_SEED ? { seed: Number(process.env.FUZZ_SEED) } : {}),
  };
}

/**
 * A correctness bound, not a speed target: one input that takes longer than this is as good as a hang
 * for the server that reads it. Each case is timed on its own.
 */
export const CASE_BUDGET_MS = 2_000;

export function withinBudget<T>(what: string, run: () => T): T {
  const started = performance.now();
  const result = run();
  const ms = performance.now() - started;
  if (ms > CASE_BUDGET_MS) throw new Error(`${what} took ${Math.round(ms)} ms, more than the ${CASE_BUDGET_MS} ms one case may take`);
  return result;
}

export async function withinBudgetAsync<T>(what: string, run: () => Promise<T>, budget = CASE_BUDGET_MS): Promise<T> {
  const started = performance.now();
  const result = await run();
  const ms = performance.now() - started;
  if (ms > budget) throw new Error(`${what} took ${Math.round(ms)} ms, more than the ${budget} ms one case may take`);
  return result;
}

/**
 * A place in [0, 1), spread evenly: fast-check's doubles spread over their bit patterns (most are tiny)
 * and its integers lean towards small values, so either would put most edits on the first byte.
 */
export const place = fc.noBias(fc.integer({ min: 0, max: 999_999 })).map((n) => n / 1_000_000);

export interface Mutation {
  /** Where, as a fraction of the text's length, so one mutation fits texts of any size. */
  at: number;
  op: 'insert' | 'delete' | 'duplicate' | 'replace';
  length: number;
  token: string;
}

/** One edit at a random place: a token from `tokens` (the format's own syntax) or any text at all. */
export const mutation = (tokens: readonly string[]): fc.Arbitrary<Mutation> =>
  fc.record({
    at: place,
    op: fc.constantFrom('insert', 'delete', 'duplicate', 'replace'),
    length: fc.integer({ min: 0, max: 80 }),
    token: fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...tokens) }, { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 12 }) }),
  });

export const mutations = (tokens: readonly string[]) => fc.array(mutation(tokens), { minLength: 1, maxLength: 6 });

export function mutate(text: string, edits: readonly Mutation[]): string {
  let out = text;
  for (const { at, op, length, token } of edits) {
    const i = Math.floor(at * out.length);
    if (op === 'insert') out = out.slice(0, i) + token + out.slice(i);
    else if (op === 'delete') out = out.slice(0, i) + out.slice(i + length);
    else if (op === 'duplicate') out = out.slice(0, i + length) + out.slice(i, i + length) + out.slice(i + length);
    else out = out.slice(0, i) + token + out.slice(i + Math.max(1, token.length));
  }
  return out;
}
