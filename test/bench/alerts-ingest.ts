/**
 * `npm run bench:alerts [-- --rounds 10 --seed 20220829]`: alert ingest throughput over the real sample
 * corpus (every file in ../shared/fixtures/cap, gdacs and usgs). Parse only, then parse + store, on PGlite
 * in memory and on PostgreSQL when DATABASE_URL or TEST_DATABASE_URL is set (a scratch database is made
 * and dropped). The corpus is repeated for N rounds with its identifiers made unique per round, so every
 * round is stored rather than answered "unchanged"; files are shuffled per round with a seeded generator.
 * `--concurrency N` (default 4): bodies sent at once on PostgreSQL.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { sql } from 'drizzle-orm';
import pino from 'pino';
import postgres from 'postgres';
import { parseAlerts } from '../../server/alerts/parse/index.ts';
import { ingestBody, type IngestResult } from '../../server/alerts/store.ts';
import { systemCtx } from '../../server/context.ts';
import { openDatabase, queryRows, type Database } from '../../server/db/client.ts';
import { verifyAudit } from '../../server/audit/service.ts';
import { batchDeps } from '../../server/batches/deps.ts';
import { reactions } from '../../server/jobs/reactions.ts';
import { outboxCounts } from '../../server/outbox/drain.ts';
import { OutboxDrainer } from '../../server/outbox/drainer.ts';
import { RegistryCache } from '../../server/registry/registry-index.ts';
import { loadRules, SHIPPED_RULES_DIR } from '../../server/rules/loader.ts';
import { loadTestDistricts } from '../harness/gazetteer.ts';
import { numberArg } from './args.ts';

const ROUNDS = numberArg('rounds', 10);
const SEED = numberArg('seed', 20220829);
const CONCURRENCY = numberArg('concurrency', 4);
const fixtures = new URL('../../../shared/fixtures/', import.meta.url);

interface Sample {
  name: string;
  text: string;
  /** What in the text names each message: an identifier as written, or the digits it is built from (GDACS). */
  tokens: string[];
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

function tokensOf(text: string): string[] {
  let outcome;
  try {
    outcome = parseAlerts(text);
  } catch {
    return [];
  }
  const tokens = new Set<string>();
  for (const m of outcome.messages) {
    const id = m.ok ? m.alert.identifier : m.identifier;
    if (!id) continue;
    if (text.includes(id)) tokens.add(id);
    else for (const digits of id.match(/\d{5,}/g) ?? []) if (text.includes(digits)) tokens.add(digits);
  }
  // Longest first, so an identifier that contains another is rewritten whole.
  return [...tokens].sort((a, b) => b.length - a.length);
}

/** The sample with its identifiers made unique to `round`: `id` → `id-b7`, GDACS event ids `1000643` → `1000643007`. */
function forRound(sample: Sample, round: number): Uint8Array {
  let text = sample.text;
  for (const token of sample.tokens) {
    const numeric = /^\d+$/.test(token);
    const pattern = numeric ? new RegExp(`(?<!\\d)${escape(token)}(?!\\d)`, 'g') : new RegExp(escape(token), 'g');
    text = text.replace(pattern, numeric ? `${token}${String(round).padStart(3, '0')}` : `${token}-b${round}`);
  }
  return new TextEncoder().encode(text);
}

