import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const fixture = fileURLToPath(new URL('./hanging-serve.mjs', import.meta.url));
const dirs: string[] = [];
const children: ChildProcess[] = [];
afterAll(() => {
  // A child that outlived a failed test is ended here, not left running.
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** Starts the fixture's server, sends one SIGTERM once it listens and the fixture is armed, and returns how the process ended. */
async function serveThenTerm(mode: 'blocked' | 'lingering') {
  const dir = mkdtempSync(path.join(tmpdir(), 'madad-shutdown-'));
  dirs.push(dir);
  const env: NodeJS.ProcessEnv = { ...process.env, MADAD_DATA_DIR: dir, PORT: '0', LOG_LEVEL: 'info', MADAD_DEMO: '0', MADAD_JOBS: '0', MADAD_SHUTDOWN_TIMEOUT_MS: '0' };
  delete env.DATABASE_URL;
  const child = spawn(process.execPath, [fixture, mode], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  let sent = false;
  child.stderr.on('data', (d) => {
    stderr += d;
    if (!sent && stderr.includes('Madad is running at') && stderr.includes('fixture armed')) sent = child.kill('SIGTERM');
  });
  const end = await exited;
  const lines = stdout.trim().split('\n').flatMap((l) => (l.startsWith('{') ? [JSON.parse(l) as { msg: string }] : []));
  return { ...end, messages: lines.map((l) => l.msg), stderr };
}

describe('madad serve on SIGTERM, with MADAD_SHUTDOWN_TIMEOUT_MS=0 (a deadline of 1 s)', () => {
  it('exits with status 1 and says so when something keeps the process up past the deadline', async () => {
    const end = await serveThenTerm('lingering');
    expect(end, end.stderr).toMatchObject({ code: 1, signal: null });
    expect(end.messages).toContain('shutting down');
    expect(end.messages).toContain('still running 1000 ms after SIGTERM; exiting');
  });

  it('is killed by its watchdog thread when the event loop is blocked, after a log line saying so', async () => {
    const end = await serveThenTerm('blocked');
    expect(end, end.stderr).toMatchObject({ signal: 'SIGKILL' });
    expect(end.messages.at(-1)).toBe('event loop blocked 2000 ms after SIGTERM; killing the process');
  });
});
