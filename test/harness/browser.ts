/**
 * What the browser tests share: Debian's Chromium launched headless with WebGL through SwiftShader, a web
 * server of their own on an empty data folder, a page that collects script errors, signing in through the
 * login form, the responses a page received, and the identity of a synthetic registry that a responder's
 * session must never receive.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { parseEnv } from '../../server/env.ts';
import { ensureWebBuild } from '../../server/http/web-build.ts';
import { startServer, type Running } from '../../server/serve.ts';
import { silentLog } from './app.ts';
import { TEST_PASSWORD } from './factories.ts';

/** The Chromium binary (Debian's `chromium` package); `MADAD_CHROMIUM` names another. */
export const CHROMIUM = process.env.MADAD_CHROMIUM ?? '/usr/lib/chromium/chromium';
/** Where the tests leave their screenshots and PDFs (gitignored). */
export const ARTIFACTS = fileURLToPath(new URL('../artifacts/', import.meta.url));
const CHROMIUM_ARGS = [
  '--headless=new',
  '--no-sandbox',
  '--use-angle=swiftshader',
  '--enable-unsafe-swiftshader',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
}

export interface WebServer {
  running: Running;
  url: string;
  stop(): Promise<void>;
}

/** The app built and served from an empty data folder of its own (PGlite, no demo, no jobs), on a free port. */
export async function startWebServer(prefix: string): Promise<WebServer> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), prefix));
  await mkdir(ARTIFACTS, { recursive: true });
  const [, running] = await Promise.all([
    ensureWebBuild({ quiet: true }),
    startServer(parseEnv({ PORT: '0', MADAD_DATA_DIR: dataDir, MADAD_DEMO: '0', MADAD_JOBS: '0', LOG_LEVEL: 'silent' }), silentLog),
  ]);
  return {
    running,
    url: running.url,
    stop: async () => {
      await running.shutdown('test done');
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

export interface NewPage {
  context: BrowserContext;
  page: Page;
  /** Script errors and console errors (MapLibre reports style errors there), but the expected refusals. */
  errors: string[];
}

/**
 * A fresh browser context and page. A console error that `expected` matches is a refusal the test asks for
 * (the 401 of "who am I?" before signing in always is).
 */
export async function newPage(
  browser: Browser,
  options: { viewport?: { width: number; height: number }; timeout?: number; expected?: RegExp; acceptDownloads?: boolean } = {},
): Promise<NewPage> {
  const context = await browser.newContext({
    viewport: options.viewport ?? { width: 1400, height: 900 },
    locale: 'en-GB',
    timezoneId: 'UTC',
    ...(options.acceptDownloads ? { acceptDownloads: true } : {}),
  });
  const page = await context.newPage();
  page.setDefaultTimeout(options.timeout ?? 20_000);
  const errors: string[] = [];
  const expected = options.expected ?? /status of 401/;
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => {
    if (m.type() === 'error' && !expected.test(m.text())) errors.push(m.text());
  });
  return { context, page, errors };
}

export async function signIn(page: Page, baseUrl: string, username: string): Promise<void> {
  await page.goto(`${baseUrl}/`);
  await page.waitForURL('**/login');
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(TEST_PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('navigation', { name: 'Main' }).waitFor();
}

export interface Body {
  url: string;
  type: string;
  text: string;
}

/** Every response body the page receives from now on (fonts and images left out), as it arrives. */
export function recordBodies(page: Page): Body[] {
  const bodies: Body[] = [];
  page.on('response', async (r) => {
    const type = r.headers()['content-type'] ?? '';
    if (/^(font|image)\//.test(type)) return;
    try {
      bodies.push({ url: r.url(), type, text: await r.text() });
    } catch {
      // Redirects and aborted requests have no body.
    }
  });
  return bodies;
}

export interface Identity {
  cnics: string[];
  names: string[];
  phones: string[];
  accounts: string[];
}

/** The CNICs, head names, phones and accounts of a synthetic registry CSV (values long enough to be telling). */
export function identityOf(csv: string): Identity {
  const lines = csv.trim().split('\n');
  const header = lines[0]!.split(',');
  const rows = lines.slice(1).map((l) => l.split(','));
  const col = (name: string, min = 0) => rows.map((r) => r[header.indexOf(name)] ?? '').filter((v) => v.length > min);
  return { cnics: col('cnic'), names: col('head_name', 5), phones: col('phone', 6), accounts: col('payment_account', 8) };
}
