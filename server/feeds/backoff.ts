/** However often a feed fails, it is tried again within this long. */
export const MAX_BACKOFF_SECONDS = 6 * 3600;

/** When to poll next after a good poll: one interval on. */
export function nextPollAfterSuccess(everySeconds: number, now: Date): Date {
  return new Date(now.getTime() + everySeconds * 1000);
}

/**
 * When to poll next after `failures` failed polls in a row (this one included): the interval doubled
 * per failure, `everySeconds × 2^failures`, capped at six hours, so a feed that is down is not hammered
 * and one that comes back is picked up the same day.
 */
export function nextPollAfterFailure(everySeconds: number, failures: number, now: Date): Date {
  const seconds = Math.min(everySeconds * 2 ** failures, MAX_BACKOFF_SECONDS);
  return new Date(now.getTime() + seconds * 1000);
}
