// `npm run bench:start [-- --households 10000000]`: how soon a `madad serve` process on PostgreSQL can
// answer who lives where, and what it holds in memory. A scratch database is seeded with a synthetic
// registry; the server starts twice on one data folder: first with no snapshot (the registry index loaded
// from the database, grouped by cell, the snapshot written beside the data), then again (the index read
// from that snapshot). Each time: listening, index ready, the first question over the 2022 flood extent
// and the same question again, and the server's RSS (from /proc) after them. The flood extent has 268,239
// vertices, so the server is started with MADAD_MAX_POLYGON_VERTICES raised to 300,000 for it.
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { systemCtx } from '../../server/context.ts';
import { importRegistry } from '../../server/registry/import.ts';
import { synthAreas, synthCsv } from '../../server/registry/synth.ts';
import { createUser } from '../../server/users/service.ts';
import { fixtureJson } from '../harness/fixtures.ts';
import { serveProcess } from '../harness/cli.ts';
import { TEST_DEDUP_KEY } from '../harness/app.ts';
import { numberArg } from './args.ts';
import { benchDatabase, ms, printTable } from './scratch.ts';

const HOUSEHOLDS = numberArg('households', 1_000_000);
const SEED = numberArg('seed', 20220825);
const PASSWORD = 'bench-start-password-2026';

const rssMb = (pid: number) => Math.round(Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024);

/** Resolves with the first JSON log line of the child whose msg is `msg` (the server logs on stdout). */
function logLine(child: ChildProcess, msg: string): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const onData = (d: Buffer) => {
      seen += d;
      for (let at = seen.indexOf('\n'); at >= 0; at = seen.indexOf('\n')) {
        const line = seen.slice(0, at);
        seen = seen.slice(at + 1);
        try {
          const entry = JSON.parse(line) as Record<string, unknown>;
          if (entry.msg === msg) { child.stdout!.off('data', onData); resolve(entry); return; }
          if (entry.level === 50) reject(new Error(`the server logged an error: ${line}`));
        } catch { /* not a log line */ }
      }
    };
    child.stdout!.on('data', onData);
  });
}

const { database, drop, url } = await benchDatabase();
const dataDir = mkdtempSync(path.join(tmpdir(), 'madad-bench-start-'));
const rows: [string, string, string][] = [];
let child: ChildProcess | undefined;
try {
  await importRegistry(database, synthCsv({ households: HOUSEHOLDS, seed: SEED, areas: await synthAreas(database.db) }));
  await createUser(systemCtx(database.db, 'bench', new Date()), { username: 'bench.reader', displayName: 'bench.reader', roles: ['responder'], agency: 'NDMA', jurisdiction: 'PK', password: PASSWORD });
  const flood = fixtureJson<{ features: { geometry: unknown }[] }>('flood/unosat_FL20220808PAK_VIIRS_20220825-20220831_FloodExtent_PAK.geojson').features[0]!.geometry;
  const body = JSON.stringify({ area: { geometry: flood } });

  for (const start of ['first start (no snapshot)', 'next start (snapshot)']) {
    const started = performance.now();
    const server = await serveProcess({ DATABASE_URL: url, MADAD_DATA_DIR: dataDir, MADAD_MAX_POLYGON_VERTICES: '300000', MADAD_DEDUP_KEY: TEST_DEDUP_KEY, LOG_LEVEL: 'info' });
    child = server.child;
    const listening = performance.now() - started;
    const loaded = logLine(child, 'registry index loaded');
    const written = start.startsWith('first') ? logLine(child, 'registry index snapshot written') : undefined;
    const login = await fetch(`${server.url}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'bench.reader', password: PASSWORD }) });
    const cookie = login.headers.getSetCookie()[0]!.split(';')[0]!;
    const { csrfToken } = (await login.json()) as { csrfToken: string };
    const headers = { cookie, 'x-csrf-token': csrfToken, 'content-type': 'application/json' };
    await loaded;
    const ready = performance.now() - started;
    const ask = async () => {
      const t = performance.now();
      const res = await fetch(`${server.url}/api/exposure`, { method: 'POST', headers, body });
      const answer = (await res.json()) as { households?: number; detail?: string };
      if (res.status !== 200) throw new Error(`exposure: HTTP ${res.status} ${answer.detail}`);
      return [answer.households ?? 0, performance.now() - t] as const;
    };
    const [inside, firstMs] = await ask();
    const [, againMs] = await ask();
    rows.push([`${start}: listening / registry index ready`, `load ${loadavg()[0]!.toFixed(1)}`, `${ms(listening)} / ${ms(ready)}`]);
    rows.push([`${start}: the flood extent, first question / again (POST /api/exposure)`, `${inside.toLocaleString('en')} households`, `${ms(firstMs)} / ${ms(againMs)}`]);
    if (written) {
      await written;
      rows.push([`${start}: snapshot written (a spatial worker groups the households, then the file)`, '', `${ms(performance.now() - started)} after start`]);
    }
    rows.push([`${start}: server RSS after the questions`, '', `${rssMb(child.pid!)} MB`]);
    child.kill('SIGTERM');
    await once(child, 'exit');
    child = undefined;
  }
} finally {
  if (child) child.kill('SIGKILL');
  rmSync(dataDir, { recursive: true, force: true });
  await drop();
}

printTable(`Start-up benchmark: ${HOUSEHOLDS.toLocaleString('en')} synthetic households (seed ${SEED}) on PostgreSQL, ${availableParallelism()} cores`, rows);
