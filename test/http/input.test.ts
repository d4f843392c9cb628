import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyAudit } from '../../server/audit/service.ts';
import { testApp } from '../harness/app.ts';
import { createTestDatabase, drivers, type TestDatabase } from '../harness/databases.ts';
import { bearer, makeArea } from '../harness/factories.ts';

/** Each string of a request (query, path, JSON body) is refused when it holds NUL or a lone surrogate. */
describe.each(drivers)('text the database cannot hold, on %s', (driver) => {
  let db: TestDatabase;
  let app: ReturnType<typeof testApp>;
  let officer: string;
  let auditor: string;
  beforeAll(async () => {
    db = await createTestDatabase(driver);
    app = testApp(db);
    officer = (await bearer(db.db, 'dma_officer', 'PK7')).authorization;
    auditor = (await bearer(db.db, 'auditor', 'PK7')).authorization;
  });
  afterAll(() => db.drop());

  /** Sends JSON text as written, so escapes such as \u0000 reach the server as a client wrote them. */
  const postText = (path: string, body: string, authorization?: string) =>
    app.request(path, { method: 'POST', headers: { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) }, body });

  const problem = async (res: Response) => ({ status: res.status, type: res.headers.get('content-type'), body: await res.json() });

  it('a NUL in a sign-in username is a 400 naming json.username', async () => {
    const res = await problem(await postText('/api/auth/login', '{"username":"admin\\u0000","password":"x"}'));
    expect(res).toMatchObject({ status: 400, type: 'application/problem+json', body: { code: 'invalid_request' } });
    expect(res.body.errors).toEqual([{ field: 'json.username', message: expect.stringMatching(/NUL character \(U\+0000\) at position 5/) }]);
  });

  it('a NUL in an event name, and a lone surrogate in a notification line, are a 400 naming both', async () => {
    const res = await problem(await postText('/api/events', '{"name":"Floods\\u0000","hazard":"flood","areas":["PK7", {"area":"Dadu\\ud800"}]}', officer));
    expect(res).toMatchObject({ status: 400, body: { code: 'invalid_request' } });
    expect(res.body.errors).toEqual([
      { field: 'json.name', message: expect.stringMatching(/NUL/) },
      { field: 'json.areas.1.area', message: expect.stringMatching(/lone surrogate \(U\+D800\)/) },
    ]);
  });

  it('a NUL in an audit filter is a 400 naming query.actor', async () => {
    const res = await problem(await app.request('/api/audit?actor=%00', { headers: { authorization: auditor } }));
    expect(res).toMatchObject({ status: 400, body: { code: 'invalid_request', errors: [{ field: 'query.actor', message: expect.stringMatching(/NUL/) }] } });
  });

  it('a NUL in a path parameter is named beside what else is wrong with it', async () => {
    const res = await problem(await app.request('/api/events/%00', { headers: { authorization: officer } }));
    expect(res.status).toBe(400);
    expect(res.body.errors).toEqual(expect.arrayContaining([{ field: 'param.id', message: expect.stringMatching(/NUL/) }]));
  });

  it('a caller who may not use the route hears that first', async () => {
    const res = await postText('/api/events', '{"name":"Floods\\u0000","hazard":"flood","areas":["PK7"]}');
    expect(res.status).toBe(401);
  });

  it('Urdu, emoji (a surrogate pair) and U+2028 pass, and the chain verifies', async () => {
    const district = await makeArea(db.db, { level: 2, parentCode: 'PK7', box: [68.0, 25.0, 68.2, 25.2] });
    const res = await problem(await postText('/api/events', JSON.stringify({ name: 'سیلاب 🌊\u2028بالائی سندھ', hazard: 'flood', areas: [district.code] }), officer));
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body.name).toBe('سیلاب 🌊\u2028بالائی سندھ');
    expect(await verifyAudit(db.db)).toMatchObject({ ok: true });
  });
});
