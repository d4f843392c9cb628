import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testApp } from '../harness/app.ts';
import { runCli } from '../harness/cli.ts';
import { createTestDatabase, drivers, type TestDatabase } from '../harness/databases.ts';
import { bearer, makeUser, TEST_PASSWORD, unique } from '../harness/factories.ts';

const DAY = 86_400_000;

/** Tokens' and users' senders, token lifetimes, and who may be disabled (issue 13, findings 1 and 12). */
describe.each(drivers)('accounts and tokens, on %s', (driver) => {
  let db: TestDatabase;
  let app: ReturnType<typeof testApp>;
  let admin: string;
  const now = new Date('2026-08-26T05:00:00Z');

  beforeAll(async () => {
    db = await createTestDatabase(driver);
    app = testApp(db, { clock: () => now });
    admin = (await bearer(db.db, 'admin', 'PK')).authorization;
  });
  afterAll(() => db.drop());

  const post = (url: string, body: unknown, authorization = admin, extra: Record<string, string> = {}) =>
    app.request(url, { method: 'POST', headers: { authorization, 'content-type': 'application/json', ...extra }, body: body === undefined ? undefined : JSON.stringify(body) });
  const token = (fields: Record<string, unknown> = {}) => post('/api/tokens', { name: unique('pmd feed'), role: 'feed', agency: 'PMD', jurisdiction: 'PK7', ...fields });

  it('binds a token to its senders and shows them in its views', async () => {
    const res = await token({ senders: ['ffd@pmd.gov.pk', ' pmd.gov.pk ', 'ffd@pmd.gov.pk'] });
    expect(res.status).toBe(201);
    const created = await res.json();
    expect(created.senders).toEqual(['ffd@pmd.gov.pk', 'pmd.gov.pk']);
    const listed = await (await app.request('/api/tokens', { headers: { authorization: admin } })).json();
    expect(listed.items.find((t: { id: string }) => t.id === created.id).senders).toEqual(['ffd@pmd.gov.pk', 'pmd.gov.pk']);
  });

  it('refuses senders that are not CAP senders, and more than 20', async () => {
    const bad = await token({ senders: ['ffd@pmd.gov.pk', 'two words', 'a,b', ''] });
    expect(bad.status).toBe(400);
    expect([...new Set((await bad.json()).errors.map((e: { field: string }) => e.field))].sort()).toEqual(['json.senders.1', 'json.senders.2', 'json.senders.3']);
    const many = await token({ senders: Array.from({ length: 21 }, (_, i) => `s${i}.gov.pk`) });
    expect(many.status).toBe(400);
    expect((await many.json()).errors[0]).toMatchObject({ field: 'json.senders', message: 'expected at most 20 senders' });
  });

  it('gives a token 90 days when no expiry is given, and refuses one more than a year ahead or past', async () => {
    const plain = await (await token()).json();
    expect(plain.expiresAt).toBe(new Date(now.getTime() + 90 * DAY).toISOString());
    const year = await token({ expiresAt: new Date(now.getTime() + 365 * DAY).toISOString() });
    expect(year.status).toBe(201);
    const longer = await token({ expiresAt: new Date(now.getTime() + 366 * DAY).toISOString() });
    expect(longer.status).toBe(400);
    expect((await longer.json()).detail).toContain('A token lives at most 365 days');
    const past = await token({ expiresAt: new Date(now.getTime() - 1000).toISOString() });
    expect(past.status).toBe(400);
    expect((await past.json()).detail).toContain('has passed');
  });

  it('binds a user to their senders and shows them', async () => {
    const res = await post('/api/users', {
      username: unique('officer').toLowerCase(),
      displayName: 'PDMA officer',
      password: 'a long enough password',
      roles: ['dma_officer'],
      agency: 'PDMA Sindh',
      jurisdiction: 'PK7',
      senders: ['pdma.sindh.gov.pk'],
    });
    expect(res.status).toBe(201);
    const user = await res.json();
    expect(user.senders).toEqual(['pdma.sindh.gov.pk']);
    expect((await (await app.request(`/api/users/${user.id}`, { headers: { authorization: admin } })).json()).senders).toEqual(['pdma.sindh.gov.pk']);
  });

  it('refuses to disable your own account, and the last enabled federal admin', async () => {
    // This database's first admin users; the admin token above is no person and does not count.
    const first = await makeUser(db.db, { roles: ['admin'], jurisdiction: 'PK', agency: 'NDMA' });
    const login = await post('/api/auth/login', { username: first.username, password: TEST_PASSWORD }, '');
    const { csrfToken } = await login.json();
    const session = { cookie: login.headers.get('set-cookie')!.split(';')[0]!, 'x-csrf-token': csrfToken };
    const own = await app.request(`/api/users/${first.id}/disable`, { method: 'POST', headers: session });
    expect(own.status).toBe(409);
    expect((await own.json()).detail).toBe('You cannot disable your own account: ask another admin to.');

    const last = await post(`/api/users/${first.id}/disable`, undefined);
    expect(last.status).toBe(409);
    expect((await last.json()).detail).toContain(`${first.username} is the last enabled federal admin`);
    expect((await (await app.request(`/api/users/${first.id}`, { headers: { authorization: admin } })).json()).disabledAt).toBeNull();

    // With a second federal admin, the first may go (by the other), and then the second is the last.
    const second = await makeUser(db.db, { roles: ['admin'], jurisdiction: 'PK', agency: 'NDMA' });
    const provincial = await makeUser(db.db, { roles: ['admin'], jurisdiction: 'PK7' });
    expect((await app.request(`/api/users/${second.id}/disable`, { method: 'POST', headers: session })).status).toBe(200);
    expect((await post(`/api/users/${first.id}/disable`, undefined)).status).toBe(409);
    expect((await post(`/api/users/${provincial.id}/disable`, undefined)).status).toBe(200);
  });
});

