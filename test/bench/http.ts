// `npm run bench:http [-- --households 1000000 --clients 50 --seconds 10 --alerts 500 --share 0.45]`: the
// server under load on loopback, on PostgreSQL. A scratch database (made on DATABASE_URL's or
// TEST_DATABASE_URL's server and dropped after) is seeded with a synthetic registry of `--households`,
// the federal flood rule and a few accounts; a `madad serve` process of its own runs on it. From this
// process, N clients read the main routes as the web app does (each client keeps to one route), in
// three phases of the same load:
// nothing else running; dry runs of the flood rule over tehsils holding `--share` of the registry, one
// after the other; and the build of that flood's batch (the declaration posted through the API, the
// server building the batch itself). Then a burst of pushed alerts, all at once, followed until every
// one is stored and evaluated.
import { once } from 'node:events';
import { Agent, request } from 'node:http';
import { availableParallelism, loadavg } from 'node:os';
import { sql } from 'drizzle-orm';
import { systemCtx } from '../../server/context.ts';
import { queryRows } from '../../server/db/client.ts';
import { importRegistry } from '../../server/registry/import.ts';
import { synthAreas, synthCsv } from '../../server/registry/synth.ts';
import { createUser } from '../../server/users/service.ts';
import { makeRule } from '../harness/factories.ts';
import { serveProcess } from '../harness/cli.ts';
import { TEST_DEDUP_KEY } from '../harness/app.ts';
import { numberArg } from './args.ts';
import { benchDatabase, ms, time } from './scratch.ts';

const HOUSEHOLDS = numberArg('households', 1_000_000);
const SEED = numberArg('seed', 20220825);
const SHARE = numberArg('share', 0.45);
const CLIENTS = numberArg('clients', 50);
const SECONDS = numberArg('seconds', 10);
const ALERTS = numberArg('alerts', 500);
const PASSWORD = 'bench-http-password-2026';
const RULE = 'flood-relief-bench';
const n = (x: number) => x.toLocaleString('en');
const load = () => loadavg()[0]!.toFixed(1);

// Idle sockets are closed before the server's keep-alive timeout (5 s) would close them: a request sent on
// a socket the server is closing that moment fails with ECONNRESET, an error of the client, not the server.
const agent = new Agent({ keepAlive: true, maxSockets: CLIENTS + 8, timeout: 4000 });

interface Answer {
  status: number;
  body: string;
  headers: Record<string, string | string[] | undefined>;
}

/** One request over a kept-alive connection, its whole body read. */
function call(url: string, init: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: init.method ?? 'GET', headers: init.headers, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString(), headers: res.headers }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(init.body);
  });
}

