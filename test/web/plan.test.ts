import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { sql } from 'drizzle-orm';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ARTIFACTS, identityOf, launchBrowser, newPage as openPage, recordBodies, signIn as signInAs, startWebServer, type Identity, type WebServer } from '../harness/browser.ts';
import { queryRows } from '../../server/db/client.ts';
import { importRegistry } from '../../server/registry/import.ts';
import { synthAreas, synthCsv } from '../../server/registry/synth.ts';
import type { Running } from '../../server/serve.ts';
import { makeEvent, makeRule, makeUser } from '../harness/factories.ts';
import { loadTestDistricts } from '../harness/gazetteer.ts';


let web: WebServer;
let running: Running;
let browser: Browser;
let eventId = '';
let eventName = '';
let identity: Identity;
const users = { dma: '', responder: '' };


beforeAll(async () => {
  web = await startWebServer('madad-plan-web-');
  running = web.running;
  const db = running.database.db;
  await loadTestDistricts(db);
  let csv = '';
  for await (const chunk of synthCsv({ households: 3000, seed: 20260827, areas: await synthAreas(db) })) csv += String(chunk);
  identity = identityOf(csv);
  await importRegistry(running.database, Readable.from([csv]));
  // Both flood rules, the federal one without its 2023 end, so the declaration copies their pre-agreed actions.
  await makeRule(db, { from: 'flood-relief-2022', change: (y) => y.replace(/^valid_to: .*$/m, '') });
  await makeRule(db, { from: 'sindh-flood-kafaalat' });
  users.dma = (await makeUser(db, { roles: ['dma_officer'], jurisdiction: 'PK7', agency: 'PDMA Sindh' })).username;
  users.responder = (await makeUser(db, { roles: ['responder'], jurisdiction: 'PK7', agency: 'District administration Thatta' })).username;
  eventName = 'Indus floods, coastal Sindh (plan test)';
  eventId = (await makeEvent(db, { name: eventName, hazard: 'riverine_flood', areas: ['PK727', 'PK722', 'PK701'] })).id;
  // The server's drainer copies the stages' actions into the plan and builds the batches.
  for (let i = 0; i < 120; i++) {
    const [row] = await queryRows<{ n: number }>(db, sql`select count(*)::int as n from plan_actions where incident = ${`event:${eventId}`}`);
    if ((row?.n ?? 0) > 0) break;
    await new Promise((r) => setTimeout(r, 250));
  }
  browser = await launchBrowser();
});

afterAll(async () => {
  await browser?.close();
  await web?.stop();
});

/** A fresh page; `bodies` holds every response it receives, for the check that no identity is in any. */
async function newPage() {
  const opened = await openPage(browser, { timeout: 30_000 });
  return { ...opened, bodies: recordBodies(opened.page) };
}

const signIn = (page: Page, username: string) => signInAs(page, running.url, username);

/** What the map holds in a source (querySourceFeatures) once it has drawn `layer` (queryRenderedFeatures). */
async function drawn(page: Page, layer: string, source: string): Promise<{ rendered: number; properties: Record<string, unknown>[] }> {
  const handle = await page.waitForFunction(
    ({ layer, source }) => {
      const map = window.__madadMap;
      if (!map || !map.getLayer(layer) || !map.loaded()) return null;
      const rendered = map.queryRenderedFeatures({ layers: [layer] }).length;
      if (rendered === 0) return null;
      return { rendered, properties: map.querySourceFeatures(source).map((f) => f.properties) };
    },
    { layer, source },
    { timeout: 30_000, polling: 250 },
  );
  return (await handle.jsonValue()) as { rendered: number; properties: Record<string, unknown>[] };
}

