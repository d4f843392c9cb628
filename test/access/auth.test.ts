import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { maskCnic } from '../../server/access/personal-data.ts';
import { testApp } from '../harness/app.ts';
import { createTestDatabase, drivers, type TestDatabase } from '../harness/databases.ts';
import { bearer, makeUser, TEST_PASSWORD, unique } from '../harness/factories.ts';

describe.each(drivers)('sign-in, sessions and tokens on %s', (driver) => {
  let db: TestDatabase;
  let now = new Date('2026-08-26T04:00:00Z');
  let app: ReturnType<typeof testApp>;

  beforeAll(async () => {
    db = await createTestDatabase(driver);
    app = testApp(db, { clock: () => now });
  });
  afterAll(() => db.drop());

  const json = (body: unknown, headers: Record<string, string> = {}) => ({
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  const signIn = (username: string, password = TEST_PASSWORD, url = '/api/auth/login') => app.request(url, json({ username, password }));
  const cookieOf = (res: Response) => res.headers.get('set-cookie')!.split(';')[0]!;

  it('signs in with an HttpOnly, SameSite=Strict session cookie and says who you are', async () => {
    const user = await makeUser(db.db, { roles: ['dma_officer'], jurisdiction: 'PK7' });
    const res = await signIn(user.username);
    expect(res.status).toBe(200);
    const setCookie = res.headers.get('set-cookie')!;
    expect(setCookie).toMatch(/^madad_session=/);
    expect(setCookie).toContain('HttpOnly');
    expect(setCookie).toContain('SameSite=Strict');
    expect(setCookie).not.toContain('Secure');
    const me = await app.request('/api/auth/me', { headers: { cookie: cookieOf(res) } });
    expect(await me.json()).toMatchObject({ kind: 'user', name: user.username, roles: ['dma_officer'], jurisdiction: 'PK7' });
  });

  it('marks the cookie Secure behind https', async () => {
    const user = await makeUser(db.db);
    const res = await signIn(user.username, TEST_PASSWORD, 'https://madad.example/api/auth/login');
    expect(res.headers.get('set-cookie')).toContain('Secure');
  });

  it('refuses cookie writes without the CSRF token, and logout ends the session', async () => {
    const user = await makeUser(db.db, { roles: ['admin'] });
    const res = await signIn(user.username);
    const { csrfToken } = await res.json();
    const cookie = cookieOf(res);
    const forged = await app.request('/api/tokens', json({ name: 'x-site', role: 'feed', agency: 'X', jurisdiction: 'PK7' }, { cookie }));
    expect(forged.status).toBe(403);
    expect((await forged.json()).detail).toContain('x-csrf-token');
    const real = await app.request('/api/tokens', json({ name: 'pmd feed', role: 'feed', agency: 'PMD', jurisdiction: 'PK7' }, { cookie, 'x-csrf-token': csrfToken }));
    expect(real.status).toBe(201);
    const out = await app.request('/api/auth/logout', { method: 'POST', headers: { cookie, 'x-csrf-token': csrfToken } });
    expect(out.status).toBe(204);
    expect((await app.request('/api/auth/me', { headers: { cookie } })).status).toBe(401);
  });

  it('expires sessions', async () => {
    const user = await makeUser(db.db);
    const cookie = cookieOf(await signIn(user.username));
    const before = now;
    now = new Date(now.getTime() + 13 * 3600_000);
    expect((await app.request('/api/auth/me', { headers: { cookie } })).status).toBe(401);
    now = before;
  });

  it('backs off, then locks an account after repeated failures, and audits each failure', async () => {
    const user = await makeUser(db.db);
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) {
      statuses.push((await signIn(user.username, 'wrong password')).status);
      now = new Date(now.getTime() + 5_000); // past the short backoff, not past the lockout
    }
    expect(statuses).toEqual([401, 401, 401, 401, 401]);
    const locked = await signIn(user.username);
    expect(locked.status).toBe(429);
    expect(Number(locked.headers.get('retry-after'))).toBeGreaterThan(800);
    now = new Date(now.getTime() + 16 * 60_000);
    expect((await signIn(user.username)).status).toBe(200);

    const auditor = await bearer(db.db, 'auditor', 'PK');
    const trail = await (await app.request(`/api/audit?action=auth.login_failed&subject=user:${user.id}`, { headers: { authorization: auditor.authorization } })).json();
    expect(trail.total).toBe(5);
  });

  it('answers the same to an unknown user and a wrong password', async () => {
    const unknown = await signIn(unique('nobody'));
    const user = await makeUser(db.db);
    const wrong = await signIn(user.username, 'not the password');
    expect(unknown.status).toBe(401);
    expect((await unknown.json()).detail).toBe((await wrong.json()).detail);
  });

  it('stops a disabled user at once', async () => {
    const user = await makeUser(db.db);
    const cookie = cookieOf(await signIn(user.username));
    const admin = await bearer(db.db, 'admin', 'PK7');
    expect((await app.request(`/api/users/${user.id}/disable`, { method: 'POST', headers: { authorization: admin.authorization } })).status).toBe(200);
    expect((await app.request('/api/auth/me', { headers: { cookie } })).status).toBe(401);
    expect((await signIn(user.username)).status).toBe(401);
  });

  /** A sign-in from `address`, as @hono/node-server hands the socket to the app (app.request has none). */
  const signInFrom = (address: string, username: string, password = TEST_PASSWORD, on = app) =>
    on.request('/api/auth/login', json({ username, password }), { incoming: { socket: { remoteAddress: address } } });
  const statusesOf = (responses: Response[]) => responses.map((r) => r.status).sort();

  it('counts parallel failures one by one: after 13 wrong passwords at once the right one waits, from that address only', async () => {
    const admin = await makeUser(db.db, { roles: ['admin'], jurisdiction: 'PK' });
    const burst = await Promise.all(Array.from({ length: 13 }, () => signInFrom('198.51.100.7', admin.username, 'wrong password')));
    // Two failures are free, the third starts a wait: every attempt after it is refused unchecked.
    expect(statusesOf(burst)).toEqual([...Array(3).fill(401), ...Array(10).fill(429)]);
    const right = await signInFrom('198.51.100.7', admin.username);
    expect(right.status).toBe(429);
    expect(Number(right.headers.get('retry-after'))).toBeGreaterThan(0);
    // Nobody can lock an account for everyone: from another address the admin signs in.
    expect((await signInFrom('203.0.113.20', admin.username)).status).toBe(200);
  });

  it('answers an unknown username as a known one, also once they must wait', async () => {
    const user = await makeUser(db.db);
    const known = await Promise.all(Array.from({ length: 6 }, () => signInFrom('198.51.100.8', user.username, 'wrong password')));
    const unknown = await Promise.all(Array.from({ length: 6 }, () => signInFrom('198.51.100.8', unique('nobody'), 'wrong password')));
    const nobody = unique('nobody');
    const unknownBurst = await Promise.all(Array.from({ length: 6 }, () => signInFrom('198.51.100.8', nobody, 'wrong password')));
    expect(statusesOf(known)).toEqual([401, 401, 401, 429, 429, 429]);
    expect(statusesOf(unknownBurst)).toEqual(statusesOf(known));
    expect(statusesOf(unknown)).toEqual(Array(6).fill(401));
    const details = async (responses: Response[]) => [...new Set(await Promise.all(responses.map(async (r) => (await r.json()).detail)))].sort();
    expect(await details(unknownBurst)).toEqual(await details(known));
  });

  it('limits failures from one address across usernames, on every replica together', async () => {
    const replica = testApp(db, { clock: () => now });
    const spray = await Promise.all(Array.from({ length: 60 }, (_, i) => signInFrom('2001:db8:5:7::1', unique('guess'), 'password1', i % 2 ? app : replica)));
    expect(statusesOf(spray)).toEqual([...Array(50).fill(401), ...Array(10).fill(429)]);
    const user = await makeUser(db.db);
    // Another address of the same /64 is the same network.
    const refused = await signInFrom('2001:db8:5:7:a:b:c:d', user.username);
    expect(refused.status).toBe(429);
    expect((await refused.json()).detail).toMatch(/^Too many failed sign-ins from your address\. Try again in \d+ seconds\.$/);
    expect((await signInFrom('2001:db8:5:8::1', user.username)).status).toBe(200);
  });

  it('accepts a token until it is revoked or expires', async () => {
    const admin = await bearer(db.db, 'admin', 'PK');
    const created = await (await app.request('/api/tokens', json({ name: 'ministry', role: 'auditor', agency: 'MoPA', jurisdiction: 'PK' }, { authorization: admin.authorization }))).json();
    expect(created.token).toMatch(/^mdd_/);
    const auth = { authorization: `Bearer ${created.token}` };
    expect((await app.request('/api/audit', { headers: auth })).status).toBe(200);
    const listed = await (await app.request('/api/tokens', { headers: { authorization: admin.authorization } })).json();
    expect(JSON.stringify(listed)).not.toContain(created.token);
    await app.request(`/api/tokens/${created.id}/revoke`, { method: 'POST', headers: { authorization: admin.authorization } });
    expect((await app.request('/api/audit', { headers: auth })).status).toBe(401);

    const shortLived = await bearer(db.db, 'auditor', 'PK', new Date(now.getTime() + 60_000));
    expect((await app.request('/api/audit', { headers: { authorization: shortLived.authorization } })).status).toBe(200);
    now = new Date(now.getTime() + 120_000);
    expect((await app.request('/api/audit', { headers: { authorization: shortLived.authorization } })).status).toBe(401);
  });

  it('scopes lists to the jurisdiction inside the query', async () => {
    const sindh = await makeUser(db.db, { jurisdiction: 'PK7' });
    const punjab = await makeUser(db.db, { jurisdiction: 'PK6' });
    const admin = await bearer(db.db, 'admin', 'PK7');
    const list = await (await app.request('/api/users', { headers: { authorization: admin.authorization } })).json();
    const names = list.items.map((u: { username: string }) => u.username);
    expect(names).toContain(sindh.username);
    expect(names).not.toContain(punjab.username);
    expect(list.items.every((u: { jurisdiction: string }) => u.jurisdiction.startsWith('PK7'))).toBe(true);
    const outward = await app.request('/api/users', json({ username: unique('x').toLowerCase(), displayName: 'X', password: 'long enough password', roles: ['admin'], agency: 'BISP', jurisdiction: 'PK' }, { authorization: admin.authorization }));
    expect(outward.status).toBe(403);
  });

  it('names each bad field of a new user', async () => {
    const admin = await bearer(db.db, 'admin', 'PK');
    const res = await app.request('/api/users', json({ username: 'A B', displayName: '', password: 'short', roles: ['mayor'], agency: 'X', jurisdiction: 'Sindh' }, { authorization: admin.authorization }));
    expect(res.status).toBe(400);
    const fields = (await res.json()).errors.map((e: { field: string }) => e.field).sort();
    expect(fields).toEqual(['json.agency', 'json.displayName', 'json.jurisdiction', 'json.password', 'json.roles.0', 'json.username']);
  });
});

describe('masked CNIC', () => {
  it('keeps the area prefix and the last digit only', () => {
    expect(maskCnic('3520212345673')).toBe('35202-*****-3');
    expect(maskCnic('35202-1234567-3')).toBe('35202-*****-3');
    expect(maskCnic('123')).toBe('*****-*******-*');
  });
});
