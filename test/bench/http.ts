// `npm run bench:http [-- --clients 50 --seconds 10 --alerts 500]`: the server under load on loopback.
// A `madad serve` process of its own with the demo (PGlite in a fresh folder, or DATABASE_URL's database,
// which should be empty), then from this process: N clients reading the main routes as the web app does,
// then a burst of pushed alerts, all at once, followed until every one is stored and evaluated.
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { demoPassword } from '../../server/demo/prepare.ts';
import { serveProcess } from '../harness/cli.ts';
import { numberArg } from './args.ts';

const CLIENTS = numberArg('clients', 50);
const SECONDS = numberArg('seconds', 10);
const ALERTS = numberArg('alerts', 500);

const dir = mkdtempSync(path.join(tmpdir(), 'madad-bench-http-'));
const env = { MADAD_DATA_DIR: path.join(dir, 'data'), PORT: '0', MADAD_DEMO: '1', LOG_LEVEL: 'warn' };

/** Signs a demo user in; returns the headers a browser would send (cookie and CSRF token). */
async function signIn(url: string, username: string): Promise<Record<string, string>> {
  const res = await fetch(`${url}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username, password: demoPassword(username) }) });
  if (!res.ok) throw new Error(`sign-in of ${username}: HTTP ${res.status} ${await res.text()}`);
  const cookie = res.headers.get('set-cookie')!.split(';')[0]!;
  const { csrfToken } = (await res.json()) as { csrfToken: string };
  return { cookie, 'x-csrf-token': csrfToken };
}

const percentile = (sorted: number[], p: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]! : 0);
const ms = (n: number) => n.toFixed(1);

const started = performance.now();
const server = await serveProcess(env);
const prepared = (performance.now() - started) / 1000;
try {
  const reader = await signIn(server.url, 'responder');
  const admin = await signIn(server.url, 'admin');
  const officer = await signIn(server.url, 'pdma.sindh');
  const reads: { name: string; path: string; init?: RequestInit }[] = [
    { name: 'GET /api/alerts?active=true', path: '/api/alerts?active=true&pageSize=200' },
    { name: 'GET /api/events', path: '/api/events' },
    { name: 'GET /api/rules', path: '/api/rules' },
    { name: 'GET /api/areas?level=1', path: '/api/areas?level=1&tolerance=0.01' },
    { name: 'GET /api/households/density', path: '/api/households/density?bbox=66.5,23.5,71,28.5&res=6' },
    { name: 'POST /api/exposure (Sindh)', path: '/api/exposure', init: { method: 'POST', body: JSON.stringify({ area: { codes: ['PK7'] } }), headers: { 'content-type': 'application/json' } } },
  ];
  const latencies = new Map(reads.map((r) => [r.name, [] as number[]]));
  const errors = new Map(reads.map((r) => [r.name, 0]));
  const until = performance.now() + SECONDS * 1000;
  await Promise.all(
    Array.from({ length: CLIENTS }, async (_, client) => {
      for (let i = client; performance.now() < until; i++) {
        const r = reads[i % reads.length]!;
        const t0 = performance.now();
        try {
          const res = await fetch(`${server.url}${r.path}`, { ...r.init, headers: { ...reader, ...(r.init?.headers as Record<string, string> | undefined) } });
          await res.arrayBuffer();
          if (!res.ok) errors.set(r.name, errors.get(r.name)! + 1);
        } catch {
          errors.set(r.name, errors.get(r.name)! + 1);
        }
        latencies.get(r.name)!.push(performance.now() - t0);
      }
    }),
  );
  console.log(`\nbench:http: ${CLIENTS} clients for ${SECONDS} s on loopback (server started with the demo in ${prepared.toFixed(1)} s)\n`);
  console.log('| route | requests | errors | req/s | p50 ms | p95 ms | p99 ms |');
  console.log('|---|---|---|---|---|---|---|');
  let total = 0;
  let totalErrors = 0;
  for (const r of reads) {
    const l = latencies.get(r.name)!.sort((a, b) => a - b);
    total += l.length;
    totalErrors += errors.get(r.name)!;
    console.log(`| ${r.name} | ${l.length} | ${errors.get(r.name)} | ${(l.length / SECONDS).toFixed(0)} | ${ms(percentile(l, 50))} | ${ms(percentile(l, 95))} | ${ms(percentile(l, 99))} |`);
  }
  console.log(`| all | ${total} | ${totalErrors} | ${(total / SECONDS).toFixed(0)} | | | |`);

  // The burst: every alert sent at once, each its own request, then followed until evaluated.
  const cap = (n: number) => `<?xml version="1.0" encoding="UTF-8"?>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">
  <identifier>BENCH-${process.pid}-${n}</identifier><sender>ffd.pmd.gov.pk</sender><sent>${new Date().toISOString().replace(/\.\d+Z$/, '+00:00')}</sent>
  <status>Actual</status><msgType>Alert</msgType><scope>Public</scope>
  <info><category>Met</category><event>Riverine flood</event><urgency>Immediate</urgency><severity>Severe</severity><certainty>Observed</certainty>
    <headline>Bench flood warning ${n}</headline><area><areaDesc>Lower Sindh</areaDesc><polygon>24.6,67.6 24.6,68.4 25.4,68.4 25.4,67.6 24.6,67.6</polygon></area></info>
</alert>`;
  const burstStart = performance.now();
  const outcomes = await Promise.all(
    Array.from({ length: ALERTS }, (_, n) =>
      fetch(`${server.url}/api/alerts`, { method: 'POST', headers: { ...officer, 'content-type': 'application/cap+xml' }, body: cap(n) }).then(
        async (res) => ((await res.json()) as { items?: { result: string }[] }).items?.[0]?.result ?? `HTTP ${res.status}`,
        (err: Error) => `failed: ${err.message}`,
      ),
    ),
  );
  const answered = (performance.now() - burstStart) / 1000;
  let drained = 0;
  let status: { pending: number; failed: number } = { pending: -1, failed: -1 };
  for (;;) {
    status = (await (await fetch(`${server.url}/api/system/outbox`, { headers: admin })).json()) as typeof status;
    if (status.pending === 0) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  drained = (performance.now() - burstStart) / 1000;
  const created = outcomes.filter((o) => o === 'created').length;
  const alerts = (await (await fetch(`${server.url}/api/alerts?pageSize=500&since=${new Date(Date.now() - 3600_000).toISOString()}`, { headers: reader })).json()) as { total: number };
  console.log(`\n| burst | alerts | created | other answers | answered in | stored | outbox pending / failed | all evaluated in |`);
  console.log('|---|---|---|---|---|---|---|---|');
  const other = [...new Set(outcomes.filter((o) => o !== 'created'))].join(', ') || 'none';
  console.log(`| ${ALERTS} pushed at once | ${ALERTS} | ${created} | ${other} | ${answered.toFixed(1)} s | ${alerts.total} | ${status.pending} / ${status.failed} | ${drained.toFixed(1)} s |`);
} finally {
  server.child.kill('SIGTERM');
  await once(server.child, 'exit');
  rmSync(dir, { recursive: true, force: true });
}
