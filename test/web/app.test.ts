import path from 'node:path';
import { Readable } from 'node:stream';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ARTIFACTS, identityOf, launchBrowser, newPage as openPage, recordBodies, signIn as signInAs, startWebServer, type Identity, type WebServer } from '../harness/browser.ts';
import { synthAreas, synthCsv } from '../../server/registry/synth.ts';
import { importRegistry } from '../../server/registry/import.ts';
import type { Running } from '../../server/serve.ts';
import { capMessage, LOWER_SINDH_POLYGON } from '../harness/cap.ts';
import { makeUser, unique } from '../harness/factories.ts';
import { loadTestDistricts } from '../harness/gazetteer.ts';


/** The CSV of the synthetic registry, kept so the test knows every CNIC and head name it must never see. */
async function registryCsv(areas: Awaited<ReturnType<typeof synthAreas>>): Promise<string> {
  let text = '';
  for await (const chunk of synthCsv({ households: 5000, seed: 20260826, areas })) text += String(chunk);
  return text;
}


let web: WebServer;
let running: Running;
let browser: Browser;
let identity: Identity;
const users = { dma: '', responder: '' };

beforeAll(async () => {
  web = await startWebServer('madad-web-');
  running = web.running;
  const db = running.database.db;
  await loadTestDistricts(db);
  const csv = await registryCsv(await synthAreas(db));
  identity = identityOf(csv);
  await importRegistry(running.database, Readable.from([csv]));
  users.dma = (await makeUser(db, { roles: ['dma_officer'], jurisdiction: 'PK7' })).username;
  users.responder = (await makeUser(db, { roles: ['responder'], jurisdiction: 'PK7' })).username;
  browser = await launchBrowser();
});

afterAll(async () => {
  await browser?.close();
  await web?.stop();
});

/** A fresh browser context; `errors` collects script errors and console errors (MapLibre reports style errors there). */
const newPage = () => openPage(browser);

const signIn = (page: Page, username: string) => signInAs(page, running.url, username);

/** Waits until the map has drawn features in `layer` matching `filter` (a property name and value). */
async function renderedFeatures(page: Page, layer: string, property?: string, value?: string): Promise<number> {
  const handle = await page.waitForFunction(
    ({ layer, property, value }) => {
      const map = window.__madadMap;
      if (!map || !map.getLayer(layer) || !map.loaded()) return 0;
      const found = map.queryRenderedFeatures({ layers: [layer] }).filter((f) => !property || String(f.properties?.[property]) === value);
      return found.length || 0;
    },
    { layer, property, value },
    { timeout: 30_000, polling: 250 },
  );
  return (await handle.jsonValue()) as number;
}

async function postAlert(page: Page, xml: string): Promise<string> {
  await page.getByRole('link', { name: 'Alerts', exact: true }).click();
  await page.getByLabel('Alert message (CAP XML or JSON)').fill(xml);
  await page.getByRole('button', { name: 'Post alert' }).click();
  const link = page.locator('.post-alert .result a').first();
  await expect.poll(async () => (await link.count()) > 0, { timeout: 15_000 }).toBe(true);
  expect(await link.textContent()).toContain('created');
  const href = (await link.getAttribute('href'))!;
  return href.split('/').pop()!;
}

