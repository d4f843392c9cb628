import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { and, eq } from 'drizzle-orm';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ARTIFACTS, identityOf, launchBrowser, newPage as openPage, recordBodies, signIn as signInAs, startWebServer, type WebServer } from '../harness/browser.ts';
import { batches, households } from '../../server/db/schema/index.ts';
import { importRegistry } from '../../server/registry/import.ts';
import { synthAreas, synthCsv } from '../../server/registry/synth.ts';
import { RECONCILIATION_COLUMNS } from '../../server/payments/reconcile.ts';
import type { Running } from '../../server/serve.ts';
import { makeRule, makeUser } from '../harness/factories.ts';
import { loadTestDistricts, loadTestTehsils } from '../harness/gazetteer.ts';

// Each role's path through the web app, in Chromium, on one server and one browser: a DMA officer declares a
// flood from a pasted notification, programme managers submit and approve the Sindh batch, finance signs,
// releases, makes the payment files and applies the bank's answer, and a responder reads the event, the
// batch and the map without ever receiving a name, CNIC, phone or account.


/** The notification as a PDMA letter lists it: two districts by level word, one name that is also a tehsil, a misspelling and a city that is no district. */
const NOTIFICATION = ['District Thatta', 'District Sujawal', 'Badin', 'Tando Muhamad Khan', 'Karachi'].join('\n');

let web: WebServer;
let running: Running;
let browser: Browser;
let identity: { cnics: string[]; names: string[]; phones: string[]; accounts: string[] };
const users = { dma: '', pmA: '', pmB: '', finance: '', responder: '' };
let eventId = '';
let sindhBatchId = '';
let federalBatchId = '';


beforeAll(async () => {
  web = await startWebServer('madad-roles-');
  running = web.running;
  const db = running.database.db;
  await loadTestDistricts(db);
  await loadTestTehsils(db);
  let csv = '';
  for await (const chunk of synthCsv({ households: 6000, seed: 20260826, areas: await synthAreas(db) })) csv += String(chunk);
  identity = identityOf(csv);
  await importRegistry(running.database, Readable.from([csv]));
  // The federal flood relief of 2022 without its end date, so it is in force today beside the shipped Sindh top-up.
  await makeRule(db, { from: 'flood-relief-2022', id: 'federal-flood-web', change: (y) => y.replace(/^valid_to: .*$/m, '') });
  users.dma = (await makeUser(db, { roles: ['dma_officer'], jurisdiction: 'PK7' })).username;
  // The federal batch (BISP) is the one paid: every Kafaalat household of the Sindh top-up is already in it.
  users.pmA = (await makeUser(db, { roles: ['program_manager'], jurisdiction: 'PK', agency: 'BISP' })).username;
  users.pmB = (await makeUser(db, { roles: ['program_manager'], jurisdiction: 'PK', agency: 'BISP' })).username;
  users.finance = (await makeUser(db, { roles: ['finance_officer'], jurisdiction: 'PK', agency: 'Finance Division' })).username;
  users.responder = (await makeUser(db, { roles: ['responder'], jurisdiction: 'PK7', agency: 'Sindh Rural Support' })).username;
  browser = await launchBrowser();
}, 240_000);

afterAll(async () => {
  await browser?.close();
  await web?.stop();
});

// A refused request (401 before sign-in, the 400 of a wrong reconciliation file) is logged by the browser.
const newPage = () => openPage(browser, { viewport: { width: 1500, height: 950 }, expected: /status of (401|400)/, acceptDownloads: true });

const signIn = (page: Page, username: string) => signInAs(page, running.url, username);

async function renderedFeatures(page: Page, layer: string): Promise<number> {
  const handle = await page.waitForFunction(
    (layer) => {
      const map = window.__madadMap;
      if (!map || !map.getLayer(layer) || !map.loaded()) return 0;
      return map.queryRenderedFeatures({ layers: [layer] }).length || 0;
    },
    layer,
    { timeout: 30_000, polling: 250 },
  );
  return (await handle.jsonValue()) as number;
}

const shot = async (page: Page, name: string) => {
  await page.waitForTimeout(600);
  await page.screenshot({ path: path.join(ARTIFACTS, `roles-${name}.png`) });
};

/** A programme's batch of the event, once the server's reactions to the declaration have built it. */
async function batchOf(programme: string): Promise<string> {
  const db = running.database.db;
  for (let i = 0; i < 120; i++) {
    const [row] = await db.select({ id: batches.id }).from(batches).where(and(eq(batches.subjectId, eventId), eq(batches.programme, programme)));
    if (row) return row.id;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`no ${programme} batch was built`);
}

