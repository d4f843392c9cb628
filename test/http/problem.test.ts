import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AreaInputError } from '../../geodata/area-input.ts';
import { TriggerInputError } from '../../triggers/input-error.ts';
import { RuleError } from '../../triggers/rule-schema.ts';
import { onError, PROBLEM_CODES } from '../../server/http/problem.ts';
import { ValidationError } from '../../server/errors.ts';
import { newRouter } from '../../server/http/router.ts';
import { testApp } from '../harness/app.ts';
import { createTestDatabase, drivers, type TestDatabase } from '../harness/databases.ts';
import { capMessage } from '../harness/cap.ts';
import { bearer, makeArea, makeUser, unique } from '../harness/factories.ts';
import { loadShippedRules } from '../rules/setup.ts';

/** Malformed footprints, each refused by geodata/area-input.ts with a message saying where and what. */
const MALFORMED = [
  {
    name: 'an unclosed ring',
    geometry: { type: 'Polygon', coordinates: [[[68.0, 25.0], [68.2, 25.0], [68.2, 25.2], [68.0, 25.2]]] },
    message: /area\.coordinates\[0\]: ring is not closed/,
  },
  {
    name: 'a ring of two positions',
    geometry: { type: 'Polygon', coordinates: [[[68.0, 25.0], [68.2, 25.2]]] },
    message: /area\.coordinates\[0\]: a ring needs at least 4 positions .*got 2/,
  },
];