describe('the web app in Chromium', () => {
  it('lets a DMA officer sign in, post a CAP alert, see it drawn on the map, open it and dry-run a rule', async () => {
    const { context, page, errors } = await newPage();
    const failed: string[] = [];
    page.on('requestfailed', (r) => failed.push(r.url()));
    await page.goto(`${running.url}/`);
    await page.getByLabel('Username').waitFor();
    await page.screenshot({ path: path.join(ARTIFACTS, 'web-login.png') });
    await signIn(page, users.dma);

    const identifier = unique('WEB-FLOOD');
    const alertId = await postAlert(page, capMessage({ identifier, polygon: LOWER_SINDH_POLYGON, severity: 'Extreme' }));
    const testId = await postAlert(
      page,
      capMessage({ identifier: unique('WEB-TEST'), status: 'Test', polygon: '26.0,68.2 26.0,69.0 26.6,69.0 26.6,68.2 26.0,68.2', severity: 'Moderate', headline: 'System test' }),
    );

    await page.getByRole('heading', { name: 'All alerts' }).waitFor();
    await page.locator('.alert-list a', { hasText: 'System test' }).first().waitFor();
    await page.screenshot({ path: path.join(ARTIFACTS, 'web-alerts.png') });

    await page.getByRole('link', { name: 'Map', exact: true }).click();
    // What the map actually drew, not only what the DOM says.
    expect(await renderedFeatures(page, 'alerts-fill', 'id', alertId)).toBeGreaterThan(0);
    expect(await renderedFeatures(page, 'alerts-line-test', 'id', testId)).toBeGreaterThan(0);
    expect(await renderedFeatures(page, 'alerts-label', 'label', 'TEST')).toBeGreaterThan(0);
    expect(await renderedFeatures(page, 'areas-1-label')).toBeGreaterThan(0);
    expect(await renderedFeatures(page, 'affected-line')).toBeGreaterThan(0);
    expect(await renderedFeatures(page, 'choropleth-fill')).toBeGreaterThan(0);
    await expect.poll(() => page.locator('.legend').textContent()).toContain('Affected households by area');
    await page.waitForTimeout(500);
    await page.screenshot({ path: path.join(ARTIFACTS, 'web-map.png') });
    // The choropleth as shares of the affected households, chosen from the keyboard.
    await page.getByLabel('Share of affected households').focus();
    await page.keyboard.press('Space');
    await expect.poll(() => page.locator('.legend').textContent()).toMatch(/\d %/);
    await page.getByLabel('Count', { exact: true }).check();

    // The alert's detail: its languages, versions, the reasons of each rule evaluation and its exposure.
    await page.locator('.alert-list a', { hasText: 'Flood warning for lower Sindh' }).first().click();
    await page.waitForURL(`**/alerts/${alertId}`);
    await page.getByRole('heading', { name: 'Trigger evaluations' }).waitFor();
    await expect.poll(async () => page.locator('.evaluations .reasons li').count().then(async (n) => n > 0 || (await page.reload(), false)), { timeout: 20_000 }).toBe(true);
    expect(await page.locator('.evaluations').textContent()).toMatch(/hazard \w*flood/);
    const exposure = await page.locator('.exposure').textContent();
    expect(exposure).toMatch(/Households inside/);
    expect(Number((await page.locator('.exposure dd').first().textContent())!.replace(/\D/g, ''))).toBeGreaterThan(0);
    expect(await page.locator('.facts').first().textContent()).toMatch(/PKT/);
    expect(await page.locator('.exposure tbody').textContent()).toMatch(/Thatta|Sujawal|Badin/);
    await page.waitForTimeout(800);
    await page.screenshot({ path: path.join(ARTIFACTS, 'web-alert-detail.png') });
    await page.locator('.exposure').scrollIntoViewIfNeeded();
    await page.screenshot({ path: path.join(ARTIFACTS, 'web-alert-exposure.png') });

    // Rules and a dry run, with the caseload drawn on the map.
    await page.getByRole('link', { name: 'Rules', exact: true }).click();
    await page.getByRole('heading', { name: 'Dry run' }).waitFor();
    const rule = page.getByLabel('Rule', { exact: true });
    const floodRule = await rule.locator('option').evaluateAll((options) => (options as HTMLOptionElement[]).find((o) => /flood/i.test(o.value))?.value);
    if (floodRule) await rule.selectOption(floodRule);
    await page.getByLabel('Alert', { exact: true }).selectOption(alertId);
    await page.getByRole('button', { name: 'Run dry run' }).click();
    await page.locator('.dry-run-result .reasons li').first().waitFor();
    expect(await page.locator('.dry-run-result').textContent()).toMatch(/Caseload/);
    await page.waitForTimeout(800);
    await page.screenshot({ path: path.join(ARTIFACTS, 'web-rules-dry-run.png') });

    expect(failed.filter((u) => !u.startsWith(running.url))).toEqual([]);
    expect(errors).toEqual([]);
    await context.close();
  });

  it('shows a responder no identity data anywhere: not in the page, not in any response', async () => {
    const { context, page, errors } = await newPage();
    const bodies = recordBodies(page);
    await signIn(page, users.responder);
    // A responder may not post alerts or dry-run rules, so the app does not offer it.
    await page.getByRole('link', { name: 'Alerts', exact: true }).click();
    await page.getByRole('heading', { name: 'All alerts' }).waitFor();
    expect(await page.getByRole('heading', { name: 'Post an alert' }).count()).toBe(0);
    await page.getByRole('link', { name: 'Rules', exact: true }).click();
    await page.getByRole('heading', { name: 'Pre-agreed rules in force' }).waitFor();
    await page.locator('.rule, .panel p').first().waitFor();
    expect(await page.getByRole('heading', { name: 'Dry run' }).count()).toBe(0);

    // Households drawn one by one at high zoom, with a popup of pseudonymous fields.
    await page.getByRole('link', { name: 'Map', exact: true }).click();
    await page.getByLabel('Households (zoom in)').check();
    await page.getByLabel('Household density (H3)').check();
    await page.evaluate(() => window.__madadMap!.jumpTo({ center: [68.3, 24.75], zoom: 7 }));
    expect(await renderedFeatures(page, 'density-fill')).toBeGreaterThan(0);
    await page.getByLabel('Household density (H3)').uncheck();
    await page.evaluate(() => window.__madadMap!.jumpTo({ center: [68.3, 24.75], zoom: 10.5 }));
    expect(await renderedFeatures(page, 'households-circle')).toBeGreaterThan(0);
    const point = await page.evaluate(() => {
      const map = window.__madadMap!;
      const [f] = map.queryRenderedFeatures({ layers: ['households-circle'] });
      const p = map.project((f!.geometry as unknown as { coordinates: [number, number] }).coordinates);
      const box = map.getCanvas().getBoundingClientRect();
      return { x: box.left + p.x, y: box.top + p.y };
    });
    await page.mouse.click(point.x, point.y);
    await page.locator('.maplibregl-popup .popup').waitFor();
    expect(await page.locator('.maplibregl-popup').textContent()).toMatch(/hh-\d+/);
    await page.waitForTimeout(500);
    await page.screenshot({ path: path.join(ARTIFACTS, 'web-responder-households.png') });

    await page.getByRole('link', { name: 'Alerts', exact: true }).click();
    await page.locator('.alert-list a').first().click();
    await page.getByRole('heading', { name: 'Exposure' }).waitFor();

    const texts = [{ url: 'page text', type: 'text/plain', text: await page.locator('body').innerText() }, ...bodies];
    const api = texts.filter((b) => b.url === 'page text' || b.type.includes('json'));
    expect(api.length).toBeGreaterThan(5);
    for (const b of api) {
      expect(b.text, b.url).not.toMatch(/(?<![\d.])\d{13}(?![\d.])/);
      expect(b.text, b.url).not.toMatch(/\d{5}-\d{7}-\d/);
    }
    // Names are checked as whole values: a head called "Muhammad Khan" must not be confused with the
    // district of Tando Muhammad Khan.
    const cells = new Set(texts[0]!.text.split(/\s*\n\s*|\t/));
    for (const b of texts) {
      expect(b.text, b.url).not.toMatch(/\d{5}-\*{5}-\d/);
      expect(b.text, b.url).not.toMatch(/"(headName|head_name|cnic|phone)"/);
      const cnic = identity.cnics.find((c) => b.text.includes(c));
      expect(cnic, b.url).toBeUndefined();
      const name = identity.names.find((n) => (b.url === 'page text' ? cells.has(n) : b.text.includes(`"${n}"`)));
      expect(name, b.url).toBeUndefined();
    }
    expect(errors).toEqual([]);
    await context.close();
  });

  it('switches to Urdu, right to left', async () => {
    const { context, page } = await newPage();
    await signIn(page, users.responder);
    // From the keyboard: the first Tab reaches the skip link, which leads to the view's content.
    await page.reload();
    await page.getByRole('navigation', { name: 'Main' }).waitFor();
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.className)).toBe('skip');
    await page.keyboard.press('Enter');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('main');
    await page.getByLabel('Language').selectOption('ur');
    await expect.poll(() => page.evaluate(() => document.documentElement.dir)).toBe('rtl');
    expect(await page.evaluate(() => document.documentElement.lang)).toBe('ur');
    await page.getByRole('link', { name: 'نقشہ', exact: true }).waitFor();
    expect(await page.getByRole('heading', { level: 1 }).first().textContent()).toBe('فعال وارننگز');
    expect(await page.getByRole('button', { name: 'قریب کریں' }).count()).toBe(1);
    // Noto Naskh Arabic, served by our server, is what the browser draws Urdu with.
    expect(await page.evaluate(() => document.fonts.check('16px "Noto Naskh Arabic"', 'فعال'))).toBe(true);
    await page.waitForTimeout(800);
    await page.screenshot({ path: path.join(ARTIFACTS, 'web-urdu.png') });
    await context.close();
  });
});