describe('every role’s job in the web app (Chromium)', () => {
  it('lets a DMA officer declare a flood from a pasted notification, correcting what did not resolve', { timeout: 180_000 }, async () => {
    const { context, page, errors } = await newPage();
    await signIn(page, users.dma);
    await page.getByRole('link', { name: 'Events', exact: true }).click();
    await page.getByRole('heading', { name: 'Events', level: 1 }).waitFor();
    await page.getByRole('link', { name: 'Declare an event' }).click();
    await page.getByLabel('Event name').fill('Monsoon floods, lower Sindh');
    await page.getByLabel('Hazard').selectOption('flood');
    await page.getByLabel(/^Notified areas/).fill(NOTIFICATION);
    await page.getByRole('button', { name: 'Check the list' }).click();

    // Each line's resolution before anything is stored.
    const rows = page.locator('table.resolution tbody tr');
    await expect.poll(() => rows.count()).toBe(5);
    await expect.poll(() => page.locator('.summary').textContent()).toBe('5 lines: 2 resolved, 3 to correct');
    expect(await rows.nth(0).textContent()).toMatch(/resolved.*Thatta \(PK727, district/);
    // A name that is both a district and a tehsil is not picked silently.
    const tando = rows.nth(3);
    expect(await tando.textContent()).toMatch(/ambiguous.*Tando Muhammad Khan \(PK725, district.*\(PK\d{5}, tehsil/);
    const badin = rows.nth(2);
    expect(await badin.textContent()).toMatch(/ambiguous.*names \d areas/);
    const karachi = rows.nth(4);
    expect(await karachi.textContent()).toMatch(/unknown.*matches no area/);
    // Nothing is stored yet, and nothing can be until every line resolves.
    expect(await page.getByRole('button', { name: 'Declare the event' }).isDisabled()).toBe(true);
    await shot(page, 'declare-check');

    // Badin: the district is meant. Karachi: rewritten as the district the letter meant, then checked again.
    await badin.getByLabel('Which area is meant?').selectOption('PK701');
    await tando.getByLabel('Which area is meant?').selectOption('PK725');
    await karachi.getByLabel('Or rewrite the line').fill('Malir Karachi');
    await karachi.getByLabel('Or rewrite the line').press('Tab');
    await page.getByRole('button', { name: 'Check the list' }).click();
    await expect.poll(() => page.locator('.summary').textContent()).toBe('5 lines: 5 resolved, 0 to correct');
    expect(await rows.nth(2).textContent()).toMatch(/^3Badin → PK701resolvedBadin \(PK701, district/);
    expect(await rows.nth(4).textContent()).toMatch(/^5Karachi → Malir Karachi/);
    expect(await rows.nth(4).textContent()).toMatch(/Malir Karachi \(PK714, district/);
    expect(await renderedFeatures(page, 'affected-line')).toBeGreaterThan(0);
    await shot(page, 'declare-resolved');

    await page.getByRole('button', { name: 'Declare the event' }).click();
    await page.waitForURL(/\/events\/[\w-]+$/);
    eventId = page.url().split('/').pop()!;
    await page.getByRole('heading', { name: /Monsoon floods, lower Sindh/ }).waitFor();
    expect(await page.locator('h1 .pill').textContent()).toBe('declared');
    const notified = await page.locator('table.notified').textContent();
    for (const text of ['District Thatta', 'Thatta (PK727', 'PK701', 'Malir Karachi (PK714']) expect(notified).toContain(text);
    expect(await page.locator('.facts').first().textContent()).toMatch(/PKT/);

    // The server's reactions evaluate the rules and build the batches; the page shows them with their reasons.
    sindhBatchId = await batchOf('SSPA');
    federalBatchId = await batchOf('BISP');
    await expect
      .poll(async () => {
        await page.reload();
        await page.locator('#ev-acts').waitFor();
        return page.locator('table.activations a').count();
      }, { timeout: 60_000, interval: 1000 })
      .toBeGreaterThanOrEqual(2);
    expect(await page.locator('#ev-evals + details, .evaluation').first().textContent()).toMatch(/fired/);
    expect(await page.locator('.evaluation .reasons li').count()).toBeGreaterThan(0);
    const acts = await page.locator('table.activations').textContent();
    expect(acts).toMatch(/SSPA/);
    expect(acts).toMatch(/BISP/);
    expect(await renderedFeatures(page, 'affected-line')).toBeGreaterThan(0);
    await shot(page, 'event');
    expect(errors).toEqual([]);
    await context.close();
  });

  it('lets one programme manager submit the federal batch and a second approve it from the inbox', { timeout: 120_000 }, async () => {
    expect(federalBatchId).not.toBe('');
    {
      const { context, page, errors } = await newPage();
      await signIn(page, users.pmA);
      await page.goto(`${running.url}/events/${eventId}`);
      // The Sindh top-up first: its households are already held by BISP, and the page says so.
      await page.locator('table.activations a', { hasText: 'SSPA' }).click();
      await page.waitForURL(`**/batches/${sindhBatchId}`);
      await page.getByRole('heading', { name: /SSPA: sindh-flood-kafaalat/ }).waitFor();
      expect(await page.locator('#b-figures .dedup').textContent()).toMatch(/Duplicates across programmes/);
      expect(await page.locator('#b-figures table.held').textContent()).toMatch(/BISP\s*[\d,]+/);
      // Nothing is left to pay, so nothing is offered to submit.
      expect(await page.locator('#b-actions').textContent()).toMatch(/pays nothing/);
      expect(await page.getByRole('button', { name: 'Submit for approval' }).count()).toBe(0);
      await shot(page, 'batch-sindh-dedup');
      await page.getByRole('link', { name: /Back to the event/ }).click();
      await page.locator('table.activations a', { hasText: 'BISP' }).click();
      await page.waitForURL(`**/batches/${federalBatchId}`);
      await page.getByRole('heading', { name: /BISP: federal-flood-web/ }).waitFor();
      // What the manager checks before submitting: rule and version, the hash, the cut-offs, the districts drawn.
      expect(await page.locator('.facts').first().textContent()).toMatch(/federal-flood-web · Version 1/);
      expect(await page.locator('.facts code.sha').first().textContent()).toMatch(/^[0-9a-f]{64}$/);
      expect(await page.locator('table.cutoffs tbody tr').count()).toBeGreaterThan(0);
      expect(await page.locator('table.by-district tbody tr').count()).toBe(5);
      expect(await renderedFeatures(page, 'choropleth-fill')).toBeGreaterThan(0);
      // Lines for a programme manager: CNIC masked, paged, searchable.
      await page.locator('table.lines tbody tr').first().waitFor();
      expect(await page.locator('table.lines tbody tr td:nth-child(3)').first().textContent()).toMatch(/^\d{5}-\*{5}-\d$/);
      await page.getByLabel(/^Search/).fill('PK727');
      await page.getByRole('button', { name: 'Search', exact: true }).click();
      await expect.poll(async () => (await page.locator('table.lines tbody tr td:nth-child(5)').allTextContents()).every((d) => d === 'PK727')).toBe(true);
      await page.getByRole('button', { name: 'Submit for approval' }).click();
      await page.locator('#b-actions .error, h1 .pill.st-submitted').first().waitFor();
      expect(await page.locator('#b-actions .error').allTextContents()).toEqual([]);
      expect(await page.locator('table.steps tbody tr').count()).toBe(1);
      // Nobody approves their own batch, so the submitter is offered no approval.
      expect(await page.getByRole('button', { name: /Approve step/ }).count()).toBe(0);
      await shot(page, 'batch-submitted');
      expect(errors).toEqual([]);
      await context.close();
    }
    const { context, page, errors } = await newPage();
    await signIn(page, users.pmB);
    // The header counts what waits (plan actions to accept may wait beside the batch).
    await expect.poll(async () => Number(await page.locator('header .inbox-count').textContent())).toBeGreaterThanOrEqual(1);
    await page.getByRole('link', { name: /Inbox/ }).click();
    await page.getByRole('heading', { name: 'What waits for me' }).waitFor();
    expect(await page.locator('ul.counts').textContent()).toMatch(/1 batches to approve/);
    await shot(page, 'inbox-manager');
    await page.locator(`ol.inbox a[href="/batches/${federalBatchId}"]`).click();
    await page.waitForURL(`**/batches/${federalBatchId}`);
    await page.getByLabel(/^Comment \(to approve\)/).fill('Checked the caseload against the notification.');
    await page.getByRole('button', { name: 'Approve step 1' }).click();
    await expect.poll(() => page.locator('h1 .pill').textContent()).toBe('approved');
    const step = await page.locator('table.steps tbody tr').first().textContent();
    expect(step).toContain(users.pmB);
    expect(step).toMatch(/PKT/);
    await shot(page, 'batch-approved');
    expect(errors).toEqual([]);
    await context.close();
  });

  it('lets finance sign, release, make the payment files and apply the bank’s answer', { timeout: 120_000 }, async () => {
    const { context, page, errors } = await newPage();
    await signIn(page, users.finance);
    await page.getByRole('link', { name: /Inbox/ }).click();
    await page.locator(`ol.inbox a[href="/batches/${federalBatchId}"]`).click();
    await page.waitForURL(`**/batches/${federalBatchId}`);
    // The budget line's ceiling and headroom, before the money moves.
    const payers = await page.locator('table.payers').textContent();
    expect(payers).toMatch(/BISP \(federal\)/);
    expect(payers).toMatch(/PKR 70,000,000,000/);
    await page.getByRole('button', { name: /Release the share of BISP/ }).click();
    await expect.poll(() => page.locator('h1 .pill').textContent()).toBe('released');

    // Payment files per channel, with their sha256 and totals; the instructions are made by the release's reaction.
    await expect
      .poll(async () => {
        await page.getByRole('button', { name: 'Make the payment files' }).click();
        await page.locator('#b-files [role=status], #b-files .error').first().waitFor();
        return page.locator('.payment-file').count();
      }, { timeout: 30_000, interval: 1000 })
      .toBeGreaterThan(0);
    const card = page.locator('.payment-file').first();
    expect(await card.locator('code.sha').textContent()).toMatch(/^[0-9a-f]{64}$/);
    expect(await card.textContent()).toMatch(/Total.*PKR [\d,]+/);
    await shot(page, 'batch-files');
    const [download] = await Promise.all([page.waitForEvent('download'), card.getByRole('link', { name: 'Download the file' }).click()]);
    const csv = await readFile((await download.path())!, 'utf8');
    const lines = csv.trimEnd().split(/\r?\n/);
    const ids = lines.slice(1, -1).map((l) => l.split(',')[0]!);
    const amounts = lines.slice(1, -1).map((l) => Number(l.split(',').at(-1)!.replace(/\D/g, '')));
    expect(ids.length).toBeGreaterThan(1);

    // A wrong answer first: refused whole, naming the row and the column.
    const bad = [RECONCILIATION_COLUMNS.join(','), `${ids[0]},paid,${amounts[0]},yesterday,JC-1,`].join('\r\n');
    const answer = [
      RECONCILIATION_COLUMNS.join(','),
      ...ids.map((id, i) => (i % 3 === 2 ? `${id},failed,0,,,account closed` : `${id},paid,${amounts[i]},2026-12-01T14:30:00+05:00,JC-${i},`)),
    ].join('\r\n');
    const upload = card.getByLabel('The bank’s answer (reconciliation CSV)');
    await upload.setInputFiles({ name: 'bank-answer-bad.csv', mimeType: 'text/csv', buffer: Buffer.from(bad) });
    await card.getByRole('button', { name: 'Apply the answer' }).click();
    await card.locator('table.refused').waitFor();
    expect(await card.locator('table.refused').textContent()).toMatch(/row 2\.paid_at/);
    await upload.setInputFiles({ name: 'bank-answer.csv', mimeType: 'text/csv', buffer: Buffer.from(answer) });
    await card.getByRole('button', { name: 'Apply the answer' }).click();
    await card.locator('.report').waitFor();
    const report = await card.locator('.report').textContent();
    const failed = ids.filter((_, i) => i % 3 === 2).length;
    expect(report).toContain('Reconciliation applied');
    expect(report).toContain(`paid ${ids.length - failed}`);
    if (failed) expect(report).toContain(`failed ${failed}`);
    await card.locator('.report').scrollIntoViewIfNeeded();
    await shot(page, 'batch-reconciled');

    // The budget line after the release: released and headroom moved.
    await page.getByRole('link', { name: 'Budgets', exact: true }).click();
    await page.getByRole('heading', { name: 'Budget lines' }).waitFor();
    const budgets = await page.locator('table.budgets').textContent();
    expect(budgets).toMatch(/BISP \(federal\)/);
    await shot(page, 'budgets');

    // The event's money, by state, as the ledger has it.
    await page.goto(`${running.url}/events/${eventId}`);
    await page.locator('#ev-pay table.money').first().waitFor();
    expect(await page.locator('#ev-pay').textContent()).toMatch(/BISP/);
    expect(errors).toEqual([]);
    await context.close();
  });

  it('shows a responder the event, the batch totals and the map, and never any identity', { timeout: 120_000 }, async () => {
    const { context, page, errors } = await newPage();
    const bodies = recordBodies(page);
    await signIn(page, users.responder);
    await page.getByRole('link', { name: 'Events', exact: true }).click();
    await page.locator('table.events a', { hasText: 'Monsoon floods, lower Sindh' }).click();
    await page.locator('#ev-acts table.activations').waitFor();
    expect(await page.getByRole('button', { name: 'Declare the event' }).count()).toBe(0);
    await page.locator('#ev-pay').waitFor();
    // The plan of the event, summed up on its page.
    await expect.poll(() => page.locator('#ev-plan').textContent()).toMatch(/\d+ actions: \d+ overdue/);
    await shot(page, 'responder-event');
    await page.locator('table.activations a', { hasText: 'BISP' }).click();
    await page.waitForURL(`**/batches/${federalBatchId}`);
    await page.locator('table.by-district').waitFor();
    // Totals by district, on the map too, but no lines and no actions.
    expect(await page.locator('#b-lines').count()).toBe(0);
    expect(await page.locator('#b-actions').count()).toBe(0);
    expect(await renderedFeatures(page, 'choropleth-fill')).toBeGreaterThan(0);
    await shot(page, 'responder-batch');
    // The plan of the event, and the households on the map: density, then pseudonymous points close in.
    await page.goto(`${running.url}/events/${eventId}/plan`);
    await page.getByRole('navigation', { name: 'Main' }).waitFor();
    await page.locator('main h1').first().waitFor();
    const [home] = await running.database.db.select({ lat: households.lat, lon: households.lon }).from(households).where(eq(households.district, 'PK727')).limit(1);
    const center: [number, number] = [home!.lon, home!.lat];
    await page.getByRole('link', { name: 'Map', exact: true }).click();
    await page.getByLabel('Household density (H3)').check();
    await page.evaluate((c) => window.__madadMap!.jumpTo({ center: c, zoom: 7 }), center);
    expect(await renderedFeatures(page, 'density-fill')).toBeGreaterThan(0);
    await page.getByLabel('Households (zoom in)').check();
    await page.evaluate((c) => window.__madadMap!.jumpTo({ center: c, zoom: 11 }), center);
    expect(await renderedFeatures(page, 'households-circle')).toBeGreaterThan(0);
    await shot(page, 'responder-map');

    const texts = [{ url: 'page text', type: 'text/plain', text: await page.locator('body').innerText() }, ...bodies];
    const api = texts.filter((b) => b.url === 'page text' || b.type.includes('json'));
    expect(api.filter((b) => /\/api\/(batches|events)\//.test(b.url)).length).toBeGreaterThan(3);
    expect(api.some((b) => /\/lines/.test(b.url))).toBe(false);
    const cnics = new Set(identity.cnics);
    const others = new Set([...identity.phones, ...identity.accounts]);
    const names = new Set(identity.names);
    for (const b of api) {
      // A registry version is a time in milliseconds, thirteen digits that are nobody's CNIC.
      expect(b.text.replace(/"registryVersion":"\d{13}-\w+"/g, ''), b.url).not.toMatch(/(?<![\d.])\d{13}(?![\d.])/);
      expect(b.text, b.url).not.toMatch(/\d{5}-\d{7}-\d/);
      expect(b.text, b.url).not.toMatch(/\d{5}-\*{5}-\d/);
      expect(b.text, b.url).not.toMatch(/"(headName|head_name|cnic|phone|paymentAccount|payment_account|account|msisdn)"/);
      // Every run of letters and digits and every quoted string, looked up among the registry's identities.
      const tokens = b.text.match(/[A-Za-z0-9+]{8,}/g) ?? [];
      expect(tokens.find((x) => cnics.has(x) || others.has(x)), b.url).toBeUndefined();
      const quoted = b.url === 'page text' ? b.text.split(/\s*\n\s*|\t/) : (b.text.match(/"[^"]{6,80}"/g) ?? []).map((q) => q.slice(1, -1));
      expect(quoted.find((q) => names.has(q)), b.url).toBeUndefined();
    }
    expect(errors).toEqual([]);
    await context.close();
  });

  it('shows the batch and the inbox in Urdu, right to left', async () => {
    const { context, page } = await newPage();
    await signIn(page, users.finance);
    await page.goto(`${running.url}/batches/${federalBatchId}`);
    await page.locator('table.steps').waitFor();
    await page.getByLabel('Language').selectOption('ur');
    await expect.poll(() => page.evaluate(() => document.documentElement.dir)).toBe('rtl');
    await page.getByRole('heading', { name: 'منظوری کے مراحل' }).waitFor();
    expect(await page.locator('h1 .pill').textContent()).toBe('جاری شدہ');
    expect(await page.getByRole('link', { name: 'بجٹ', exact: true }).count()).toBe(1);
    await shot(page, 'batch-urdu');
    await page.getByRole('link', { name: /ان باکس/ }).click();
    await page.getByRole('heading', { name: 'میرے منتظر کام' }).waitFor();
    await context.close();
  });
});
