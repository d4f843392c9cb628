import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const WEB_DIR = fileURLToPath(new URL('../../web/', import.meta.url));
const DIST_DIR = path.join(WEB_DIR, 'dist');

/** The newest modification time of the web app's sources (everything in web/ but dist/). */
async function newestSource(dir: string): Promise<number> {
  let newest = 0;
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (entry.name === 'dist' || entry.name === 'node_modules' || entry.name.startsWith('.')) continue;
    const full = path.join(dir, entry.name);
    const time = entry.isDirectory() ? await newestSource(full) : (await stat(full)).mtimeMs;
    if (time > newest) newest = time;
  }
  return newest;
}

async function builtAt(): Promise<number | undefined> {
  try {
    return (await stat(path.join(DIST_DIR, 'index.html'))).mtimeMs;
  } catch {
    return undefined;
  }
}

/** Whether web/dist is missing or older than any file in web/. */
export async function webBuildStale(): Promise<boolean> {
  const built = await builtAt();
  return built === undefined || built < (await newestSource(WEB_DIR));
}

/**
 * Builds the web app with Vite's JS API when web/dist is missing or stale, so `npm start` always serves
 * the sources in the tree. Returns whether it built.
 */
export async function ensureWebBuild(options: { force?: boolean; quiet?: boolean } = {}): Promise<boolean> {
  if (!options.force && !(await webBuildStale())) return false;
  // Vite is a build tool: loaded only when a build is needed, so a built tree starts without it.
  const { build } = await import('vite');
  await build({ configFile: path.join(WEB_DIR, 'vite.config.ts'), logLevel: options.quiet ? 'silent' : 'warn' });
  return true;
}
