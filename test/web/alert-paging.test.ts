import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testApp } from '../harness/app.ts';
import { madadAlert } from '../harness/cap.ts';
import { createTestDatabase, type TestDatabase } from '../harness/databases.ts';
import { bearer, unique } from '../harness/factories.ts';

/**
 * The web client's alert list against the real app: `fetch` is the app's own `request`, with a token in
 * place of the browser's session cookie, and `sessionStorage` a plain map, since this runs in Node.
 */
describe('the web client reads every active alert, page by page', () => {
  let db: TestDatabase;
  let api: typeof import('../../web/src/api.ts');
  const ACTIVE = 230;

  beforeAll(async () => {
    db = await createTestDatabase('pglite');
    const app = testApp(db);
    const feed = (await bearer(db.db, 'feed', 'PK')).authorization;
    const reader = (await bearer(db.db, 'responder', 'PK')).authorization;
    const store = new Map<string, string>();
    Object.assign(globalThis, {
      sessionStorage: { getItem: (k: string) => store.get(k) ?? null, setItem: (k: string, v: string) => store.set(k, v), removeItem: (k: string) => store.delete(k) },
      fetch: (path: string, init: RequestInit) => app.request(path, { ...init, headers: { ...(init.headers as Record<string, string>), authorization: reader } }),
    });
    api = await import('../../web/src/api.ts');
    const sent = new Date(Date.now() - 3600_000).toISOString();
    const alert = (identifier: string, expires?: string) => madadAlert({ identifier, sent, ...(expires ? { expires } : {}) });
    const active = Array.from({ length: ACTIVE }, () => alert(unique('ACTIVE')));
    const past = Array.from({ length: 20 }, () => alert(unique('PAST'), sent));
    const res = await app.request('/api/alerts', { method: 'POST', headers: { authorization: feed, 'content-type': 'application/json' }, body: JSON.stringify([...active, ...past]) });
    expect(res.status).toBe(200);
  }, 120_000);
  afterAll(() => db.drop());

  it(`gives the map all ${ACTIVE} active alerts, not the first page of ${200}`, async () => {
    const { total, items } = await api.listAlerts({ active: true });
    expect(total).toBe(ACTIVE);
    expect(items).toHaveLength(ACTIVE);
    expect(new Set(items.map((a) => a.id)).size).toBe(ACTIVE);
    expect(items.every((a) => a.active)).toBe(true);
  });

  it('reads the history one page at a time', async () => {
    const first = await api.listAlerts({ page: 1 });
    const second = await api.listAlerts({ page: 2 });
    expect(first.total).toBe(ACTIVE + 20);
    expect([first.items.length, second.items.length]).toEqual([api.ALERT_PAGE_SIZE, ACTIVE + 20 - api.ALERT_PAGE_SIZE]);
  });
});