describe('the plan in the browser', () => {
  it('a responder opens the plan: its actions, progress by district on the map, and never a name or CNIC', async () => {
    const { context, page, errors, bodies } = await newPage();
    await signIn(page, users.responder);
    await page.goto(`${running.url}/events/${eventId}/plan`);
    await page.getByRole('heading', { name: `Response plan: ${eventName}` }).waitFor();
    const rows = page.locator('table.plan-actions tbody tr');
    await expect.poll(() => rows.count()).toBeGreaterThan(5);
    // The pre-agreed actions of both rules, copied per district where the rule says so.
    await page.locator('table.plan-actions', { hasText: 'District administration Thatta opens payment camps' }).waitFor();
    await page.locator('table.plan-actions', { hasText: 'SSPA prepares the Kafaalat top-up list' }).waitFor();
    // A responder reports on the actions of its own agency, and adds none.
    expect(await page.getByRole('heading', { name: 'Add to the plan' }).count()).toBe(0);
    const mine = page.locator('tr.mine', { hasText: 'opens payment camps' });
    await expect.poll(() => mine.count()).toBe(1);
    const progress = await drawn(page, 'plan-progress-fill', 'plan-progress');
    expect(new Set(progress.properties.map((p) => p.code))).toEqual(new Set(['PK701', 'PK722', 'PK727']));
    await page.waitForTimeout(500);
    await page.screenshot({ path: path.join(ARTIFACTS, 'plan-responder.png') });
    // The coordination summary lists the incident and the agencies that lead its actions.
    await page.getByRole('link', { name: 'Plans' }).first().click();
    await page.getByRole('heading', { name: 'Coordination summary' }).waitFor();
    await page.locator('table.plans-incidents a', { hasText: eventName }).waitFor();
    await page.locator('table.plans-agency', { hasText: 'District administration Thatta' }).waitFor();
    await page.locator('table.plans-area', { hasText: 'Thatta (PK727)' }).waitFor();
    await page.screenshot({ path: path.join(ARTIFACTS, 'plan-summary.png') });
    const seen = bodies.filter((b) => b.url.includes('/api/')).map((b) => b.text).join('\n');
    expect(seen.length).toBeGreaterThan(1000);
    for (const cnic of identity.cnics) expect(seen.includes(cnic), 'a CNIC reached a responder').toBe(false);
    for (const name of identity.names.slice(0, 500)) expect(seen.includes(name), `the name ${name} reached a responder`).toBe(false);
    expect(errors).toEqual([]);
    await context.close();
  });

  it('a DMA officer adds an action with a payment camp, sees its point on the map, and moves it on with a note', async () => {
    const { context, page, errors } = await newPage();
    const refusals = () => errors.filter((e) => !/status of 400/.test(e));
    await signIn(page, users.dma);
    await page.goto(`${running.url}/events/${eventId}/plan`);
    await page.getByRole('heading', { name: 'Add to the plan' }).waitFor();
    await page.locator('.plan-add-box summary').click();
    const form = page.locator('form.plan-add');
    await form.getByLabel('What is to be done').fill('Payment camp at the Thatta press club');
    await form.getByLabel('Sector').selectOption('cash');
    await form.getByLabel('Thatta (PK727)').check();
    await form.getByLabel('Name of the place').fill('Thatta press club');
    await form.getByLabel('Latitude').fill('24.75');
    await form.getByLabel('Longitude').fill('67.92');
    await form.getByLabel('Due, hours after the trigger').fill('72');
    // A camp with no area is refused, naming the field, before anything is stored.
    await form.getByLabel('Thatta (PK727)').uncheck();
    await form.getByRole('button', { name: 'Add an action' }).click();
    await form.locator('.form-message', { hasText: 'areaCodes' }).waitFor();
    await form.getByLabel('Thatta (PK727)').check();
    await form.getByRole('button', { name: 'Add an action' }).click();
    const row = page.locator('table.plan-actions tr', { hasText: 'Payment camp at the Thatta press club' });
    await row.waitFor();
    const points = await drawn(page, 'plan-points-circle', 'plan-points');
    expect(points.properties.map((p) => p.name)).toContain('Thatta press club');

    await row.locator('summary', { hasText: 'Report progress' }).click();
    await row.getByLabel('New status').selectOption('ready');
    await row.getByLabel('Note').fill('Staff and police posted at the press club');
    await row.getByRole('button', { name: 'Save the update' }).click();
    const updated = page.locator('table.plan-actions tr', { hasText: 'Payment camp at the Thatta press club' });
    await updated.locator('.pill.plan-ready').waitFor();
    await updated.locator('.last-note', { hasText: 'Staff and police posted at the press club' }).waitFor();

    // Blocked needs a reason: the form asks for it, and the row says why once saved.
    await updated.locator('summary', { hasText: 'Report progress' }).click();
    await updated.getByLabel('New status').selectOption('blocked');
    await updated.getByLabel('Why (required when blocked or cancelled)').fill('The road to the press club is under water');
    await updated.getByLabel('Note').fill('Moving the camp');
    await updated.getByRole('button', { name: 'Save the update' }).click();
    const blocked = page.locator('table.plan-actions tr.blocked', { hasText: 'Payment camp at the Thatta press club' });
    await blocked.locator('.reason', { hasText: 'The road to the press club is under water' }).waitFor();
    // The filter "only overdue or blocked" keeps it.
    await page.getByLabel('Only overdue or blocked').check();
    await expect.poll(() => page.locator('table.plan-actions tbody tr').count()).toBeGreaterThanOrEqual(1);
    await page.locator('table.plan-actions tr.blocked', { hasText: 'Payment camp' }).waitFor();
    await page.screenshot({ path: path.join(ARTIFACTS, 'plan-dma-added.png') });
    // The one 400 is the refused camp without an area, shown to the officer above.
    expect(errors.filter((e) => /status of 400/.test(e))).toHaveLength(1);
    expect(refusals()).toEqual([]);
    await context.close();
  });

  it('prints the plan on A4, in English and in Urdu, with its map as a picture', async () => {
    const { context, page, errors } = await newPage();
    await signIn(page, users.dma);
    for (const lang of ['en', 'ur'] as const) {
      await page.goto(`${running.url}/events/${eventId}/plan/print?lang=${lang}`);
      await page.locator('figure.print-map[data-ready="true"]').waitFor({ timeout: 60_000 });
      expect(await page.evaluate(() => document.documentElement.dir)).toBe(lang === 'ur' ? 'rtl' : 'ltr');
      await page.screenshot({ path: path.join(ARTIFACTS, `plan-print-${lang}.png`), fullPage: true });
      const pdf = await page.pdf({ format: 'A4', printBackground: true });
      await writeFile(path.join(ARTIFACTS, `plan-print-${lang}.pdf`), pdf);
      const text = pdf.toString('latin1');
      expect(text).toMatch(/\/Subtype\s*\/Image/);
      // The document title is the plan's: plain or UTF-16 hex in the PDF's information dictionary.
      const title = lang === 'en' ? `Response plan: ${eventName}` : `امدادی منصوبہ: ${eventName}`;
      const hex = Buffer.from(`\ufeff${title}`, 'utf16le').swap16().toString('hex').toUpperCase();
      const literal = title.replace(/[\\()]/g, (c) => `\\${c}`);
      expect(text.includes(`/Title (${literal})`) || text.toUpperCase().includes(`<${hex}>`), `the PDF's title is ${title}`).toBe(true);
    }
    expect(errors).toEqual([]);
    await context.close();
  });

  it('labels the provinces in Urdu when the interface is Urdu, with the Arabic-script font, and keeps names with no Urdu form in Latin script', async () => {
    const { context, page, errors } = await newPage();
    await signIn(page, users.responder);
    await page.getByLabel('Language').selectOption('ur');
    await page.goto(`${running.url}/`);
    const handle = await page.waitForFunction(
      () => {
        const map = window.__madadMap;
        if (!map || !map.getLayer('areas-1-label') || !map.loaded()) return null;
        const labels = map.queryRenderedFeatures({ layers: ['areas-1-label'] }).map((f) => ({ name: f.properties.name, nameUr: f.properties.nameUr }));
        return labels.length >= 5 ? { labels, field: map.getLayoutProperty('areas-1-label', 'text-field'), faces: (map.getStyle() as { 'font-faces'?: unknown })['font-faces'] } : null;
      },
      undefined,
      { timeout: 30_000, polling: 250 },
    );
    const { labels, field, faces } = (await handle.jsonValue()) as { labels: { name: string; nameUr: string | null }[]; field: unknown; faces: Record<string, { url: string }[]> };
    expect(field).toEqual(['coalesce', ['get', 'nameUr'], ['get', 'name']]);
    expect(labels.find((l) => l.name === 'Sindh')?.nameUr).toBe('سندھ');
    expect(labels.find((l) => l.name === 'Punjab')?.nameUr).toBe('پنجاب');
    expect(faces['DejaVu Sans Bold']![0]!.url).toMatch(/noto-naskh-arabic-arabic-700-normal\.woff2$/);
    // The font is served from our own origin, and no RTL text plugin is asked for.
    const fonts = await page.evaluate(() => performance.getEntriesByType('resource').map((e) => e.name).filter((n) => /font|rtl/i.test(n)));
    expect(fonts.some((n) => n.includes('noto-naskh-arabic'))).toBe(true);
    expect(fonts.every((n) => n.startsWith(running.url))).toBe(true);
    await page.waitForTimeout(800);
    await page.screenshot({ path: path.join(ARTIFACTS, 'plan-map-urdu-labels.png') });
    expect(errors).toEqual([]);
    await context.close();
  });
});
