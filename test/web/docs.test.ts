import { serve, type ServerType } from '@hono/node-server';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testApp } from '../harness/app.ts';
import { createTestDatabase, type TestDatabase } from '../harness/databases.ts';

const CHROMIUM = process.env.MADAD_CHROMIUM ?? '/usr/bin/chromium';

/** The API docs (Swagger UI from its npm package) under the Content-Security-Policy every response carries. */
describe('the docs page in Chromium', () => {
  let db: TestDatabase;
  let server: ServerType;
  let browser: Browser;
  let url: string;
  beforeAll(async () => {
    db = await createTestDatabase('pglite');
    const app = testApp(db);
    server = await new Promise<ServerType>((resolve) => {
      const s = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(s));
    });
    url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless=new', '--no-sandbox', '--disable-background-networking'] });
  });
  afterAll(async () => {
    await browser?.close();
    server?.close();
    await db?.drop();
  });

  it('draws every route and opens one, with no CSP violation or script error, from this server alone', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const errors: string[] = [];
    const foreign: string[] = [];
    page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
    page.on('pageerror', (e) => errors.push(String(e)));
    page.on('request', (r) => !r.url().startsWith(url) && !r.url().startsWith('data:') && foreign.push(r.url()));
    await page.goto(`${url}/docs`);
    await expect.poll(() => page.locator('.swagger-ui .info .title').textContent(), { timeout: 30_000 }).toContain('Madad API');
    await page.locator('.opblock').first().click();
    await page.locator('.opblock .responses-wrapper').first().waitFor();
    expect(await page.locator('.opblock').count()).toBeGreaterThan(20);
    expect(errors).toEqual([]);
    expect(foreign).toEqual([]);
    await context.close();
  });
});
