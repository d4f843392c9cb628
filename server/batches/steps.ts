import { setImmediate as nextTurn } from 'node:timers/promises';

/** How long a loop over a batch's lines may hold the main thread before other requests get their turn. */
const SLICE_MS = 20;

/**
 * Turn-taking for the loops of a batch build on the main thread. At millions of lines one plain loop holds
 * the thread for a second or more, and every other request (a health check, the alert list) waits behind
 * it. `due()` is cheap enough to call on every line; when the slice is used up the loop awaits `pause()`,
 * which lets the event loop answer what arrived (requests, database replies) before it goes on.
 */
export class Steps {
  private since = performance.now();
  private calls = 0;

  /** Whether the slice is used up (the clock is read once every 1,024 calls). */
  due(): boolean {
    if ((++this.calls & 1023) !== 0) return false;
    return performance.now() - this.since >= SLICE_MS;
  }

  /** The event loop's next turn; the slice starts again after it. */
  async pause(): Promise<void> {
    await nextTurn();
    this.since = performance.now();
  }

  /** `pause()` if the slice is used up. */
  async maybe(): Promise<void> {
    if (this.due()) await this.pause();
  }
}

/** Values per run sorted natively in one call: a few milliseconds each. */
const RUN = 1 << 16;

/**
 * `values` sorted ascending, as `Float64Array.prototype.sort` sorts them, in steps: runs sorted natively,
 * then merged pairwise, pausing between slices. Sorting 2.75 M numbers in one call holds the thread for
 * about 0.3 s. Returns `values` or a second array of the same length, whichever holds the result.
 */
export async function sortInSteps(values: Float64Array<ArrayBuffer>, steps: Steps): Promise<Float64Array<ArrayBuffer>> {
  const n = values.length;
  for (let s = 0; s < n; s += RUN) {
    values.subarray(s, s + RUN).sort();
    await steps.pause();
  }
  if (n <= RUN) return values;
  let from = values;
  let to = new Float64Array(n);
  for (let width = RUN; width < n; width *= 2) {
    for (let lo = 0; lo < n; lo += 2 * width) {
      const mid = Math.min(lo + width, n);
      const hi = Math.min(lo + 2 * width, n);
      let i = lo;
      let j = mid;
      let k = lo;
      while (i < mid && j < hi) {
        to[k++] = from[i]! <= from[j]! ? from[i++]! : from[j++]!;
        if (steps.due()) await steps.pause();
      }
      while (i < mid) to[k++] = from[i++]!;
      while (j < hi) to[k++] = from[j++]!;
      await steps.maybe();
    }
    [from, to] = [to, from];
  }
  return from;
}
