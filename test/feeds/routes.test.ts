import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pollFeed } from '../../server/feeds/poller.ts';
import { testApp } from '../harness/app.ts';
import { capMessage } from '../harness/cap.ts';
import { createTestDatabase, drivers, type TestDatabase } from '../harness/databases.ts';
import { bearer, setupCtx, unique } from '../harness/factories.ts';
import { FeedServer } from './feed-server.ts';

describe.each(drivers)('feeds API, on %s', (driver) => {
  let db: TestDatabase;
  let app: ReturnType<typeof testApp>;
  let admin: string;
  const publisher = new FeedServer();
  const now = new Date('2026-08-26T05:00:00Z');

  beforeAll(async () => {
    db = await createTestDatabase(driver);
    app = testApp(db, { clock: () => now });
    admin = (await bearer(db.db, 'admin', 'PK')).authorization;
    await publisher.start();
  });
  afterAll(async () => {
    await publisher.stop();
    await db.drop();
  });

  const post = (body: unknown) =>
    app.request('/api/feeds', { method: 'POST', headers: { authorization: admin, 'content-type': 'application/json' }, body: JSON.stringify(body) });

  it('adds a feed due at once, with the interval given, and refuses the same URL twice', async () => {
    const url = `https://example.org/${unique('cap')}.xml`;
    const res = await post({ url, format: 'cap-atom', every: '30s', senders: ['ffd@pmd.gov.pk'] });
    expect(res.status).toBe(201);
    expect(await res.json()).toMatchObject({
      url,
      format: 'cap-atom',
      every: '30s',
      everySeconds: 30,
      status: 'new',
      nextPollAt: now.toISOString(),
      itemsSeen: 0,
      senders: ['ffd@pmd.gov.pk'],
      createdBy: expect.stringMatching(/^token:/),
    });
    const again = await post({ url, format: 'cap-atom', every: '1h', senders: ['ffd@pmd.gov.pk'] });
    expect(again.status).toBe(409);
    expect((await again.json()).detail).toContain(url);
  });

  it('answers 400 naming each bad field', async () => {
    const res = await post({ url: 'ftp://example.org/feed.xml', format: 'rss', every: '10s' });
    expect(res.status).toBe(400);
    const problem = await res.json();
    expect(problem.errors).toEqual(
      expect.arrayContaining([
        { field: 'json.url', message: 'expected an http:// or https:// URL' },
        { field: 'json.format', message: expect.stringContaining('cap-rss') },
        { field: 'json.every', message: 'expected at least 30s' },
      ]),
    );
    for (const [body, field] of [
      [{ url: 'file:///etc/passwd', format: 'cap-rss' }, 'json.url'],
      [{ url: 'not a url', format: 'cap-rss' }, 'json.url'],
      [{ url: 'https://example.org/a.xml', format: 'usgs', every: 'often' }, 'json.every'],
      [{ format: 'usgs' }, 'json.url'],
      // A CAP feed carries its publishers' senders, which only the person adding it knows.
      [{ url: 'https://example.org/b.xml', format: 'cap-rss' }, 'json.senders'],
      [{ url: 'https://example.org/c.xml', format: 'cap-rss', senders: ['two words'] }, 'json.senders.0'],
    ] as const) {
      const bad = await post(body);
      expect(bad.status, JSON.stringify(body)).toBe(400);
      expect((await bad.json()).errors.map((e: { field: string }) => e.field)).toContain(field);
    }
  });

  it('lists each feed with its status: last success, last error, items seen, next poll', async () => {
    const good = await (await post({ url: publisher.serve(`/${unique('good')}`, { body: capMessage({ identifier: unique('listed') }) }), format: 'cap-rss', every: '5m', senders: ['pmd.gov.pk'] })).json();
    const bad = await (await post({ url: publisher.serve(`/${unique('bad')}`, { status: 502 }), format: 'gdacs-rss', every: '10m' })).json();
    await pollFeed(setupCtx(db.db, now), good.id, { database: db, allowPrivate: true });
    await pollFeed(setupCtx(db.db, now), bad.id, { database: db, allowPrivate: true });

    const officer = (await bearer(db.db, 'dma_officer', 'PK7')).authorization;
    const res = await app.request('/api/feeds', { headers: { authorization: officer } });
    expect(res.status).toBe(200);
    const { items } = await res.json();
    expect(items.find((f: { id: string }) => f.id === good.id)).toMatchObject({
      status: 'ok',
      lastSuccessAt: now.toISOString(),
      lastError: null,
      itemsSeen: 1,
      nextPollAt: new Date(now.getTime() + 300_000).toISOString(),
    });
    expect(items.find((f: { id: string }) => f.id === bad.id)).toMatchObject({
      status: 'failing',
      lastSuccessAt: null,
      lastError: 'HTTP 502 Bad Gateway',
      lastErrorAt: now.toISOString(),
      consecutiveFailures: 1,
      nextPollAt: new Date(now.getTime() + 1_200_000).toISOString(),
    });
  });

  it('gives a GDACS or USGS feed the sender its parser sets, unless told otherwise', async () => {
    const gdacs = await (await post({ url: `https://example.org/${unique('gdacs')}.xml`, format: 'gdacs-rss' })).json();
    expect(gdacs.senders).toEqual(['gdacs.org']);
    const usgs = await (await post({ url: `https://example.org/${unique('usgs')}.geojson`, format: 'usgs' })).json();
    expect(usgs.senders).toEqual(['earthquake.usgs.gov']);
  });

  it('answers 404 for a feed that does not exist', async () => {
    const res = await app.request(`/api/feeds/${crypto.randomUUID()}`, { headers: { authorization: admin } });
    expect(res.status).toBe(404);
  });
});