describe.each(drivers)('problem details, on %s', (driver) => {
  let db: TestDatabase;
  let app: ReturnType<typeof testApp>;
  let officer: string;
  let admin: string;

  beforeAll(async () => {
    db = await createTestDatabase(driver);
    await loadShippedRules(db);
    app = testApp(db);
    officer = (await bearer(db.db, 'dma_officer', 'PK7')).authorization;
    admin = (await bearer(db.db, 'admin', 'PK7')).authorization;
  });
  afterAll(() => db.drop());

  const post = async (path: string, body: unknown, authorization = officer) => {
    const res = await app.request(path, { method: 'POST', headers: { authorization, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    return { status: res.status, contentType: res.headers.get('content-type'), body: await res.json() };
  };

  describe.each(MALFORMED)('$name', ({ geometry, message }) => {
    it('is invalid_area from POST /api/exposure, naming the area in the body', async () => {
      const res = await post('/api/exposure', { area: { geometry } });
      expect(res.status).toBe(400);
      expect(res.contentType).toBe('application/problem+json');
      expect(res.body).toMatchObject({ code: 'invalid_area', type: 'https://madad.app/problems/invalid-area', status: 400 });
      expect(res.body.errors).toEqual([{ field: 'json.area.geometry', message: expect.stringMatching(message) }]);
    });

    it('is invalid_area from a dry run of an inline alert, naming the alert geometry', async () => {
      const res = await post('/api/rules/earthquake/dry-run', { alert: { hazard: 'earthquake', areaCodes: ['PK7'], geometry } });
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ code: 'invalid_area', status: 400 });
      expect(res.body.errors).toEqual([{ field: 'json.alert.geometry', message: expect.stringMatching(message) }]);
    });
  });

  it('a Feature or FeatureCollection is an area too, and a Point is not', async () => {
    const square = { type: 'Polygon', coordinates: [[[68.0, 25.0], [68.2, 25.0], [68.2, 25.2], [68.0, 25.2], [68.0, 25.0]]] };
    const feature = await post('/api/exposure', { area: { geometry: { type: 'FeatureCollection', features: [{ type: 'Feature', properties: {}, geometry: square }] } } });
    expect(feature.status).toBe(200);
    // A DMA officer sees counts under 10 hidden, zero included (server/registry/disclosure.ts).
    expect(feature.body).toMatchObject({ households: null, registrySize: 0 });
    const point = await post('/api/exposure', { area: { geometry: { type: 'Point', coordinates: [68.1, 25.1] } } });
    expect(point.status).toBe(400);
    expect(point.body.code).toBe('invalid_area');
    expect(point.body.errors[0].message).toMatch(/type "Point" is not an area/);
  });

  it('a bad area beside another bad field is invalid_request, naming both', async () => {
    const res = await post('/api/exposure', { area: { geometry: MALFORMED[0]!.geometry }, pmtCutoff: 'low' });
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('invalid_request');
    expect(res.body.errors.map((e: { field: string }) => e.field).sort()).toEqual(['json.area.geometry', 'json.pmtCutoff']);
  });

  it('an unknown route is a 404 with code not_found', async () => {
    const res = await app.request(`/api/${unique('nothing')}`, { headers: { authorization: officer } });
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    expect(await res.json()).toMatchObject({ code: 'not_found', type: 'https://madad.app/problems/not-found', status: 404 });
  });

  it('a user created twice is a 409 with code conflict', async () => {
    const user = await makeUser(db.db);
    const res = await post(
      '/api/users',
      { username: user.username, displayName: 'Again', password: 'a long enough password', roles: ['responder'], agency: 'PDMA Sindh', jurisdiction: 'PK7' },
      admin,
    );
    expect(res.status).toBe(409);
    expect(res.body).toMatchObject({ code: 'conflict', status: 409, detail: `A user named ${user.username} already exists.` });
  });

  it('a body over the limit is a 413 with code payload_too_large', async () => {
    const small = testApp(db, { bodyLimit: 64 });
    const res = await small.request('/api/exposure', {
      method: 'POST',
      headers: { authorization: officer, 'content-type': 'application/json' },
      body: JSON.stringify({ area: { codes: Array.from({ length: 50 }, () => 'PK7') } }),
    });
    expect(res.status).toBe(413);
    expect(await res.json()).toMatchObject({ code: 'payload_too_large', status: 413 });
  });

  /** What drizzle and the drivers put in a query's error: the statement and its parameters. */
  const SQL_TEXT = /Failed query|insert into|params:|\$1/i;

  it('a pushed alert the database cannot store is refused without its SQL or parameters', async () => {
    const district = await makeArea(db.db, { level: 2, parentCode: 'PK7', box: [68.0, 25.0, 68.2, 25.2] });
    const feed = (await bearer(db.db, 'feed', 'PK7')).authorization;
    // A NUL in the headline passes the XML parser and reaches an insert, which text columns refuse.
    const body = capMessage({ identifier: unique('nul'), headline: 'Flood\u0000 warning', polygon: `25.05,68.05 25.05,68.15 25.15,68.15 25.15,68.05 25.05,68.05`, areaDesc: district.name });
    const res = await app.request('/api/alerts', { method: 'POST', headers: { authorization: feed, 'content-type': 'application/cap+xml', 'x-request-id': 'nul-push' }, body });
    const text = await res.text();
    expect(res.status).toBe(400);
    expect(text).not.toMatch(SQL_TEXT);
    expect(JSON.parse(text).detail).toMatch(/could not be stored: a database error on our side \(SQLSTATE \w{5}\); quote request id nul-push/);
  });

  it('a query error reaching the mapper is a 500 that names neither the query nor its parameters', async () => {
    const failed = await db.db.execute(sql`select ${'secret\u0000'}::text`).then(() => undefined, (err: unknown) => err);
    expect(failed).toBeInstanceOf(Error);
    for (const err of [failed as Error, new ValidationError(`bad: ${(failed as Error).message}`)]) {
      const router = newRouter().get('/x', () => {
        throw err;
      });
      router.onError(onError);
      const res = await router.request('/x');
      const text = await res.text();
      expect(res.status).toBe(500);
      expect(JSON.parse(text)).toMatchObject({ code: 'internal' });
      expect(text).not.toMatch(SQL_TEXT);
      expect(text).not.toContain('secret');
    }
  });

  describe('the OpenAPI document', () => {
    let doc: {
      components: { schemas: Record<string, { properties: Record<string, { enum?: string[] }> }> };
      paths: Record<string, Record<string, { requestBody?: unknown; responses: Record<string, { description: string }> }>>;
    };
    beforeAll(async () => {
      doc = await (await app.request('/openapi.json')).json();
    });

    it('lists every problem code', () => {
      expect(doc.components.schemas.Problem!.properties.code!.enum).toEqual([...PROBLEM_CODES]);
    });

    it('documents 413 on every route with a body, and 409 where a duplicate or a status conflicts', () => {
      const withBody = Object.entries(doc.paths).flatMap(([path, ops]) => Object.entries(ops).filter(([, op]) => op.requestBody).map(([method, op]) => ({ route: `${method} ${path}`, op })));
      expect(withBody.length).toBeGreaterThan(5);
      for (const { route, op } of withBody) expect(op.responses['413']?.description, route).toBe('The body is larger than the limit');
      for (const route of ['/api/users', '/api/feeds']) expect(doc.paths[route]!.post!.responses['409']?.description, route).toMatch(/exists already/);
      for (const route of ['/api/events/{id}/declare', '/api/events/{id}/close']) expect(doc.paths[route]!.post!.responses['409']?.description, route).toMatch(/^Conflicts/);
    });
  });
});

describe('the one error mapper', () => {
  const answer = async (err: Error) => {
    const app = newRouter().get('/x', () => {
      throw err;
    });
    app.onError(onError);
    const res = await app.request('/x');
    return { status: res.status, body: await res.json() };
  };

  it('maps a rule file problem to invalid_rule, one field per issue', async () => {
    const res = await answer(new RuleError([{ path: 'funding.payers', message: 'shares must add up to 10000' }, { path: 'line 3', message: 'bad indentation' }]));
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ code: 'invalid_rule', type: 'https://madad.app/problems/invalid-rule' });
    expect(res.body.errors).toEqual([
      { field: 'funding.payers', message: 'shares must add up to 10000' },
      { field: 'line 3', message: 'bad indentation' },
    ]);
  });

  it('maps the core’s input error to invalid_value, and a plain RangeError stays a 500', async () => {
    expect(await answer(new TriggerInputError('amount -5 is negative'))).toMatchObject({ status: 400, body: { code: 'invalid_value', detail: 'amount -5 is negative' } });
    const bug = await answer(new RangeError('index out of range'));
    expect(bug).toMatchObject({ status: 500, body: { code: 'internal' } });
    expect(bug.body.detail).not.toContain('index out of range');
  });

  it('maps an area error thrown past validation to invalid_area on the body', async () => {
    expect(await answer(new AreaInputError('area.coordinates[0]: ring is not closed'))).toMatchObject({
      status: 400,
      body: { code: 'invalid_area', errors: [{ field: 'json', message: 'area.coordinates[0]: ring is not closed' }] },
    });
  });
});
