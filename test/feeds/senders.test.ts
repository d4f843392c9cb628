import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pollFeed } from '../../server/feeds/poller.ts';
import { testApp } from '../harness/app.ts';
import { capMessage } from '../harness/cap.ts';
import { createTestDatabase, drivers, type TestDatabase } from '../harness/databases.ts';
import { bearer, setupCtx, unique } from '../harness/factories.ts';
import { FeedServer } from './feed-server.ts';

/** A polled feed publishes only as the senders its configuration allows (issue 13, finding 1). */
describe.each(drivers)('what a polled feed may publish, on %s', (driver) => {
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

  const addFeed = async (body: string, senders: string[]) => {
    const url = publisher.serve(`/${unique('cap')}.xml`, { body });
    const res = await app.request('/api/feeds', { method: 'POST', headers: { authorization: admin, 'content-type': 'application/json' }, body: JSON.stringify({ url, format: 'cap-rss', senders }) });
    expect(res.status).toBe(201);
    return (await res.json()) as { id: string; url: string };
  };

  it("stores the messages of the feed's own senders and refuses any other, naming it", async () => {
    const own = capMessage({ identifier: unique('own'), sender: 'ffd@pmd.gov.pk' }).replace(/<\?xml[^>]*>/, '');
    const forged = capMessage({ identifier: unique('forged'), sender: 'ndma.gov.pk' }).replace(/<\?xml[^>]*>/, '');
    const feed = await addFeed(`<alerts>${own}${forged}</alerts>`, ['ffd@pmd.gov.pk']);
    const result = await pollFeed(setupCtx(db.db, now), feed.id, { database: db, allowPrivate: true });
    expect(result).toMatchObject({ outcome: 'fetched', created: 1, rejected: 1 });
    expect(result.rejections[0]).toContain(`sender ndma.gov.pk is not one system:feed:${feed.url} may publish as (it may publish as ffd@pmd.gov.pk)`);
  });

  it('fails a poll whose every message comes from another sender, with the reason as its last error', async () => {
    const feed = await addFeed(capMessage({ identifier: unique('usgs'), sender: 'earthquake.usgs.gov' }), ['ffd@pmd.gov.pk']);
    expect(await pollFeed(setupCtx(db.db, now), feed.id, { database: db, allowPrivate: true })).toMatchObject({ outcome: 'failed', created: 0 });
    const status = await (await app.request(`/api/feeds/${feed.id}`, { headers: { authorization: admin } })).json();
    expect(status.lastError).toContain('sender earthquake.usgs.gov is not one');
  });
});
