import { eq } from 'drizzle-orm';
import { systemActor } from '../access/principal.ts';
import { ingestBody } from '../alerts/store.ts';
import type { Ctx } from '../context.ts';
import type { Database } from '../db/client.ts';
import { withAdvisoryLock } from '../db/locks.ts';
import { feeds } from '../db/schema/index.ts';
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

/** A failure of one poll, with the message the feed's status shows: our words, never the feed's text. */
const PollFailure = FetchFailure;

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
      throw new PollFailure(`no message could be accepted: ${rejections.join('; ')}`, fetched.status);
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
    const error = describeError(err, options.timeoutMs ?? DEFAULT_TIMEOUT_MS).slice(0, 1000);
    const failures = feed.consecutiveFailures + 1;
    const nextPollAt = nextPollAfterFailure(feed.everySeconds, failures, now);
    await db
      .update(feeds)
      .set({ lastPolledAt: now, lastError: error, lastErrorAt: now, consecutiveFailures: failures, nextPollAt })
      .where(eq(feeds.id, feed.id));
    return { ...base, outcome: 'failed', httpStatus: err instanceof PollFailure ? err.httpStatus : undefined, error, nextPollAt };
  }
}

interface Fetched {
  status: number;
  body: Uint8Array;
  contentType?: string;
  etag: string | null;
  lastModified: string | null;
}

/** A conditional GET (RFC 9110 §13.1: If-None-Match with the ETag, If-Modified-Since with Last-Modified). */
async function fetchFeed(feed: Feed, options: PollOptions): Promise<Fetched> {
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
  const headers: Record<string, string> = { accept: ACCEPT[feed.format] ?? '*/*', 'user-agent': 'Madad feed poller' };
  if (feed.etag) headers['if-none-match'] = feed.etag;
  if (feed.lastModified) headers['if-modified-since'] = feed.lastModified;
  // The timeout covers the body too: aborting the signal aborts the stream being read.
  const res = await fetch(feed.url, { headers, signal: AbortSignal.timeout(options.timeoutMs ?? DEFAULT_TIMEOUT_MS), redirect: 'follow' });
  if (res.status === 304) {
    await res.body?.cancel();
    return { status: 304, body: new Uint8Array(), etag: feed.etag, lastModified: feed.lastModified };
  }
  if (!res.ok) {
    await res.body?.cancel();
    throw new PollFailure(`HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ''}`, res.status);
  }
  const body = await readCapped(res, maxBytes);
  if (body.length === 0) throw new PollFailure(`HTTP ${res.status} with an empty body`, res.status);
  return {
    status: res.status,
    body,
    contentType: res.headers.get('content-type') ?? undefined,
    etag: res.headers.get('etag'),
    lastModified: res.headers.get('last-modified'),
  };
}

async function readCapped(res: Response, maxBytes: number): Promise<Uint8Array> {
  const tooLarge = () => new PollFailure(`the body is larger than the limit of ${maxBytes} bytes`, res.status);
  const declared = Number(res.headers.get('content-length'));
  if (declared > maxBytes) {
    await res.body?.cancel();
    throw tooLarge();
  }
  if (!res.body) return new Uint8Array();
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.length;
    if (size > maxBytes) {
      await reader.cancel();
      throw tooLarge();
    }
    chunks.push(value);
  }
  const body = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) {
    body.set(chunk, at);
    at += chunk.length;
  }
  return body;
}

function describeError(err: unknown, timeoutMs: number): string {
  if (err instanceof PollFailure) return err.message;
  if (err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError')) return `no complete answer within ${timeoutMs / 1000} s`;
  if (err instanceof Error) {
    // undici puts the network reason (ECONNREFUSED, ENOTFOUND, a TLS failure) in `cause`.
    const cause = err.cause instanceof Error ? err.cause.message : undefined;
    return cause ? `${err.message}: ${cause}` : err.message;
  }
  return String(err);
}