/** mulberry32: a small seeded generator, so every run shuffles the same way. */
function random(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
function shuffled<T>(items: T[], next: () => number): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

const samples: Sample[] = ['cap', 'gdacs', 'usgs'].flatMap((folder) =>
  readdirSync(new URL(`${folder}/`, fixtures))
    .sort()
    .map((file) => {
      const text = readFileSync(new URL(`${folder}/${file}`, fixtures), 'utf8');
      return { name: `${folder}/${file}`, text, tokens: tokensOf(text) };
    }),
);
const next = random(SEED);
const bodies: Uint8Array[] = [];
for (let round = 0; round < ROUNDS; round++) for (const s of shuffled(samples, next)) bodies.push(forRound(s, round));

const rows: string[][] = [];
const rate = (n: number, ms: number) => Math.round(n / (ms / 1000)).toLocaleString('en');

// Parse only: no database.
let parsed = 0;
let refusedBodies = 0;
const parseStart = performance.now();
for (const body of bodies) {
  try {
    parsed += parseAlerts(body).messages.filter((m) => m.ok).length;
  } catch {
    refusedBodies++;
  }
}
const parseMs = performance.now() - parseStart;
rows.push(['parse only', '-', `${bodies.length}`, `${parsed}`, `${(parseMs / 1000).toFixed(2)}`, rate(parsed, parseMs), '']);

/** A fresh database with the real district gazetteer (so area resolution does the work it does in production) and, for evaluation, the shipped rules. */
async function prepared(database: Database, withRules: boolean): Promise<void> {
  await database.migrate();
  await loadTestDistricts(database.db);
  if (withRules) await loadRules(systemCtx(database.db, 'bench', new Date('2026-01-01T00:00:00Z')), SHIPPED_RULES_DIR);
}

const NOW = new Date('2026-08-26T05:00:00Z');

/**
 * Every body, in order, by `concurrency` clients at once on PostgreSQL (a feed poller and pushes arrive
 * together in real life; the pool has a connection for each) and one at a time on PGlite (one connection).
 */
async function ingestAll(database: Database) {
  const tally: Record<IngestResult, number> = { created: 0, updated: 0, unchanged: 0, rejected: 0 };
  let next = 0;
  const client = async () => {
    while (next < bodies.length) {
      const body = bodies[next++]!;
      try {
        const report = await ingestBody(systemCtx(database.db, 'bench', NOW), { body });
        for (const item of report.items) tally[item.result]++;
      } catch {
        // refused as a whole (the XXE sample): counted in the parse row
      }
    }
  };
  await Promise.all(Array.from({ length: database.driver === 'postgres' ? CONCURRENCY : 1 }, client));
  return tally;
}

const results = (t: Record<IngestResult, number>) => `${t.created} created, ${t.updated} updated, ${t.unchanged} unchanged, ${t.rejected} rejected`;

async function storeOnly(label: string, database: Database): Promise<void> {
  await prepared(database, false);
  const start = performance.now();
  const tally = await ingestAll(database);
  const ms = performance.now() - start;
  const stored = tally.created + tally.updated;
  rows.push(['parse + store', label, `${bodies.length}`, `${stored}`, `${(ms / 1000).toFixed(2)}`, rate(stored, ms), results(tally)]);
}

/**
 * Parse + store with a server's drainer running beside the ingest (woken by each commit's NOTIFY, as in
 * `madad serve`), timed until the outbox is empty: every change evaluated against the shipped rules, and
 * whatever a fired stage sets off (its plan actions and batch, here over an empty registry) delivered too.
 */
async function storeAndEvaluate(label: string, database: Database): Promise<void> {
  await prepared(database, true);
  const deps = batchDeps(database, new RegistryCache(database), { MADAD_DEDUP_KEY: 'bench-dedup-key-of-at-least-thirty-two-characters' });
  const drainer = new OutboxDrainer(database, reactions(deps), pino({ level: 'silent' }));
  await drainer.listen();
  const start = performance.now();
  const tally = await ingestAll(database);
  for (;;) {
    await drainer.poll();
    if ((await outboxCounts(database.db, new Date())).pending === 0) break;
  }
  const ms = performance.now() - start;
  await drainer.stop();
  deps.registry.close();
  const stored = tally.created + tally.updated;
  const [made] = await queryRows<{ evaluations: number; activations: number; failed: number }>(
    database.db,
    sql`select (select count(*)::int from evaluations) as evaluations, (select count(*)::int from activations) as activations,
               (select count(*)::int from outbox where failed_at is not null or attempts > 1) as failed`,
  );
  const audit = await verifyAudit(database.db);
  rows.push([
    'parse + store + evaluation',
    label,
    `${bodies.length}`,
    `${stored}`,
    `${(ms / 1000).toFixed(2)}`,
    rate(stored, ms),
    `${results(tally)}; ${made!.evaluations} evaluations, ${made!.activations} activations, ${made!.failed} outbox rows retried; audit ${audit.ok ? `verified (${audit.entries} entries)` : 'BROKEN'}`,
  ]);
}

for (const stage of [storeOnly, storeAndEvaluate]) {
  const pglite = await openDatabase({});
  try {
    await stage('PGlite (memory)', pglite);
  } finally {
    await pglite.close();
  }
}

const adminUrl = process.env.DATABASE_URL ?? process.env.TEST_DATABASE_URL;
if (adminUrl) {
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  try {
    for (const stage of [storeOnly, storeAndEvaluate]) {
      const name = `madad_bench_alerts_${process.pid}_${stage.name.toLowerCase()}`;
      await admin.unsafe(`create database ${name}`);
      const url = new URL(adminUrl);
      url.pathname = `/${name}`;
      // A connection per client, and two for the drainer (its lock's and its transactions').
      const database = await openDatabase({ url: url.toString(), max: CONCURRENCY + 2 });
      try {
        await stage('PostgreSQL', database);
      } finally {
        await database.close();
        await admin.unsafe(`drop database if exists ${name} with (force)`);
      }
    }
  } finally {
    await admin.end();
  }
}

const header = ['stage', 'database', 'bodies', 'messages', 'seconds', 'messages/s', 'results'];
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
console.log(
  `\nAlert ingest: ${samples.length} sample files × ${ROUNDS} rounds (seed ${SEED}); ${refusedBodies} bodies refused whole; identifiers unique per round; ${CONCURRENCY} clients at once on PostgreSQL, one on PGlite\n`,
);
for (const r of [header, ...rows]) console.log(r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd());