describe('madad tokens create and madad users create --senders', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'madad-senders-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const madad = (...args: string[]) => runCli(args, { MADAD_DATA_DIR: dir, DATABASE_URL: undefined });

  it('binds a token and a user to the senders given, and refuses a sender with a space', async () => {
    const created = await madad('tokens', 'create', '--name', 'PMD CAP feed', '--role', 'feed', '--agency', 'PMD', '--jurisdiction', 'PK7', '--senders', 'ffd@pmd.gov.pk,pmd.gov.pk', '--expires', '30d');
    expect(created.stderr).toBe('');
    expect(created.stdout).toMatch(/\(feed, PK7, publishes as ffd@pmd\.gov\.pk, pmd\.gov\.pk, expires \S+Z\)/);
    const tooLong = await madad('tokens', 'create', '--name', 'x', '--role', 'feed', '--agency', 'PMD', '--jurisdiction', 'PK7', '--expires', '400d');
    expect(tooLong.code).not.toBe(0);
    expect(tooLong.stderr).toContain('A token lives at most 365 days');
    const bad = await madad('tokens', 'create', '--name', 'x', '--role', 'feed', '--agency', 'PMD', '--jurisdiction', 'PK7', '--senders', 'ffd pmd');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('--senders: 0: expected a CAP sender');

    const user = await madad('users', 'create', '--username', 'pdma.sindh', '--name', 'PDMA officer', '--roles', 'dma_officer', '--agency', 'PDMA Sindh', '--jurisdiction', 'PK7', '--senders', 'pdma.sindh.gov.pk');
    expect(user.stderr).toBe('');
    expect(user.stdout).toContain('publishes as pdma.sindh.gov.pk');
    const listed = await madad('users', 'list');
    expect(listed.stdout.split('\n').find((l) => l.startsWith('pdma.sindh'))).toContain('pdma.sindh.gov.pk');
  });
});
