import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Hono } from 'hono';
import type { AppEnv } from './context.ts';

// Swagger UI is served from its npm package so the docs page works with no network.
const assetsDir = path.dirname(fileURLToPath(import.meta.resolve('swagger-ui-dist/package.json')));
const assets: Record<string, string> = {
  'swagger-ui.css': 'text/css; charset=utf-8',
  'swagger-ui-bundle.js': 'text/javascript; charset=utf-8',
  'favicon-32x32.png': 'image/png',
};

const page = `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>Madad API</title>
  <link rel="icon" href="/docs/assets/favicon-32x32.png">
  <link rel="stylesheet" href="/docs/assets/swagger-ui.css">
</head>
<body>
  <div id="docs"></div>
  <script src="/docs/assets/swagger-ui-bundle.js"></script>
  <script src="/docs/init.js"></script>
</body>
</html>`;

const init = `window.ui = SwaggerUIBundle({ url: '/openapi.json', dom_id: '#docs', deepLinking: true });`;

export function docsRoutes() {
  const app = new Hono<AppEnv>();
  app.get('/docs', (c) => c.html(page));
  app.get('/docs/init.js', (c) => c.body(init, 200, { 'content-type': 'text/javascript; charset=utf-8' }));
  app.get('/docs/assets/:file', async (c) => {
    const file = c.req.param('file');
    // Own keys only, as for the fonts (server/http/web.ts).
    const type = Object.hasOwn(assets, file) ? assets[file] : undefined;
    if (!type) return c.notFound();
    const bytes = await readFile(path.join(assetsDir, file));
    return c.body(bytes, 200, { 'content-type': type, 'cache-control': 'public, max-age=86400' });
  });
  return app;
}
