import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli, spawnCli } from './harness/cli.ts';

const dirs: string[] = [];
const tempDir = () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'madad-cli-'));
  dirs.push(dir);
  return dir;
};
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

describe('madad command line', () => {
  it('lists its commands with --help', async () => {
    const res = await runCli(['--help']);
    expect(res.code).toBe(0);
    expect(res.stdout).toContain('serve');
    expect(res.stdout).toContain('migrate');
  });

  it('has --help on each command', async () => {
    for (const command of ['serve', 'migrate']) {
      const res = await runCli([command, '--help']);
      expect(res.code, command).toBe(0);
      expect(res.stdout).toContain(`Usage: madad ${command}`);
    }
  });

  it('fails with a message on stderr for an unknown command', async () => {
    const res = await runCli(['fly']);
    expect(res.code).not.toBe(0);
    expect(res.stderr).toContain("unknown command 'fly'");
  });

  it('stops with the name of a wrong variable', async () => {
    const res = await runCli(['serve'], { PORT: 'eighty', DATABASE_URL: undefined });
    expect(res.code).toBe(2);
    expect(res.stderr).toContain('PORT: expected a whole number from 0 to 65535');
  });

  it('migrates an embedded database in its data folder', async () => {
    const dir = tempDir();
    const res = await runCli(['migrate'], { MADAD_DATA_DIR: dir, DATABASE_URL: undefined });
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    expect(res.stdout).toContain(`Migrations applied (pglite, ${dir})`);
  });

  it('serves, reuses its data on a second start, and exits 0 on SIGTERM and SIGINT', async () => {
    const dir = tempDir();
    const installIds: string[] = [];
    for (const signal of ['SIGTERM', 'SIGINT'] as const) {
      const child = spawnCli(['serve'], { MADAD_DATA_DIR: dir, PORT: '0', LOG_LEVEL: 'info', DATABASE_URL: undefined });
      let stdout = '';
      child.stdout!.on('data', (d) => (stdout += d));
      const url = await new Promise<string>((resolve, reject) => {
        let stderr = '';
        child.stderr!.on('data', (d) => {
          stderr += d;
          const m = /Madad is running at (\S+)/.exec(stderr);
          if (m) resolve(m[1]!);
        });
        child.on('exit', (code) => reject(new Error(`server exited early (${code}): ${stderr}`)));
      });
      const ready = await (await fetch(`${url}/readyz`)).json();
      expect(ready.status).toBe('ready');
      const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
      child.kill(signal);
      expect(await exited).toBe(0);
      const lines = stdout.trim().split('\n').map((l) => JSON.parse(l));
      expect(lines.at(-1).msg).toBe('stopped');
      installIds.push(lines.find((l) => l.msg === 'database ready').installId);
    }
    expect(installIds[1]).toBe(installIds[0]);
  });
});
