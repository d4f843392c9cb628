import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testApp } from '../harness/app.ts';
import { createTestDatabase, type TestDatabase } from '../harness/databases.ts';
import { bearer } from '../harness/factories.ts';

describe('security headers', () => {
  let db: TestDatabase;
  let app: ReturnType<typeof testApp>;
  let manager: string;
  beforeAll(async () => {
    db = await createTestDatabase('pglite');
    app = testApp(db);
    manager = (await bearer(db.db, 'program_manager', 'PK7')).authorization;
  });
  afterAll(() => db.drop());

  const get = (path: string, headers: Record<string, string> = {}) => app.request(path, { headers });

  it.each([
    ['the web app', '/'],
    ['an app route', '/alerts'],
    ['the docs page', '/docs'],
    ['an API read', '/api/households'],
    ['an API error', '/api/nothing-here'],
    ['an unknown page', '/nothing-here'],
  ])('%s (%s) has CSP, nosniff, no referrer and refuses framing', async (_name, path) => {
    const res = await get(path, { authorization: manager });
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("worker-src 'self' blob:");
    expect(csp).not.toMatch(/script-src[^;]*unsafe/);
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('referrer-policy')).toBe('no-referrer');
    expect(res.headers.get('x-frame-options')).toBe('DENY');
    expect(res.headers.get('strict-transport-security')).toBeNull();
  });

  it('sends HSTS only over https, direct or through a proxy that says so', async () => {
    expect((await get('/healthz')).headers.get('strict-transport-security')).toBeNull();
    expect((await get('/healthz', { 'x-forwarded-proto': 'https' })).headers.get('strict-transport-security')).toBe('max-age=31536000; includeSubDomains');
    expect((await app.request('https://madad.example/healthz')).headers.get('strict-transport-security')).toBe('max-age=31536000; includeSubDomains');
  });

  it('answers identity reads, and every API response, with Cache-Control: no-store', async () => {
    const households = await get('/api/households', { authorization: manager });
    expect(households.status).toBe(200);
    expect((await households.json()).identity).toBe(true);
    expect(households.headers.get('cache-control')).toBe('no-store');
    for (const path of ['/api/auth/me', '/api/alerts', '/api/nothing-here']) expect((await get(path, { authorization: manager })).headers.get('cache-control'), path).toBe('no-store');
    // What chooses its own caching keeps it.
    expect((await get('/fonts/DejaVuSans.ttf')).headers.get('cache-control')).toBe('public, max-age=604800');
  });

  it('the docs page loads no inline script', async () => {
    const html = await (await get('/docs')).text();
    const scripts = [...html.matchAll(/<script([^>]*)>([\s\S]*?)<\/script>/g)];
    expect(scripts.length).toBeGreaterThan(0);
    for (const [, attributes, body] of scripts) {
      expect(attributes).toMatch(/src="\/docs\//);
      expect(body!.trim()).toBe('');
    }
  });
});
