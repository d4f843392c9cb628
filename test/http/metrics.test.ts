import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../server/app.ts';
import { parseEnv } from '../../server/env.ts';
import { silentLog, testApp } from '../harness/app.ts';
import { createTestDatabase, type TestDatabase } from '../harness/databases.ts';

const TOKEN = 'scrape-me-please-0123456789';

describe('GET /metrics', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase('pglite');
  });
  afterAll(() => db.drop());

  it('is open when MADAD_METRICS_TOKEN is not set (a loopback scraper)', async () => {
    const res = await testApp(db).request('/metrics');
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('madad_');
  });

  it('needs the bearer token when MADAD_METRICS_TOKEN is set', async () => {
    const env = parseEnv({ MADAD_METRICS_TOKEN: TOKEN });
    const app = createApp({ database: db, env, log: silentLog });
    for (const authorization of [undefined, 'Bearer wrong-token-0123456789', `Bearer ${TOKEN}x`, TOKEN]) {
      const res = await app.request('/metrics', { headers: authorization ? { authorization } : {} });
      expect(res.status, String(authorization)).toBe(401);
      expect(res.headers.get('www-authenticate')).toBe('Bearer realm="metrics"');
      expect(await res.json()).toMatchObject({ code: 'unauthorized' });
    }
    const ok = await app.request('/metrics', { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(ok.status).toBe(200);
    expect(await ok.text()).toContain('madad_');
  });

  it('refuses a short token at start', () => {
    expect(() => parseEnv({ MADAD_METRICS_TOKEN: 'short' })).toThrow(/MADAD_METRICS_TOKEN: expected 16 to 200 characters without spaces/);
  });
});
