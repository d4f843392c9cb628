import { createRoute, z } from '@hono/zod-openapi';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newRouter } from '../server/http/router.ts';
import { ensureInstallId } from '../server/instance.ts';
import { testApp } from './harness/app.ts';
import { createTestDatabase, drivers, type TestDatabase } from './harness/databases.ts';

// A route built the way every resource builds its routes, to see the shared validation and error mapping.
function echoRouter() {
  const route = createRoute({
    method: 'post',
    path: '/api/echo/{id}',
    request: {
      params: z.object({ id: z.coerce.number().int().positive() }),
      body: {
        content: { 'application/json': { schema: z.object({ name: z.string().min(1), households: z.number().int() }) } },
        required: true,
      },
    },
    responses: { 200: { description: 'Echo', content: { 'application/json': { schema: z.object({ id: z.number(), name: z.string() }) } } } },
  });
  return newRouter()
    .openapi(route, (c) => c.json({ id: c.req.valid('param').id, name: c.req.valid('json').name }, 200))
    .get('/api/boom', () => {
      throw new Error('secret connection string postgres://user:pw@db');
    });
}

describe.each(drivers)('foundation on %s', (driver) => {
  let database: TestDatabase;
  let app: ReturnType<typeof testApp>;

  beforeAll(async () => {
    database = await createTestDatabase(driver);
    app = testApp(database, { bodyLimit: 2048 });
    app.route('/', echoRouter());
  });
  afterAll(() => database.drop());

  it('answers /healthz and /readyz with the driver and the applied migrations', async () => {
    expect(await (await app.request('/healthz')).json()).toEqual({ status: 'ok' });
    const ready = await app.request('/readyz');
    expect(ready.status).toBe(200);
    const body = await ready.json();
    expect(body.database.driver).toBe(driver);
    expect(body.database.migrations).toBeGreaterThanOrEqual(1);
  });

  it('keeps the install id in the database', async () => {
    const first = await ensureInstallId(database.db);
    const second = await ensureInstallId(database.db);
    expect(second.installId).toBe(first.installId);
    expect(second.created).toBe(false);
  });

  it('answers an unknown route with problem+json 404 and the request id', async () => {
    const res = await app.request('/api/nothing-here', { headers: { 'x-request-id': 'req-123' } });
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    expect(res.headers.get('x-request-id')).toBe('req-123');
    expect(await res.json()).toMatchObject({
      type: 'https://madad.app/problems/not-found',
      title: 'Not found',
      status: 404,
      instance: '/api/nothing-here',
      requestId: 'req-123',
    });
  });

  it('names each bad field in a 400', async () => {
    const res = await app.request('/api/echo/-4', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: '', households: 'many' }),
    });
    expect(res.status).toBe(400);
    const problem = await res.json();
    const fields = problem.errors.map((e: { field: string }) => e.field);
    expect(fields).toEqual(['param.id']);
    // Parameters are checked first; once they are right, the body's fields are named.
    const again = await app.request('/api/echo/4', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: '', households: 'many' }),
    });
    const problem2 = await again.json();
    expect(problem2.errors.map((e: { field: string }) => e.field).sort()).toEqual(['json.households', 'json.name']);
    expect(problem2.detail).toContain('json.households');
  });

  it('refuses malformed JSON with a 400', async () => {
    const res = await app.request('/api/echo/4', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"name": "x",' });
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    expect((await res.json()).detail).toMatch(/malformed json/i);
  });

  it('accepts a good request', async () => {
    const res = await app.request('/api/echo/4', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'Dadu', households: 12 }),
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ id: 4, name: 'Dadu' });
  });

  it('refuses a body over the limit with 413', async () => {
    const res = await app.request('/api/echo/4', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'x'.repeat(5000), households: 1 }),
    });
    expect(res.status).toBe(413);
    expect((await res.json()).detail).toContain('2048 bytes');
  });

  it('hides the internals of an unexpected failure behind a 500', async () => {
    const res = await app.request('/api/boom');
    expect(res.status).toBe(500);
    const text = await res.text();
    expect(text).not.toContain('postgres://');
    expect(JSON.parse(text)).toMatchObject({ status: 500, title: 'Internal server error' });
  });

  it('counts requests by route and status in /metrics', async () => {
    await app.request('/healthz');
    const text = await (await app.request('/metrics')).text();
    expect(text).toMatch(/madad_http_requests_total\{method="GET",route="\/healthz",status="200"\} \d+/);
    expect(text).toMatch(/madad_http_requests_total\{method="GET",route="unmatched",status="404"\} \d+/);
    expect(text).toContain('madad_http_request_duration_seconds_bucket');
    expect(text).toContain('madad_process_resident_memory_bytes');
  });

  it('publishes an OpenAPI 3.1 document and a docs page with local assets', async () => {
    const doc = await (await app.request('/openapi.json')).json();
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/healthz', '/readyz', '/metrics', '/api/echo/{id}']));
    const page = await (await app.request('/docs')).text();
    const assets = [...page.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
    expect(assets.every((a) => a.startsWith('/'))).toBe(true);
    for (const asset of assets) expect((await app.request(asset)).status, asset).toBe(200);
  });
});
