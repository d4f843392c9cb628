import { fork } from 'node:child_process';
import { readdir, rename, rm, stat } from 'node:fs/promises';
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

let building: Promise<void> | undefined;

/**
 * Builds the web app with Vite's JS API when web/dist is missing or stale, so `npm start` always serves
 * the sources in the tree. Returns whether it built.
 *
 * The build goes to a folder of its own and then takes web/dist's place, so a server running meanwhile
 * never serves half a build, and two processes building at once (a test run and `npm start`) do not
 * write into each other's files.
 */
export async function ensureWebBuild(options: { force?: boolean; quiet?: boolean } = {}): Promise<boolean> {
  if (!options.force && !(await webBuildStale())) return false;
  building ??= buildInto(options.quiet ?? false).finally(() => (building = undefined));
  await building;
  return true;
}

/**
 * ensureWebBuild in a child process of its own, when web/dist is missing or stale: the build (some CPU
 * seconds of Vite) then runs on another core while this process opens the database and prepares the demo,
 * where in this process it would hold the event loop first. Resolves to whether it built; rejects, with
 * the child's exit, when the build fails (Vite's own message goes to stderr).
 */
export async function ensureWebBuildApart(options: { force?: boolean; quiet?: boolean } = {}): Promise<boolean> {
  if (!options.force && !(await webBuildStale())) return false;
  const args = ['--force', ...(options.quiet ? ['--quiet'] : [])];
  const child = fork(fileURLToPath(new URL('./web-build-child.mjs', import.meta.url)), args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  return new Promise<boolean>((resolve, reject) => {
    let built = false;
    child.once('message', () => (built = true));
    child.once('error', reject);
    child.once('exit', (code, signal) => (code === 0 && built ? resolve(true) : reject(new Error(`the web app's build failed (${signal ?? `exit code ${code}`})`))));
  });
}

async function buildInto(quiet: boolean): Promise<void> {
  const stamp = `${process.pid}-${Date.now()}`;
  const fresh = path.join(WEB_DIR, `.dist-${stamp}`);
  const old = path.join(WEB_DIR, `.dist-old-${stamp}`);
  // Vite is a build tool: loaded only when a build is needed, so a built tree starts without it.
  const { build } = await import('vite');
  try {
    await build({ configFile: path.join(WEB_DIR, 'vite.config.ts'), logLevel: quiet ? 'silent' : 'warn', build: { outDir: fresh, emptyOutDir: true } });
    await rename(DIST_DIR, old).catch(() => undefined);
    await rename(fresh, DIST_DIR);
  } finally {
    await rm(fresh, { recursive: true, force: true });
    await rm(old, { recursive: true, force: true });
  }
}
