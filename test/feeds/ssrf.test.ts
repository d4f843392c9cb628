import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isPrivateAddress } from '../../server/feeds/address.ts';
import { pollFeed, type PollOptions } from '../../server/feeds/poller.ts';
import { testApp } from '../harness/app.ts';
import { capMessage } from '../harness/cap.ts';
import { createTestDatabase, drivers, type TestDatabase } from '../harness/databases.ts';
import { bearer, setupCtx, unique } from '../harness/factories.ts';
import { FeedServer } from './feed-server.ts';

/** Feeds are fetched from the public internet only, unless configured (issue 13, finding 4). */
describe.each(drivers)('where a feed may be fetched from, on %s', (driver) => {
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

  const addFeed = async (url: string) => {
    const res = await app.request('/api/feeds', { method: 'POST', headers: { authorization: admin, 'content-type': 'application/json' }, body: JSON.stringify({ url, format: 'cap-rss', senders: ['pmd.gov.pk'] }) });
    expect(res.status).toBe(201);
    return (await res.json()) as { id: string };
  };
  const poll = (id: string, options: Partial<PollOptions> = {}, when = now) => pollFeed(setupCtx(db.db, when), id, { database: db, ...options });
  const lastError = async (id: string) => (await (await app.request(`/api/feeds/${id}`, { headers: { authorization: admin } })).json()).lastError;
  const path = (name: string) => `/${unique(name)}.xml`;

  it('refuses a feed on the loopback address by default, without asking it, and fetches it when allowed', async () => {
    const at = path('local');
    const feed = await addFeed(publisher.serve(at, { body: capMessage({ identifier: unique('local') }) }));
    expect(await poll(feed.id)).toMatchObject({ outcome: 'failed', created: 0 });
    expect(await lastError(feed.id)).toBe('127.0.0.1 is not a public internet address; feeds are not fetched from the server\'s own or private networks unless MADAD_FEEDS_ALLOW_PRIVATE allows it');
    expect(publisher.requests(at)).toHaveLength(0);

    // Past the backoff of the failure.
    const later = new Date(now.getTime() + 3600_000);
    expect(await poll(feed.id, { allowPrivate: ['127.0.0.1'] }, later)).toMatchObject({ outcome: 'fetched', created: 1 });
    expect(publisher.requests(at)).toHaveLength(1);
  });

  it('checks every redirect: one to another private host is refused, one to an allowed host is followed', async () => {
    const target = path('target');
    publisher.serve(target, { body: capMessage({ identifier: unique('redirected') }) });
    const port = new URL(publisher.url('/')).port;
    // 127.0.0.1 is allowed; 127.0.0.2 (the loopback too) and localhost (which resolves to it) are not.
    for (const elsewhere of [`http://127.0.0.2:${port}${target}`, `http://localhost:${port}${target}`]) {
      const feed = await addFeed(publisher.serve(path('hop'), { status: 302, location: elsewhere }));
      expect(await poll(feed.id, { allowPrivate: ['127.0.0.1'] })).toMatchObject({ outcome: 'failed' });
      expect(await lastError(feed.id)).toMatch(/^(127\.0\.0\.2 is|localhost resolves to (127\.0\.0\.1|::1), which is) not a public internet address/);
    }
    expect(publisher.requests(target)).toHaveLength(0);

    const followed = await addFeed(publisher.serve(path('hop'), { status: 301, location: target }));
    expect(await poll(followed.id, { allowPrivate: ['127.0.0.1'] })).toMatchObject({ outcome: 'fetched', created: 1 });
    const loop = path('loop');
    const looping = await addFeed(publisher.serve(loop, { status: 307, location: loop }));
    expect(await poll(looping.id, { allowPrivate: true })).toMatchObject({ outcome: 'failed' });
    expect(await lastError(looping.id)).toBe('more than 5 redirects');
  });

  it('never shows what the feed answered in its last error', async () => {
    const secret = `AKIA${unique('SECRET')}`;
    const answers = [
      { body: `${secret} is the instance's key`, contentType: 'application/xml' },
      { body: `{"AccessKeyId": "${secret}"}`, contentType: 'application/json' },
      { body: `<creds><key>${secret}</key>`, contentType: 'application/xml' },
      { status: 500, statusText: `Broken ${secret}`, body: secret },
    ];
    for (const answer of answers) {
      const feed = await addFeed(publisher.serve(path('leak'), answer));
      const result = await poll(feed.id, { allowPrivate: true });
      expect(result.outcome).toBe('failed');
      expect(result.error).toMatch(/^(the body is not a feed Madad can read( \(.*\))?|HTTP 500 Internal Server Error)$/);
      expect(await lastError(feed.id)).toBe(result.error);
      expect(JSON.stringify(result)).not.toContain(secret);
    }
  });
});

describe('addresses a feed may not reach', () => {
  const table: [string, boolean][] = [
    ['8.8.8.8', false],
    ['172.32.0.1', false],
    ['100.128.0.1', false],
    ['2606:4700:4700::1111', false],
    ['::ffff:8.8.8.8', false],
    ['64:ff9b::808:808', false],
    ['0.0.0.0', true],
    ['10.1.2.3', true],
    ['100.64.0.1', true],
    ['127.0.0.1', true],
    ['169.254.169.254', true],
    ['172.16.0.1', true],
    ['192.168.1.1', true],
    ['224.0.0.1', true],
    ['255.255.255.255', true],
    ['::', true],
    ['::1', true],
    ['[::1]', true],
    ['fe80::1%eth0', true],
    ['fc00::1', true],
    ['fd12:3456::1', true],
    ['ff02::1', true],
    ['::ffff:127.0.0.1', true],
    ['::ffff:7f00:1', true],
    ['64:ff9b::10.0.0.1', true],
    ['64:ff9b::a9fe:a9fe', true],
    ['2002:a00:1::', true],
    ['not an address', true],
  ];
  it.each(table)('%s is private: %s', (address, expected) => {
    expect(isPrivateAddress(address)).toBe(expected);
  });
});
