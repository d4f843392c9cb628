import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Hono, type Context } from 'hono';
import type { AppEnv } from './context.ts';
import { problemResponse } from './problem.ts';

/** Where `ensureWebBuild` (and `npm run build:web`) put the built web app. */
export const WEB_DIST = fileURLToPath(new URL('../../web/dist/', import.meta.url));

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
  '.woff2': 'font/woff2',
  '.woff': 'font/woff',
  '.ttf': 'font/ttf',
};

const packageDir = (name: string) => path.dirname(fileURLToPath(import.meta.resolve(`${name}/package.json`)));

// Fonts come from their npm packages so labels and the Urdu interface work with no network; only the
// files the app uses are served.
const FONTS: Record<string, () => string> = {
  'DejaVuSans.ttf': () => path.join(packageDir('dejavu-fonts-ttf'), 'ttf', 'DejaVuSans.ttf'),
  'DejaVuSans-Bold.ttf': () => path.join(packageDir('dejavu-fonts-ttf'), 'ttf', 'DejaVuSans-Bold.ttf'),
  'noto-naskh-arabic-arabic-400-normal.woff2': () => path.join(packageDir('@fontsource/noto-naskh-arabic'), 'files', 'noto-naskh-arabic-arabic-400-normal.woff2'),
  'noto-naskh-arabic-arabic-700-normal.woff2': () => path.join(packageDir('@fontsource/noto-naskh-arabic'), 'files', 'noto-naskh-arabic-arabic-700-normal.woff2'),
};

/** The web app's own routes (history API); each answers with index.html and the app draws the view. */
const APP_ROUTES = ['/', '/login', '/alerts', '/alerts/:id', '/rules', '/events', '/events/new', '/events/:id', '/inbox', '/batches/:id', '/budgets', '/plans', '/events/:id/plan', '/events/:id/plan/print'];

async function fileResponse(c: Context<AppEnv>, file: string, cache: string) {
  const bytes = await readFile(file);
  const type = CONTENT_TYPES[path.extname(file).toLowerCase()] ?? 'application/octet-stream';
  return c.body(bytes, 200, { 'content-type': type, 'cache-control': cache, 'x-content-type-options': 'nosniff' });
}

async function isFile(file: string): Promise<boolean> {
  try {
    return (await stat(file)).isFile();
  } catch {
    return false;
  }
}

/** Serves the built web app, its hashed assets and the map fonts; `/api/...` is never answered here. */
export function webRoutes(distDir = WEB_DIST) {
  const app = new Hono<AppEnv>();

  app.get('/fonts/:file', async (c) => {
    // Own keys only: `__proto__` or `constructor` would otherwise find Object.prototype's and answer 500.
    const name = c.req.param('file');
    const resolve = Object.hasOwn(FONTS, name) ? FONTS[name] : undefined;
    if (!resolve) return c.notFound();
    return fileResponse(c, resolve(), 'public, max-age=604800');
  });

  // Vite names assets by content hash, so they may be cached for good.
  app.get('/assets/:file', async (c) => {
    const name = c.req.param('file');
    if (!/^[\w.-]+$/.test(name) || name.startsWith('.')) return c.notFound();
    const file = path.join(distDir, 'assets', name);
    if (!(await isFile(file))) return c.notFound();
    return fileResponse(c, file, 'public, max-age=31536000, immutable');
  });

  const index = async (c: Context<AppEnv>) => {
    const file = path.join(distDir, 'index.html');
    if (!(await isFile(file))) {
      return problemResponse(c, 503, 'unavailable', 'Service unavailable', 'The web app is not built yet: run "npm run build:web" or start with "npm start".');
    }
    // Its Content-Security-Policy is the one every response gets (server/http/security.ts).
    return fileResponse(c, file, 'no-cache');
  };
  for (const route of APP_ROUTES) app.get(route, index);
  return app;
}
