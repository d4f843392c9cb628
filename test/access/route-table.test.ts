import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROLES, type Role } from '../../server/access/roles.ts';
import { loadRules, SHIPPED_RULES_DIR } from '../../server/rules/loader.ts';
import { ensureDefaultAreas } from '../../server/areas/service.ts';
import { testApp } from '../harness/app.ts';
import { createTestDatabase, drivers, type TestDatabase } from '../harness/databases.ts';
import { capMessage } from '../harness/cap.ts';
import { addFeed } from '../../server/feeds/service.ts';
import { bearer, makeAlert, makeEvent, makeUser, setupCtx, TEST_PASSWORD, unique } from '../harness/factories.ts';
import { readFileSync } from 'node:fs';
import { ensureWebBuild } from '../../server/http/web-build.ts';
import { WEB_DIST } from '../../server/http/web.ts';

/** `signed-in`: every role but `feed`, whose tokens push alerts and nothing else. */
type Access = 'public' | 'signed-in' | Role[];
interface Call {
  path: string;
  /** A JSON body. */
  body?: unknown;
  /** A body sent as it is (XML). */
  raw?: string;
}
interface Setup {
  db: TestDatabase;
}
interface RouteCase {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  path: string;
  access: Access;
  /** A request that the allowed roles (jurisdiction PK7) may make. */
  call(s: Setup): Promise<Call> | Call;
  /** The same request on a record in Punjab (PK6): a 404 for a Sindh caller. */
  outOfScope?(s: Setup): Promise<Call>;
  /** Which of several cases of one route this is, for the test's name (`{eventId}`). */
  variant?: string;
  /** Why a route that names a record has no out-of-scope case: what it shows is the same for everyone. */
  sameForEveryone?: string;
}

const newUserBody = (jurisdiction = 'PK7') => ({
  username: unique('u').toLowerCase(),
  displayName: 'Someone',
  password: 'a long enough password',
  roles: ['responder'],
  agency: 'PDMA Sindh',
  jurisdiction,
});

/**
 * Every route of the app and who may call it. A route the app has and this table lacks fails the last test,
 * so the table grows with every route.
 */
/** One file the built web app loads, named by content hash. */
const builtAsset = () => /\/assets\/[\w.-]+\.js/.exec(readFileSync(`${WEB_DIST}index.html`, 'utf8'))![0];

