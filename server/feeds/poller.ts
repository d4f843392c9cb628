import { eq } from 'drizzle-orm';
import { systemActor } from '../access/principal.ts';
import { AlertParseError } from '../alerts/parse/error.ts';
import { ingestBody } from '../alerts/store.ts';
import type { Ctx } from '../context.ts';
import type { Database } from '../db/client.ts';
import { withAdvisoryLock } from '../db/locks.ts';
import { feeds } from '../db/schema/index.ts';
import { PayloadTooLargeError, ValidationError } from '../errors.ts';
import { PrivateAddressError, type PrivateAddressPolicy } from './address.ts';
import { nextPollAfterFailure, nextPollAfterSuccess } from './backoff.ts';
import { FetchFailure, requestFeed, statusText } from './fetch.ts';
import { dueFeeds, getFeed, type Feed } from './service.ts';

export interface PollOptions {
  /**
   * The database the context's handle belongs to: a poll holds a session advisory lock, which needs one
   * connection from lock to unlock.
   */
  database: Database;
  /** How long one fetch may take, body included. */
  timeoutMs?: number;
  /** Largest body accepted from a feed, in bytes. */
  maxBytes?: number;
  /** Feeds whose host is or resolves to a private address are refused unless this allows it (MADAD_FEEDS_ALLOW_PRIVATE). */
  allowPrivate?: PrivateAddressPolicy;
}

export const DEFAULT_TIMEOUT_MS = 20_000;
export const DEFAULT_MAX_BYTES = 10 * 1024 * 1024;

export interface PollResult {
  feedId: string;
  url: string;
  /**
   * `fetched`: a body was ingested; `not-modified`: the server said 304; `failed`: see `error`;
   * `skipped`: another process holds the feed's lock, or the feed was no longer due when the lock came.
   */
  outcome: 'fetched' | 'not-modified' | 'failed' | 'skipped';
  httpStatus?: number;
  created: number;
  updated: number;
  unchanged: number;
  rejected: number;
  /** Identifier and reason of each rejected message. */
  rejections: string[];
  error?: string;
  nextPollAt?: Date;
}

const ACCEPT: Record<string, string> = {
  'cap-rss': 'application/rss+xml, application/xml;q=0.9, */*;q=0.1',
  'cap-atom': 'application/atom+xml, application/xml;q=0.9, */*;q=0.1',
  'gdacs-rss': 'application/rss+xml, application/xml;q=0.9, */*;q=0.1',
  'gdacs-api': 'application/json, */*;q=0.1',
  usgs: 'application/geo+json, application/json;q=0.9, */*;q=0.1',
};

/**
 * Polls one feed under the advisory lock `feed:<id>`, so two server processes never fetch one feed at
 * once. The row is read again under the lock: a feed another process has just polled is no longer due
 * and is skipped, so one due poll means one fetch.
 */
export async function pollFeed(ctx: Ctx, feedId: string, options: PollOptions): Promise<PollResult> {
  let result: PollResult | undefined;
  const ran = await withAdvisoryLock(options.database, `feed:${feedId}`, async () => {
    const feed = await getFeed(ctx, feedId);
    if (feed.nextPollAt > ctx.now) {
      result = skipped(feed);
      return;
    }
    result = await pollLocked(ctx, feed, options);
  });
  if (!ran || !result) {
    const feed = await getFeed(ctx, feedId);
    return skipped(feed);
  }
  return result;
}

/** Polls every feed that is due, one after another (each poll holds a connection for its lock). */
export async function pollDueFeeds(ctx: Ctx, options: PollOptions): Promise<PollResult[]> {
  const results: PollResult[] = [];
  for (const feed of await dueFeeds(ctx)) results.push(await pollFeed(ctx, feed.id, options));
  return results;
}

function skipped(feed: Feed): PollResult {
  return { feedId: feed.id, url: feed.url, outcome: 'skipped', created: 0, updated: 0, unchanged: 0, rejected: 0, rejections: [], nextPollAt: feed.nextPollAt };
}

