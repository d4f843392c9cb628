import { describe, expect, it } from 'vitest';
import { MAX_BACKOFF_SECONDS, nextPollAfterFailure, nextPollAfterSuccess } from '../../server/feeds/backoff.ts';
import { formatEvery, parseEvery } from '../../server/feeds/schema.ts';

const now = new Date('2026-08-26T05:00:00Z');
const after = (d: Date) => (d.getTime() - now.getTime()) / 1000;

describe('when a feed is polled next', () => {
  it('one interval after a good poll', () => {
    expect(after(nextPollAfterSuccess(300, now))).toBe(300);
  });

  it('doubles the wait per failure in a row, up to six hours', () => {
    expect([1, 2, 3, 4].map((f) => after(nextPollAfterFailure(60, f, now)))).toEqual([120, 240, 480, 960]);
    expect(after(nextPollAfterFailure(300, 10, now))).toBe(MAX_BACKOFF_SECONDS);
    expect(after(nextPollAfterFailure(300, 5000, now))).toBe(6 * 3600);
  });
});

describe('poll intervals', () => {
  it('reads 30s, 5m and 1h, and writes them back the same way', () => {
    expect(['30s', '5m', '1h', '90s'].map(parseEvery)).toEqual([30, 300, 3600, 90]);
    expect([30, 300, 3600, 90].map(formatEvery)).toEqual(['30s', '5m', '1h', '90s']);
    expect(parseEvery('5 minutes')).toBeUndefined();
  });
});
