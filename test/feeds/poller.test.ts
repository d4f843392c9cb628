import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, queryRows } from '../../server/db/client.ts';
import { pollFeed } from '../../server/feeds/poller.ts';
import { testApp } from '../harness/app.ts';
import { capMessage } from '../harness/cap.ts';
import { createTestDatabase, drivers, type TestDatabase } from '../harness/databases.ts';
import { bearer, setupCtx, unique } from '../harness/factories.ts';
import { fixture } from '../harness/fixtures.ts';
import { FeedServer } from './feed-server.ts';

const GDACS_RSS = fixture('gdacs/gdacs-rss-fixture-small_2019-12-30.xml');
const USGS_SUMMARY = fixture('usgs/usgs-summary_significant_month_2022-04-05_orange.geojson');
const LAST_MODIFIED = 'Mon, 30 Dec 2019 10:00:00 GMT';

describe.each(drivers)('feeds polled, on %s', (driver) => {
  let db: TestDatabase;
  let app: ReturnType<typeof testApp>;
  let admin: string;
  let officer: string;
  const publisher = new FeedServer();
  const t0 = new Date('2026-08-26T05:00:00Z');
  const at = (seconds: number) => new Date(t0.getTime() + seconds * 1000);

  beforeAll(async () => {
    db = await createTestDatabase(driver);
    app = testApp(db, { clock: () => t0 });
    admin = (await bearer(db.db, 'admin', 'PK')).authorization;
    officer = (await bearer(db.db, 'dma_officer', 'PK7')).authorization;
    await publisher.start();
  });
  afterAll(async () => {
    await publisher.stop();
    await db.drop();
  });

  /** Adds a feed through the API, as an admin would; a CAP feed publishes as capMessage's sender. */
  const addFeed = async (url: string, format: string, every = '5m', senders = format.startsWith('cap') ? ['pmd.gov.pk'] : undefined) => {
    const res = await app.request('/api/feeds', { method: 'POST', headers: { authorization: admin, 'content-type': 'application/json' }, body: JSON.stringify({ url, format, every, senders }) });
    expect(res.status, await res.clone().text()).toBe(201);
    return (await res.json()) as { id: string; url: string };
  };
  const status = async (id: string) => (await app.request(`/api/feeds/${id}`, { headers: { authorization: officer } })).json();
  // The publisher is on 127.0.0.1, which feeds may reach only when allowed (test/feeds/ssrf.test.ts).
  const poll = (id: string, now: Date, options = {}) => pollFeed(setupCtx(db.db, now), id, { database: db, allowPrivate: true, ...options });
  const countAlerts = async () => (await queryRows<{ n: number }>(db.db, sql`select count(*)::int as n from alerts`))[0]!.n;

  it('creates alerts on the first poll, then asks with If-None-Match and changes nothing on a 304', async () => {
    const path = `/gdacs/${unique('rss')}.xml`;
    const feed = await addFeed(publisher.serve(path, { body: GDACS_RSS, etag: '"gdacs-v1"', lastModified: LAST_MODIFIED }), 'gdacs-rss');

    const first = await poll(feed.id, t0);
    expect(first).toMatchObject({ outcome: 'fetched', httpStatus: 200, created: 4, updated: 0, rejected: 0 });
    expect(publisher.requests(path)[0]!.headers['if-none-match']).toBeUndefined();
    const alerts = await (await app.request('/api/alerts?pageSize=500', { headers: { authorization: officer } })).json();
    expect(alerts.items.map((a: { identifier: string }) => a.identifier)).toEqual(expect.arrayContaining(['GDACS_TC_1000643_1', 'GDACS_EQ_1199929_1287798']));
    expect(await status(feed.id)).toMatchObject({ status: 'ok', itemsSeen: 4, lastSuccessAt: t0.toISOString(), nextPollAt: at(300).toISOString() });

    const before = await countAlerts();
    const second = await poll(feed.id, at(300));
    expect(second).toMatchObject({ outcome: 'not-modified', httpStatus: 304, created: 0 });
    const asked = publisher.requests(path)[1]!.headers;
    expect(asked['if-none-match']).toBe('"gdacs-v1"');
    expect(asked['if-modified-since']).toBe(LAST_MODIFIED);
    expect(await countAlerts()).toBe(before);
    expect(await status(feed.id)).toMatchObject({ status: 'ok', itemsSeen: 4, lastSuccessAt: at(300).toISOString(), nextPollAt: at(600).toISOString() });
  });

  it('reads a USGS summary and stores its earthquakes, and does not poll before the feed is due', async () => {
    const path = `/usgs/${unique('summary')}.geojson`;
    const feed = await addFeed(publisher.serve(path, { body: USGS_SUMMARY, contentType: 'application/geo+json', lastModified: LAST_MODIFIED }), 'usgs', '1h');
    const first = await poll(feed.id, t0);
    expect(first.outcome).toBe('fetched');
    expect(first.created + first.rejected).toBe(12);
    expect(first.created).toBeGreaterThan(0);
    expect(await poll(feed.id, at(60))).toMatchObject({ outcome: 'skipped' });
    expect(publisher.requests(path)).toHaveLength(1);
    // Without an ETag the Last-Modified date alone makes the request conditional.
    expect(await poll(feed.id, at(3600))).toMatchObject({ outcome: 'not-modified' });
    expect(publisher.requests(path)[1]!.headers['if-modified-since']).toBe(LAST_MODIFIED);
  });

  it('records a 500 as the last error and backs off, doubling the wait per failure', async () => {
    const url = publisher.serve(`/broken/${unique('feed')}`, { status: 500, body: 'upstream down' });
    const feed = await addFeed(url, 'cap-rss', '1m');
    expect(await poll(feed.id, t0)).toMatchObject({ outcome: 'failed', httpStatus: 500 });
    const once = await status(feed.id);
    expect(once).toMatchObject({ status: 'failing', lastError: 'HTTP 500 Internal Server Error', lastErrorAt: t0.toISOString(), consecutiveFailures: 1, lastSuccessAt: null });
    expect(once.nextPollAt).toBe(at(120).toISOString());
    await poll(feed.id, at(120));
    expect(await status(feed.id)).toMatchObject({ consecutiveFailures: 2, nextPollAt: at(120 + 240).toISOString() });
  });

  it('comes back to a healthy status after the feed recovers', async () => {
    const path = `/flaky/${unique('feed')}`;
    const url = publisher.serve(path, { status: 503 });
    const feed = await addFeed(url, 'cap-rss', '1m');
    await poll(feed.id, t0);
    publisher.serve(path, { body: capMessage({ identifier: unique('recovered') }) });
    expect(await poll(feed.id, at(120))).toMatchObject({ outcome: 'fetched', created: 1 });
    expect(await status(feed.id)).toMatchObject({ status: 'ok', consecutiveFailures: 0, itemsSeen: 1, nextPollAt: at(180).toISOString(), lastError: 'HTTP 503 Service Unavailable' });
  });

  it('records a feed that does not answer in time as an error', async () => {
    const feed = await addFeed(publisher.serve(`/slow/${unique('feed')}`, { body: capMessage({ identifier: unique('late') }), delayMs: 3000 }), 'cap-rss');
    const started = performance.now();
    expect(await poll(feed.id, t0, { timeoutMs: 200 })).toMatchObject({ outcome: 'failed', error: 'no complete answer within 0.2 s' });
    expect(performance.now() - started).toBeLessThan(2500);
    expect(await status(feed.id)).toMatchObject({ status: 'failing', lastError: 'no complete answer within 0.2 s', consecutiveFailures: 1 });
  });

  it('refuses a body over the size limit, and a body the parser refuses, storing nothing', async () => {
    const before = await countAlerts();
    const big = await addFeed(publisher.serve(`/big/${unique('feed')}`, { body: capMessage({ identifier: unique('big'), headline: 'x'.repeat(20_000) }) }), 'cap-rss');
    expect(await poll(big.id, t0, { maxBytes: 10_000 })).toMatchObject({ outcome: 'failed', error: 'the body is larger than the limit of 10000 bytes' });
    const xxe = await addFeed(publisher.serve(`/xxe/${unique('feed')}`, { body: fixture('cap/google-xxe-attack.cap') }), 'cap-rss');
    const refused = await poll(xxe.id, t0);
    expect(refused.outcome).toBe('failed');
    expect(refused.error).toBe('the body is not a feed Madad can read (line 3)');
    expect(await countAlerts()).toBe(before);
  });

  it('records an unreachable feed as an error', async () => {
    const feed = await addFeed(`http://127.0.0.1:9/${unique('closed')}`, 'usgs');
    const result = await poll(feed.id, t0);
    expect(result.outcome).toBe('failed');
    expect((await status(feed.id)).lastError).toMatch(/^the feed could not be reached: connect ECONNREFUSED 127\.0\.0\.1:9$/);
  });

  it.runIf(driver === 'postgres')('fetches once when two processes poll the same feed at the same time', async () => {
    const path = `/shared/${unique('feed')}`;
    const feed = await addFeed(publisher.serve(path, { body: capMessage({ identifier: unique('shared') }), delayMs: 300 }), 'cap-rss');
    // A second connection pool to the same database stands for a second server process.
    const url = new URL(process.env.TEST_DATABASE_URL!);
    url.pathname = new URL(db.location).pathname;
    const other = await openDatabase({ url: url.toString(), max: 2 });
    try {
      const results = await Promise.all([poll(feed.id, t0), pollFeed(setupCtx(other.db, t0), feed.id, { database: other, allowPrivate: true })]);
      expect(results.map((r) => r.outcome).sort()).toEqual(['fetched', 'skipped']);
    } finally {
      await other.close();
    }
    expect(publisher.requests(path)).toHaveLength(1);
    expect(await status(feed.id)).toMatchObject({ itemsSeen: 1 });
  });
});
