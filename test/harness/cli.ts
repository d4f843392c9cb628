import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { TEST_DEDUP_KEY } from './app.ts';

export const madadBin = fileURLToPath(new URL('../../server/bin/madad.mjs', import.meta.url));

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `madad ...args` as a user would, in its own process. */
export function runCli(args: string[], env: Record<string, string | undefined> = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawnCli(args, env);
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d) => (stdout += d));
    child.stderr!.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

export function spawnCli(args: string[], env: Record<string, string | undefined> = {}): ChildProcess {
  const merged: Record<string, string | undefined> = { ...process.env, LOG_LEVEL: 'warn', MADAD_DEMO: '0', MADAD_DEDUP_KEY: TEST_DEDUP_KEY, ...env };
  for (const key of Object.keys(merged)) if (merged[key] === undefined) delete merged[key];
  return spawn(process.execPath, [madadBin, ...args], { env: merged as NodeJS.ProcessEnv, stdio: ['ignore', 'pipe', 'pipe'] });
}

/** `madad serve` in a process of its own; resolves with the process and its URL once it listens. */
export async function serveProcess(env: Record<string, string | undefined>): Promise<{ child: ChildProcess; url: string }> {
  const child = spawnCli(['serve'], { PORT: '0', MADAD_DEMO: '0', LOG_LEVEL: 'warn', ...env });
  let seen = '';
  const url = await new Promise<string>((resolve, reject) => {
    child.stderr!.on('data', (d) => {
      seen += d;
      const m = /Madad is running at (\S+)/.exec(seen);
      if (m) resolve(m[1]!);
    });
    child.once('exit', (code) => reject(new Error(`the server exited (${code}) before listening: ${seen}`)));
  });
  return { child, url };
}
