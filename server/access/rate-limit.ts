import { TooManyRequestsError } from '../errors.ts';

/**
 * A fixed-window counter per key, in this process's memory: each replica counts on its own. Enough to slow
 * wrong API tokens and token creation; sign-in is limited in the database instead (server/auth/throttle.ts),
 * where parallel attempts and every replica count together.
 */
export class RateLimiter {
  private windows = new Map<string, { start: number; count: number }>();

  constructor(
    private readonly limit: number,
    private readonly windowMs: number,
  ) {}

  /** Counts one attempt for `key`; throws TooManyRequestsError past the limit. */
  hit(key: string, now: number, what: string): void {
    const w = this.windows.get(key);
    if (!w || now - w.start >= this.windowMs) {
      if (this.windows.size > 10_000) this.sweep(now);
      this.windows.set(key, { start: now, count: 1 });
      return;
    }
    w.count++;
    if (w.count > this.limit) {
      const wait = Math.ceil((w.start + this.windowMs - now) / 1000);
      throw new TooManyRequestsError(`Too many ${what}. Try again in ${wait} seconds.`, wait);
    }
  }

  private sweep(now: number): void {
    for (const [key, w] of this.windows) if (now - w.start >= this.windowMs) this.windows.delete(key);
  }
}