const table: RouteCase[] = [
  // The web app (server/http/web.ts): its pages and files are public; the data behind them needs sign-in.
  ...['/', '/login', '/alerts', '/alerts/:id', '/rules'].map(
    (path): RouteCase => ({
      method: 'GET',
      path,
      access: 'public',
      call: () => ({ path: path.replace(':id', crypto.randomUUID()) }),
      sameForEveryone: 'the page shell of the web app; its data comes from the API',
    }),
  ),
  { method: 'GET', path: '/fonts/:file', access: 'public', call: () => ({ path: '/fonts/DejaVuSans.ttf' }), sameForEveryone: 'a font file' },
  { method: 'GET', path: '/assets/:file', access: 'public', call: () => ({ path: builtAsset() }), sameForEveryone: 'a file of the built web app' },
  { method: 'GET', path: '/healthz', access: 'public', call: () => ({ path: '/healthz' }) },
  { method: 'GET', path: '/readyz', access: 'public', call: () => ({ path: '/readyz' }) },
  { method: 'GET', path: '/metrics', access: 'public', call: () => ({ path: '/metrics' }) },
  { method: 'GET', path: '/openapi.json', access: 'public', call: () => ({ path: '/openapi.json' }) },
  { method: 'GET', path: '/docs', access: 'public', call: () => ({ path: '/docs' }) },
  { method: 'GET', path: '/docs/init.js', access: 'public', call: () => ({ path: '/docs/init.js' }) },
  { method: 'GET', path: '/docs/assets/:file', access: 'public', call: () => ({ path: '/docs/assets/swagger-ui.css' }), sameForEveryone: 'a file of the docs page' },
  {
    method: 'POST',
    path: '/api/auth/login',
    access: 'public',
    call: async ({ db }) => {
      const user = await makeUser(db.db);
      return { path: '/api/auth/login', body: { username: user.username, password: TEST_PASSWORD } };
    },
  },
  { method: 'POST', path: '/api/auth/logout', access: 'signed-in', call: () => ({ path: '/api/auth/logout' }) },
  { method: 'GET', path: '/api/auth/me', access: 'signed-in', call: () => ({ path: '/api/auth/me' }) },
  { method: 'GET', path: '/api/users', access: ['admin'], call: () => ({ path: '/api/users' }) },
  { method: 'POST', path: '/api/users', access: ['admin'], call: () => ({ path: '/api/users', body: newUserBody() }) },
  {
    method: 'GET',
    path: '/api/users/:id',
    access: ['admin'],
    call: async ({ db }) => ({ path: `/api/users/${(await makeUser(db.db)).id}` }),
    outOfScope: async ({ db }) => ({ path: `/api/users/${(await makeUser(db.db, { jurisdiction: 'PK6' })).id}` }),
  },
  {
    method: 'POST',
    path: '/api/users/:id/disable',
    access: ['admin'],
    call: async ({ db }) => ({ path: `/api/users/${(await makeUser(db.db)).id}/disable` }),
    outOfScope: async ({ db }) => ({ path: `/api/users/${(await makeUser(db.db, { jurisdiction: 'PK6' })).id}/disable` }),
  },
  { method: 'GET', path: '/api/tokens', access: ['admin'], call: () => ({ path: '/api/tokens' }) },
  {
    method: 'POST',
    path: '/api/tokens',
    access: ['admin'],
    call: () => ({ path: '/api/tokens', body: { name: unique('feed'), role: 'feed', agency: 'PMD', jurisdiction: 'PK7' } }),
  },
  {
    method: 'POST',
    path: '/api/tokens/:id/revoke',
    access: ['admin'],
    call: async ({ db }) => ({ path: `/api/tokens/${(await bearer(db.db, 'feed', 'PK7')).id}/revoke` }),
    outOfScope: async ({ db }) => ({ path: `/api/tokens/${(await bearer(db.db, 'feed', 'PK6')).id}/revoke` }),
  },
  { method: 'GET', path: '/api/audit', access: ['auditor', 'admin'], call: () => ({ path: '/api/audit' }) },
  {
    method: 'POST',
    path: '/api/alerts',
    access: ['feed', 'dma_officer', 'admin'],
    // Over Sindh, where the PK7 callers publish.
    call: () => ({ path: '/api/alerts', raw: capMessage({ identifier: unique('route-table'), geocode: { valueName: 'pcode', value: 'PK7' } }) }),
  },
  { method: 'GET', path: '/api/alerts', access: 'signed-in', call: () => ({ path: '/api/alerts' }) },
  { method: 'GET', path: '/api/areas', access: 'signed-in', call: () => ({ path: '/api/areas?level=1' }) },
  {
    method: 'GET',
    path: '/api/areas/:code',
    access: 'signed-in',
    call: () => ({ path: '/api/areas/PK7' }),
    sameForEveryone: 'boundaries are public geography; acting on an area (declaring, exposure) is scoped where it is done',
  },
  { method: 'POST', path: '/api/exposure', access: 'signed-in', call: () => ({ path: '/api/exposure', body: { area: { codes: ['PK7'] } } }) },
  { method: 'GET', path: '/api/households', access: 'signed-in', call: () => ({ path: '/api/households?area=PK7' }) },
  { method: 'GET', path: '/api/households/density', access: 'signed-in', call: () => ({ path: '/api/households/density?bbox=60,23,78,37&res=5' }) },
  {
    method: 'GET',
    path: '/api/alerts/:id',
    access: 'signed-in',
    call: async ({ db }) => ({ path: `/api/alerts/${await storedAlertId(db)}` }),
    outOfScope: async ({ db }) => ({ path: `/api/alerts/${await restrictedPunjabAlertId(db)}` }),
  },
  { method: 'GET', path: '/api/rules', access: 'signed-in', call: () => ({ path: '/api/rules' }) },
  {
    method: 'GET',
    path: '/api/rules/:id',
    access: 'signed-in',
    call: async ({ db }) => ({ path: `/api/rules/${await loadedRuleId(db)}` }),
    sameForEveryone: 'the rules in force are agreed in public between federal and provincial agencies',
  },
  {
    method: 'POST',
    path: '/api/rules/:id/dry-run',
    access: ['dma_officer', 'program_manager', 'admin'],
    variant: '{eventId}',
    call: async ({ db }) => ({ path: `/api/rules/${await loadedRuleId(db)}/dry-run`, body: { eventId: await storedEventId(db, 'PK7', 'declared') } }),
    outOfScope: async ({ db }) => ({ path: `/api/rules/${await loadedRuleId(db)}/dry-run`, body: { eventId: await storedEventId(db, 'PK6', 'declared') } }),
  },
  {
    method: 'POST',
    path: '/api/rules/:id/dry-run',
    access: ['dma_officer', 'program_manager', 'admin'],
    variant: '{alertId}',
    call: async ({ db }) => ({ path: `/api/rules/${await loadedRuleId(db)}/dry-run`, body: { alertId: await storedAlertId(db) } }),
    outOfScope: async ({ db }) => ({ path: `/api/rules/${await loadedRuleId(db)}/dry-run`, body: { alertId: await restrictedPunjabAlertId(db) } }),
  },
  {
    method: 'GET',
    path: '/api/alerts/:id/evaluations',
    access: 'signed-in',
    call: async ({ db }) => ({ path: `/api/alerts/${await storedAlertId(db)}/evaluations` }),
    outOfScope: async ({ db }) => ({ path: `/api/alerts/${await restrictedPunjabAlertId(db)}/evaluations` }),
  },
  {
    method: 'GET',
    path: '/api/events/:id/evaluations',
    access: 'signed-in',
    call: async ({ db }) => ({ path: `/api/events/${await storedEventId(db, 'PK7', 'declared')}/evaluations` }),
    outOfScope: async ({ db }) => ({ path: `/api/events/${await storedEventId(db, 'PK6', 'declared')}/evaluations` }),
  },
  { method: 'GET', path: '/api/feeds', access: ['admin', 'dma_officer'], call: () => ({ path: '/api/feeds' }) },
  {
    method: 'POST',
    path: '/api/feeds',
    access: ['admin'],
    call: () => ({ path: '/api/feeds', body: { url: `https://example.org/${unique('feed')}.xml`, format: 'cap-rss', every: '5m', senders: ['pmd.gov.pk'] } }),
  },
  {
    method: 'GET',
    path: '/api/feeds/:id',
    access: ['admin', 'dma_officer'],
    call: async ({ db }) => ({ path: `/api/feeds/${(await addFeed(setupCtx(db.db), { url: `https://example.org/${unique('feed')}.xml`, format: 'usgs', every: '5m' })).id}` }),
    sameForEveryone: 'feeds are national: every officer who may see them sees them all',
  },
  { method: 'GET', path: '/api/system/outbox', access: ['admin', 'auditor'], call: () => ({ path: '/api/system/outbox' }) },
  { method: 'POST', path: '/api/system/outbox/retry', access: ['admin'], call: () => ({ path: '/api/system/outbox/retry' }) },
  {
    method: 'POST',
    path: '/api/events',
    access: ['dma_officer', 'admin'],
    call: () => ({ path: '/api/events', body: { name: unique('Floods'), hazard: 'flood', areas: ['PK7'] } }),
  },
  { method: 'GET', path: '/api/events', access: 'signed-in', call: () => ({ path: '/api/events' }) },
  {
    method: 'GET',
    path: '/api/events/:id',
    access: 'signed-in',
    call: async ({ db }) => ({ path: `/api/events/${await storedEventId(db, 'PK7', 'declared')}` }),
    outOfScope: async ({ db }) => ({ path: `/api/events/${await storedEventId(db, 'PK6', 'declared')}` }),
  },
  {
    method: 'POST',
    path: '/api/events/:id/declare',
    access: ['dma_officer', 'admin'],
    call: async ({ db }) => ({ path: `/api/events/${await storedEventId(db, 'PK7', 'draft')}/declare` }),
    outOfScope: async ({ db }) => ({ path: `/api/events/${await storedEventId(db, 'PK6', 'draft')}/declare` }),
  },
  {
    method: 'POST',
    path: '/api/events/:id/close',
    access: ['dma_officer', 'admin'],
    call: async ({ db }) => ({ path: `/api/events/${await storedEventId(db, 'PK7', 'declared')}/close` }),
    outOfScope: async ({ db }) => ({ path: `/api/events/${await storedEventId(db, 'PK6', 'declared')}/close` }),
  },
];

/** An event over one province (the default province boundaries are loaded), for routes that act on one. */
async function storedEventId(db: TestDatabase, area: string, status: 'draft' | 'declared'): Promise<string> {
  return (await makeEvent(db.db, { areas: [area], status })).id;
}

/** The shipped rules loaded (idempotent), for routes that read one. */
async function loadedRuleId(db: TestDatabase): Promise<string> {
  await loadRules(setupCtx(db.db), SHIPPED_RULES_DIR);
  return 'flood-relief-2022';
}

/** A public warning over Sindh, for routes that read one. */
async function storedAlertId(db: TestDatabase): Promise<string> {
  return (await makeAlert(db.db, { areaCodes: ['PK7'] })).id;
}

/** A Restricted message over Punjab: seen federally and in Punjab, not in Sindh. */
async function restrictedPunjabAlertId(db: TestDatabase): Promise<string> {
  return (await makeAlert(db.db, { scope: 'Restricted', areaCodes: ['PK6'] })).id;
}

describe.each(drivers)('who may call which route, on %s', (driver) => {
  let db: TestDatabase;
  let app: ReturnType<typeof testApp>;
  const headers: Partial<Record<Role, string>> = {};

  beforeAll(async () => {
    db = await createTestDatabase(driver);
    app = testApp(db);
    await ensureWebBuild({ quiet: true });
    await ensureDefaultAreas(setupCtx(db.db));
    for (const role of ROLES) headers[role] = (await bearer(db.db, role, 'PK7')).authorization;
  });
  afterAll(() => db.drop());

  const send = (method: string, call: Call, authorization?: string) =>
    app.request(call.path, {
      method,
      headers: {
        ...(authorization ? { authorization } : {}),
        ...(call.body ? { 'content-type': 'application/json' } : {}),
        ...(call.raw ? { 'content-type': 'application/xml' } : {}),
      },
      body: call.raw ?? (call.body ? JSON.stringify(call.body) : undefined),
    });

  /** The ids a request names in its body (`eventId`, `alertIds`): a record it reads, so a scope case is due. */
  const namedInBody = (call: Call) => (call.body && typeof call.body === 'object' ? Object.keys(call.body).filter((k) => /Ids?$/.test(k)) : []);

  for (const route of table) {
    const allowed = (role: Role) => route.access === 'public' || (route.access === 'signed-in' ? role !== 'feed' : route.access.includes(role));

    it(`${route.method} ${route.path}${route.variant ? ` with ${route.variant}` : ''}: ${Array.isArray(route.access) ? route.access.join(', ') : route.access}`, async () => {
      if (route.access !== 'public') {
        const anonymous = await send(route.method, await route.call({ db }));
        expect(anonymous.status, 'without credentials').toBe(401);
      }
      for (const role of ROLES) {
        const res = await send(route.method, await route.call({ db }), headers[role]);
        if (allowed(role)) expect(res.status, `${role} is allowed`).toBeLessThan(300);
        else expect(res.status, `${role} is refused`).toBe(403);
      }
      if (route.outOfScope) {
        for (const role of ROLES.filter(allowed)) {
          const res = await send(route.method, await route.outOfScope({ db }), headers[role]);
          expect(res.status, `${role} of PK7 on a PK6 record`).toBe(404);
        }
      }
    });
  }

  it('has an out-of-scope case for every route that names a record, in its path or its body', async () => {
    const missing: string[] = [];
    for (const route of table) {
      const names = /:\w+/.test(route.path) || namedInBody(await route.call({ db })).length > 0;
      if (names && !route.outOfScope && !route.sameForEveryone) missing.push(`${route.method} ${route.path}`);
    }
    expect(missing).toEqual([]);
  });

  it('lists every route the app has', () => {
    const routes = new Set(app.routes.filter((r) => r.method !== 'ALL').map((r) => `${r.method} ${r.path}`));
    const listed = new Set(table.map((r) => `${r.method} ${r.path}`));
    expect([...routes].filter((r) => !listed.has(r))).toEqual([]);
    expect([...listed].filter((r) => !routes.has(r))).toEqual([]);
  });
});
