import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testApp } from '../harness/app.ts';
import { createTestDatabase, drivers, type TestDatabase } from '../harness/databases.ts';
import { bearer } from '../harness/factories.ts';

/** Moments in a query are ISO 8601 in the years 1900 to 2200 (server/http/schemas.ts isoInstant). */
describe.each(drivers)('moments in a request, on %s', (driver) => {
  let db: TestDatabase;
  let app: ReturnType<typeof testApp>;
  let auditor: string;
  beforeAll(async () => {
    db = await createTestDatabase(driver);
    app = testApp(db);
    auditor = (await bearer(db.db, 'auditor', 'PK7')).authorization;
  });
  afterAll(() => db.drop());

  it.each([
    ['/api/alerts?since=0000-01-01T00:00:00Z', 'query.since'],
    ['/api/alerts?since=1899-12-31T23:59:59%2B05:00', 'query.since'],
    ['/api/alerts?since=2201-01-01T00:00:00Z', 'query.since'],
    ['/api/audit?from=0000-01-01T00:00:00Z', 'query.from'],
  ])('%s is a 400 naming %s', async (path, field) => {
    const res = await app.request(path, { headers: { authorization: auditor } });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ code: 'invalid_request', errors: [{ field, message: 'expected a moment in the years 1900 to 2200, such as 2026-08-26T09:00:00+05:00' }] });
  });

  it.each(['/api/alerts?since=1900-01-01T00:00:00Z', '/api/alerts?since=2200-12-31T23:59:59%2B05:00', '/api/audit?from=2026-08-26T09:00:00%2B05:00'])('%s is answered', async (path) => {
    expect((await app.request(path, { headers: { authorization: auditor } })).status).toBe(200);
  });
});
