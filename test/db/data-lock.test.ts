import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LOCK_FILE } from '../../server/db/data-lock.ts';
import { runCli, spawnCli } from '../harness/cli.ts';

const dirs: string[] = [];
const tempDir = () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'madad-lock-'));
  dirs.push(dir);
  return dir;
};
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

const cap = path.resolve('../shared/fixtures/cap/google-thunderstorm-polygon.cap');
const onFolder = (dir: string) => ({ MADAD_DATA_DIR: dir, DATABASE_URL: undefined });

describe('a PGlite data folder held by another process', () => {
  it('is refused to the CLI while a server runs on it, with what to do, and served again once it stops', async () => {
    const dir = tempDir();
    const server = spawnCli(['serve'], { ...onFolder(dir), PORT: '0', MADAD_DEMO: '0', LOG_LEVEL: 'info' });
    const exited = new Promise<number | null>((resolve) => server.on('exit', (code) => resolve(code)));
    await new Promise<void>((resolve, reject) => {
      let stderr = '';
      server.stderr!.on('data', (d) => {
        stderr += d;
        if (/Madad is running at/.test(stderr)) resolve();
      });
      server.on('exit', (code) => reject(new Error(`server exited early (${code}): ${stderr}`)));
    });
    try {
      for (const args of [['migrate'], ['alerts', 'ingest', cap]]) {
        const refused = await runCli(args, onFolder(dir));
        expect(refused.code, args.join(' ')).not.toBe(0);
        expect(refused.stderr).toContain(`madad: a Madad process (pid ${server.pid}, "serve", since `);
        expect(refused.stderr).toContain(`holds the PGlite data folder ${dir}`);
        expect(refused.stderr).toContain('Stop it, or run this against the running server over its API, or use a PostgreSQL database (DATABASE_URL)');
      }
    } finally {
      server.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
    expect(existsSync(path.join(dir, LOCK_FILE))).toBe(false);
    const ingested = await runCli(['alerts', 'ingest', cap], onFolder(dir));
    expect(ingested.stderr).toBe('');
    expect(ingested.code).toBe(0);
  });

  it('takes over a lock its holder left when it died, and says so', async () => {
    const dir = tempDir();
    expect((await runCli(['migrate'], onFolder(dir))).code).toBe(0);
    // A process that has ended: its pid names no live process (were it reused, its start time would differ).
    const gone = spawn(process.execPath, ['-e', '']);
    await new Promise((resolve) => gone.on('exit', resolve));
    const stale = { pid: gone.pid, host: hostname(), startedAt: '2026-08-26T04:00:00.000Z', command: 'serve' };
    writeFileSync(path.join(dir, LOCK_FILE), JSON.stringify(stale));
    const res = await runCli(['migrate'], onFolder(dir));
    expect(res.code).toBe(0);
    expect(res.stderr).toContain(`taking over ${path.join(dir, LOCK_FILE)}: its holder (pid ${gone.pid}, "serve") no longer runs`);
    expect(existsSync(path.join(dir, LOCK_FILE))).toBe(false);
  });

  it('takes over a lock whose pid another process has since been given, and refuses one whose holder still runs', async () => {
    const dir = tempDir();
    // This test's own process is alive, but with another start time than the lock records: a reused pid.
    const reused = { pid: process.pid, host: hostname(), procStart: '1', startedAt: '2026-08-26T04:00:00.000Z', command: 'serve' };
    writeFileSync(path.join(dir, LOCK_FILE), JSON.stringify(reused));
    const taken = await runCli(['migrate'], onFolder(dir));
    expect(taken.code).toBe(0);
    expect(taken.stderr).toContain('no longer runs');
    const live = { pid: process.pid, host: hostname(), procStart: readFileSync(`/proc/${process.pid}/stat`, 'utf8').split(') ')[1]!.split(' ')[19], startedAt: '2026-08-26T04:00:00.000Z', command: 'serve' };
    writeFileSync(path.join(dir, LOCK_FILE), JSON.stringify(live));
    const refused = await runCli(['migrate'], onFolder(dir));
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain(`a Madad process (pid ${process.pid}, "serve"`);
  });
});
