import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureDefaultAreas } from '../../server/areas/service.ts';
import { testApp } from '../harness/app.ts';
import { capMessage } from '../harness/cap.ts';
import { createTestDatabase, drivers, type TestDatabase } from '../harness/databases.ts';
import { bearer, makeAlert, makeEvent, setupCtx, unique } from '../harness/factories.ts';

/** A feed's token pushes alerts and nothing else (issue 13, finding 6). */
describe.each(drivers)('a feed token, on %s', (driver) => {
  let db: TestDatabase;
  let app: ReturnType<typeof testApp>;
  let feed: string;

  beforeAll(async () => {
    db = await createTestDatabase(driver);
    app = testApp(db);
    await ensureDefaultAreas(setupCtx(db.db));
    feed = (await bearer(db.db, 'feed', 'PK')).authorization;
  });
  afterAll(() => db.drop());

  it('reads no households, events, alerts or areas: 403 saying what it may do', async () => {
    const alert = await makeAlert(db.db, { areaCodes: ['PK7'] });
    const event = await makeEvent(db.db, { areas: ['PK7'] });
    for (const path of ['/api/households?area=PK7', '/api/households/density?bbox=60,23,78,37&res=5', '/api/events', `/api/events/${event.id}`, '/api/alerts', `/api/alerts/${alert.id}`, '/api/areas?level=1', '/api/rules', '/api/auth/me']) {
      const res = await app.request(path, { headers: { authorization: feed } });
      expect(res.status, path).toBe(403);
      expect((await res.json()).detail, path).toBe('A feed token may only push alerts (POST /api/alerts).');
    }
    const exposure = await app.request('/api/exposure', { method: 'POST', headers: { authorization: feed, 'content-type': 'application/json' }, body: JSON.stringify({ area: { codes: ['PK7'] } }) });
    expect(exposure.status).toBe(403);
  });

  it('still pushes alerts', async () => {
    const res = await app.request('/api/alerts', { method: 'POST', headers: { authorization: feed, 'content-type': 'application/cap+xml' }, body: capMessage({ identifier: unique('pushed') }) });
    expect(res.status).toBe(200);
  });
});