/** Signs an account in; returns the headers a browser would send (cookie and CSRF token). */
async function signIn(url: string, username: string): Promise<Record<string, string>> {
  const res = await call(`${url}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username, password: PASSWORD }) });
  if (res.status !== 200) throw new Error(`sign-in of ${username}: HTTP ${res.status} ${res.body}`);
  const cookie = String([res.headers['set-cookie']].flat()[0]).split(';')[0]!;
  const { csrfToken } = JSON.parse(res.body) as { csrfToken: string };
  return { cookie, 'x-csrf-token': csrfToken };
}

/** What a problem+json answer says went wrong, or the start of any other body. */
function problemDetail(body: string): string {
  try {
    return String((JSON.parse(body) as { detail?: unknown }).detail ?? body.slice(0, 120));
  } catch {
    return body.slice(0, 120);
  }
}

const percentile = (sorted: number[], p: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]! : 0);
const ms1 = (v: number) => v.toFixed(1);

const cap = (tag: string, n: number) => `<?xml version="1.0" encoding="UTF-8"?>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">
  <identifier>BENCH-${process.pid}-${tag}-${n}</identifier><sender>ffd.pmd.gov.pk</sender><sent>${new Date().toISOString().replace(/\.\d+Z$/, '+00:00')}</sent>
  <status>Actual</status><msgType>Alert</msgType><scope>Public</scope>
  <info><category>Met</category><event>Riverine flood</event><urgency>Immediate</urgency><severity>Severe</severity><certainty>Observed</certainty>
    <headline>Bench flood warning ${n}</headline><area><areaDesc>Lower Sindh</areaDesc><polygon>24.6,67.6 24.6,68.4 25.4,68.4 25.4,67.6 24.6,67.6</polygon></area></info>
</alert>`;

const { database, drop } = await benchDatabase();
const rows: string[] = [];
let child: Awaited<ReturnType<typeof serveProcess>>['child'] | undefined;
try {
  const db = database.db;
  const [, seedMs] = await time(async () => importRegistry(database, synthCsv({ households: HOUSEHOLDS, seed: SEED, areas: await synthAreas(db) })));
  const ctx = systemCtx(db, 'bench', new Date());
  const account = (username: string, roles: string[], senders?: string[]) =>
    createUser(ctx, { username, displayName: username, roles: roles as never, agency: roles.includes('program_manager') ? 'BISP' : 'NDMA', jurisdiction: 'PK', password: PASSWORD, ...(senders ? { senders } : {}) });
  await account('bench.reader', ['responder']);
  await account('bench.admin', ['admin']);
  await account('bench.officer', ['dma_officer'], ['ffd.pmd.gov.pk']);
  await account('bench.manager', ['program_manager']);
  await makeRule(db, { from: 'flood-relief-2022', id: RULE, change: (y) => y.replace(/^valid_to: .*$/m, '') });
  // The declared tehsils: in code order, until they hold `share` of the registry (as bench:batch does).
  const tehsils = await queryRows<{ tehsil: string; n: number }>(db, sql`select tehsil, count(*)::int as n from households where tehsil is not null group by 1 order by 1`);
  const declared: string[] = [];
  let inArea = 0;
  for (const t of tehsils) {
    if (inArea >= SHARE * HOUSEHOLDS) break;
    declared.push(t.tehsil);
    inArea += t.n;
  }

  const url = new URL(process.env.DATABASE_URL ?? process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres');
  url.pathname = `/${(await queryRows<{ name: string }>(db, sql`select current_database() as name`))[0]!.name}`;
  const started = performance.now();
  const server = await serveProcess({ DATABASE_URL: url.toString(), MADAD_DEMO: '0', MADAD_DEDUP_KEY: TEST_DEDUP_KEY, LOG_LEVEL: 'warn' });
  child = server.child;
  const reader = await signIn(server.url, 'bench.reader');
  const admin = await signIn(server.url, 'bench.admin');
  const officer = await signIn(server.url, 'bench.officer');
  const manager = await signIn(server.url, 'bench.manager');
  const json = { 'content-type': 'application/json' };

  /** Waits until the outbox has delivered everything (evaluations, builds). */
  const drained = async () => {
    for (;;) {
      const status = JSON.parse((await call(`${server.url}/api/system/outbox`, { headers: admin })).body) as { pending: number; failed: number };
      if (status.pending === 0) return status;
      await new Promise((r) => setTimeout(r, 250));
    }
  };

  // Alerts for the list to show, then the registry index loaded and grouped by cell (a server does both
  // once, at start): no phase below pays for them.
  for (let i = 0; i < 20; i++) await call(`${server.url}/api/alerts`, { method: 'POST', headers: { ...officer, 'content-type': 'application/cap+xml' }, body: cap('seed', i) });
  const warm = await call(`${server.url}/api/exposure`, { method: 'POST', headers: { ...reader, ...json }, body: JSON.stringify({ area: { codes: ['PK7'] } }) });
  if (warm.status !== 200) throw new Error(`warming the registry index: HTTP ${warm.status} ${warm.body}`);
  await drained();
  const ready = (performance.now() - started) / 1000;

  const reads: { name: string; path: string; method?: string; body?: string }[] = [
    { name: 'GET /healthz', path: '/healthz' },
    { name: 'GET /api/alerts', path: '/api/alerts?pageSize=50' },
    { name: 'GET /api/events', path: '/api/events' },
    { name: 'GET /api/rules', path: '/api/rules' },
    { name: 'GET /api/areas?level=1', path: '/api/areas?level=1&tolerance=0.01' },
    { name: 'GET /api/households/density', path: '/api/households/density?bbox=66.5,23.5,71,28.5&res=6' },
    { name: 'POST /api/exposure (Sindh)', path: '/api/exposure', method: 'POST', body: JSON.stringify({ area: { codes: ['PK7'] } }) },
  ];

  /**
   * The load, until `heavy` has finished and at least SECONDS have passed: each client keeps to one route
   * (the clients shared evenly among them) and sends its next request when the last is answered, so at most
   * CLIENTS are in flight. A client going round every route would spend most of its time waiting on the
   * slowest, and the fast routes would hardly be asked.
   */
  async function phase(label: string, heavy: () => Promise<string>) {
    const latencies = new Map(reads.map((r) => [r.name, [] as number[]]));
    const errors = new Map(reads.map((r) => [r.name, 0]));
    const reasons = new Map<string, number>();
    const failed = (route: string, why: string) => {
      errors.set(route, errors.get(route)! + 1);
      reasons.set(`${route}: ${why}`, (reasons.get(`${route}: ${why}`) ?? 0) + 1);
    };
    const loadBefore = load();
    const t0 = performance.now();
    let done = false;
    const job = heavy().finally(() => (done = true));
    const minimum = t0 + SECONDS * 1000;
    await Promise.all(
      Array.from({ length: CLIENTS }, async (_, client) => {
        const r = reads[client % reads.length]!;
        while (!done || performance.now() < minimum) {
          const start = performance.now();
          try {
            const res = await call(`${server.url}${r.path}`, { method: r.method ?? 'GET', headers: { ...reader, ...(r.body ? json : {}) }, ...(r.body ? { body: r.body } : {}) });
            if (res.status !== 200) failed(r.name, `HTTP ${res.status} ${problemDetail(res.body)}`);
          } catch (err) {
            failed(r.name, (err as Error).message);
          }
          latencies.get(r.name)!.push(performance.now() - start);
        }
      }),
    );
    const what = await job;
    const seconds = (performance.now() - t0) / 1000;
    console.log(`\n${label}: ${what}; ${CLIENTS} clients for ${seconds.toFixed(1)} s, load average ${loadBefore} → ${load()}\n`);
    console.log('| route | requests | errors | req/s | p50 ms | p99 ms | max ms |');
    console.log('|---|---|---|---|---|---|---|');
    let total = 0;
    let totalErrors = 0;
    for (const r of reads) {
      const l = latencies.get(r.name)!.sort((a, b) => a - b);
      total += l.length;
      totalErrors += errors.get(r.name)!;
      console.log(`| ${r.name} | ${n(l.length)} | ${errors.get(r.name)} | ${(l.length / seconds).toFixed(0)} | ${ms1(percentile(l, 50))} | ${ms1(percentile(l, 99))} | ${ms1(l.at(-1) ?? 0)} |`);
    }
    console.log(`| all | ${n(total)} | ${totalErrors} | ${(total / seconds).toFixed(0)} | | | |`);
    for (const [why, count] of reasons) console.log(`  ${count} × ${why}`);
    rows.push(`${label}: ${n(total)} requests, ${totalErrors} errors, ${(total / seconds).toFixed(0)} req/s`);
  }

  console.log(
    `\nbench:http on PostgreSQL: ${n(HOUSEHOLDS)} households (seed ${SEED}, seeded in ${ms(seedMs)}), ${availableParallelism()} cores shared with other work; ` +
      `server ready (index loaded, grouped by cell) ${ready.toFixed(1)} s after start; flood over ${declared.length} tehsils holding ${n(inArea)} households`,
  );

  await phase('Quiet', async () => 'nothing else running');

  await phase('During dry runs', async () => {
    const times: number[] = [];
    let households = 0;
    const until = performance.now() + SECONDS * 1000;
    do {
      const [res, took] = await time(() =>
        call(`${server.url}/api/rules/${RULE}/dry-run`, { method: 'POST', headers: { ...manager, ...json }, body: JSON.stringify({ event: { hazard: 'flood', areaCodes: declared } }) }),
      );
      if (res.status !== 200) throw new Error(`dry run: HTTP ${res.status} ${res.body}`);
      households = (JSON.parse(res.body) as { caseload: { households: number } }).caseload.households;
      times.push(took);
    } while (performance.now() < until);
    return `${times.length} dry runs of ${n(households)} lines one after the other (${times.map(ms).join(', ')})`;
  });

  await phase('During a batch build', async () => {
    const t = performance.now();
    const res = await call(`${server.url}/api/events`, {
      method: 'POST',
      headers: { ...officer, ...json },
      body: JSON.stringify({ name: 'Bench flood', hazard: 'flood', status: 'declared', areas: declared }),
    });
    if (res.status !== 201) throw new Error(`declaration: HTTP ${res.status} ${res.body}`);
    const status = await drained();
    const batches = JSON.parse((await call(`${server.url}/api/batches?pageSize=50`, { headers: manager })).body) as { items: { lineCount: number; status: string; subject: { kind: string } }[] };
    const batch = batches.items.find((b) => b.subject.kind === 'event');
    if (!batch || status.failed > 0) throw new Error(`the build did not finish: ${JSON.stringify({ status, batches })}`);
    return `the flood declared through the API and its batch of ${n(batch.lineCount)} lines built by the server (${batch.status}) in ${ms(performance.now() - t)}`;
  });

  if (ALERTS > 0) {
    // The burst: every alert sent at once, each its own request, then followed until evaluated.
    const burstStart = performance.now();
    const outcomes = await Promise.all(
      Array.from({ length: ALERTS }, (_, i) =>
        call(`${server.url}/api/alerts`, { method: 'POST', headers: { ...officer, 'content-type': 'application/cap+xml' }, body: cap('burst', i) }).then(
          (res) => (JSON.parse(res.body) as { items?: { result: string }[] }).items?.[0]?.result ?? `HTTP ${res.status}`,
          (err: Error) => `failed: ${err.message}`,
        ),
      ),
    );
    const answered = (performance.now() - burstStart) / 1000;
    const status = await drained();
    const evaluated = (performance.now() - burstStart) / 1000;
    const created = outcomes.filter((o) => o === 'created').length;
    const other = [...new Set(outcomes.filter((o) => o !== 'created'))].join(', ') || 'none';
    console.log(`\n| burst | alerts | created | other answers | answered in | outbox pending / failed | all evaluated in |`);
    console.log('|---|---|---|---|---|---|---|');
    console.log(`| ${ALERTS} pushed at once | ${ALERTS} | ${created} | ${other} | ${answered.toFixed(1)} s | ${status.pending} / ${status.failed} | ${evaluated.toFixed(1)} s |`);
  }
  console.log(`\n${rows.join('\n')}`);
} finally {
  if (child && child.exitCode === null) {
    child.kill('SIGTERM');
    await once(child, 'exit');
  }
  agent.destroy();
  await drop();
}