async function pollLocked(ctx: Ctx, feed: Feed, options: PollOptions): Promise<PollResult> {
  const base = { feedId: feed.id, url: feed.url, created: 0, updated: 0, unchanged: 0, rejected: 0, rejections: [] as string[] };
  const { db, now } = ctx;
  try {
    const fetched = await fetchFeed(feed, options);
    if (fetched.status === 304) {
      const nextPollAt = nextPollAfterSuccess(feed.everySeconds, now);
      await db
        .update(feeds)
        .set({ lastPolledAt: now, lastSuccessAt: now, consecutiveFailures: 0, nextPollAt })
        .where(eq(feeds.id, feed.id));
      return { ...base, outcome: 'not-modified', httpStatus: 304, nextPollAt };
    }
    // A body refused as a whole throws a ValidationError naming the line; it is recorded as this poll's error.
    // What a feed brings is stored as the feed's, whoever asked for the poll.
    const report = await ingestBody({ ...ctx, actor: systemActor(`feed:${feed.url}`) }, { body: fetched.body, contentType: fetched.contentType, publisher: { senders: feed.senders, jurisdiction: 'PK' } });
    const count = (r: string) => report.items.filter((i) => i.result === r).length;
    const counts = { created: count('created'), updated: count('updated'), unchanged: count('unchanged'), rejected: count('rejected') };
    const rejections = report.items.filter((i) => i.result === 'rejected').map((i) => `${i.identifier ?? 'a message'}: ${i.reason}`);
    if (report.items.length > 0 && counts.rejected === report.items.length) {
      throw new FetchFailure(`no message could be accepted: ${rejections.join('; ')}`, fetched.status);
    }
    const nextPollAt = nextPollAfterSuccess(feed.everySeconds, now);
    await db
      .update(feeds)
      .set({
        // Validators are kept only after a body was stored, so a failed ingest is fetched again in full.
        etag: fetched.etag,
        lastModified: fetched.lastModified,
        lastPolledAt: now,
        lastSuccessAt: now,
        consecutiveFailures: 0,
        nextPollAt,
        itemsSeen: feed.itemsSeen + counts.created + counts.updated,
      })
      .where(eq(feeds.id, feed.id));
    return { ...base, ...counts, rejections, outcome: 'fetched', httpStatus: fetched.status, nextPollAt };
  } catch (err) {
    const error = describeError(err).slice(0, 1000);
    const failures = feed.consecutiveFailures + 1;
    const nextPollAt = nextPollAfterFailure(feed.everySeconds, failures, now);
    await db
      .update(feeds)
      .set({ lastPolledAt: now, lastError: error, lastErrorAt: now, consecutiveFailures: failures, nextPollAt })
      .where(eq(feeds.id, feed.id));
    return { ...base, outcome: 'failed', httpStatus: err instanceof FetchFailure ? err.httpStatus : undefined, error, nextPollAt };
  }
}

interface Fetched {
  status: number;
  body: Uint8Array;
  contentType?: string;
  etag: string | null;
  lastModified: string | null;
}

/**
 * A conditional GET (RFC 9110 §13.1: If-None-Match with the ETag, If-Modified-Since with Last-Modified),
 * refused when the feed's host, or a host it redirects to, is not a public address (./address.ts). Any
 * failure comes out as a FetchFailure in our own words.
 */
async function fetchFeed(feed: Feed, options: PollOptions): Promise<Fetched> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const headers: Record<string, string> = { accept: ACCEPT[feed.format] ?? '*/*', 'user-agent': 'Madad feed poller' };
  if (feed.etag) headers['if-none-match'] = feed.etag;
  if (feed.lastModified) headers['if-modified-since'] = feed.lastModified;
  let res;
  try {
    res = await requestFeed({ url: feed.url, headers, timeoutMs, maxBytes: options.maxBytes ?? DEFAULT_MAX_BYTES, allowPrivate: options.allowPrivate ?? false });
  } catch (err) {
    throw new FetchFailure(describeNetworkError(err, timeoutMs), err instanceof FetchFailure ? err.httpStatus : undefined);
  }
  if (res.status === 304) return { status: 304, body: new Uint8Array(), etag: feed.etag, lastModified: feed.lastModified };
  if (res.status < 200 || res.status > 299) throw new FetchFailure(`HTTP ${res.status} ${statusText(res.status)}`.trim(), res.status);
  if (res.body.length === 0) throw new FetchFailure(`HTTP ${res.status} with an empty body`, res.status);
  const header = (name: string) => {
    const value = res.headers[name];
    return typeof value === 'string' ? value : null;
  };
  return { status: res.status, body: res.body, contentType: header('content-type') ?? undefined, etag: header('etag'), lastModified: header('last-modified') };
}

function describeNetworkError(err: unknown, timeoutMs: number): string {
  if (err instanceof FetchFailure || err instanceof PrivateAddressError) return err.message;
  if (err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError')) return `no complete answer within ${timeoutMs / 1000} s`;
  // node's own words for a network failure (ECONNREFUSED, ENOTFOUND, a TLS failure): they hold no body.
  return `the feed could not be reached: ${err instanceof Error ? err.message : String(err)}`;
}

/**
 * What the feed's status shows of a failed poll. A body refused by the parser gets a fixed description with
 * its place only: the parser's message may quote the body, and a feed's status must never show what a
 * server answered (a URL pointed at an internal service would read it out). Anything else that went wrong
 * while storing says only its kind.
 */
function describeError(err: unknown): string {
  if (err instanceof FetchFailure) return err.message;
  if (err instanceof AlertParseError) {
    const place = [
      err.line !== undefined ? `line ${err.line}` : '',
      err.column !== undefined ? `column ${err.column}` : '',
      err.field && /^[\w.[\]-]{1,60}$/.test(err.field) ? `at ${err.field}` : '',
    ].filter(Boolean);
    return `the body is not a feed Madad can read${place.length ? ` (${place.join(', ')})` : ''}`;
  }
  if (err instanceof ValidationError) return 'the body is not a feed Madad can read';
  if (err instanceof PayloadTooLargeError) return 'the body holds more messages than one poll may store';
  return `the body could not be stored (${err instanceof Error ? err.name.replace(/\W/g, '').slice(0, 40) : 'unknown error'})`;
}
