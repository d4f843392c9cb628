/**
 * `npm run bench:batch [-- --households 10000000 --share 0.45]`: one top-up batch of the federal flood rule
 * (poorest 60 % per tehsil, PKR 25,000) over a declared flood, end to end on PostgreSQL: built (caseload,
 * identity read, lines, reservations: buildBatch as the outbox calls it), submitted, approved by a second
 * programme manager and a finance officer (the rule's tier over PKR 1 bn), and released. The declared
 * tehsils are taken in code order until they hold `--share` of the registry. Seeded through the registry
 * import (timed on its own by `npm run bench:import`); a scratch database is made and dropped.
 */
import { randomBytes } from 'node:crypto';
import { availableParallelism, loadavg } from 'node:os';
import { eq, sql } from 'drizzle-orm';
import type { Actor } from '../../server/access/principal.ts';
import { approveBatch, submitBatch } from '../../server/batches/approvals.ts';
import { buildBatch } from '../../server/batches/build.ts';
import { batchDeps } from '../../server/batches/deps.ts';
import { releaseBatch } from '../../server/batches/release.ts';
import { systemCtx, type Ctx } from '../../server/context.ts';
import { queryRows } from '../../server/db/client.ts';
import { activations } from '../../server/db/schema/index.ts';
import { createEvent } from '../../server/events/service.ts';
import { reactions } from '../../server/jobs/reactions.ts';
import { drainOutbox } from '../../server/outbox/drain.ts';
import { importRegistry } from '../../server/registry/import.ts';
import { RegistryCache } from '../../server/registry/registry-index.ts';
import { synthAreas, synthCsv } from '../../server/registry/synth.ts';
import { makeRule } from '../harness/factories.ts';
import { numberArg } from './args.ts';
import { benchDatabase, ms, printTable, time } from './scratch.ts';

const HOUSEHOLDS = numberArg('households', 10_000_000);
const SEED = numberArg('seed', 20220825);
const SHARE = numberArg('share', 0.45);

const person = (name: string, role: 'program_manager' | 'finance_officer'): Actor => ({ kind: 'user', id: `bench-${name}`, name, roles: [role], agency: 'BISP', jurisdiction: 'PK' });
const mb = (bytes: number) => `${Math.round(bytes / 1048576).toLocaleString('en')} MB`;
const n = (x: number) => x.toLocaleString('en');

const { database, drop } = await benchDatabase();
const db = database.db;
const rows: [string, string, string][] = [];
let load = 0;
try {
  const areas = await synthAreas(db);
  const [, importMs] = await time(() => importRegistry(database, synthCsv({ households: HOUSEHOLDS, seed: SEED, areas })));
  rows.push(['seed: registry import of the synthetic households (not part of the batch)', `${n(HOUSEHOLDS)} households`, ms(importMs)]);

  // The declared tehsils: in code order, until they hold SHARE of the registry.
  const tehsils = await queryRows<{ tehsil: string; n: number }>(db, sql`select tehsil, count(*)::int as n from households where tehsil is not null group by 1 order by 1`);
  const declared: string[] = [];
  let inArea = 0;
  for (const t of tehsils) {
    if (inArea >= SHARE * HOUSEHOLDS) break;
    declared.push(t.tehsil);
    inArea += t.n;
  }

  const now = new Date();
  await makeRule(db, { from: 'flood-relief-2022', id: 'flood-relief-bench', change: (y) => y.replace(/^valid_to: .*$/m, ''), now });
  const event = await createEvent(systemCtx(db, 'bench', now), { name: 'Bench flood', hazard: 'flood', status: 'declared', areas: declared, alertIds: [] });
  const deps = batchDeps(database, new RegistryCache({ db }), { MADAD_DEDUP_KEY: process.env.MADAD_DEDUP_KEY ?? randomBytes(32).toString('base64url') });
  // The declaration's evaluation only (it fires the rule and writes activation.fired); the build is timed below.
  await drainOutbox(db, reactions(deps), { owner: 'bench', limit: 1 });
  const [activation] = await db.select().from(activations).where(eq(activations.subjectId, event.id));
  if (!activation) throw new Error('the declaration fired no activation');

  // A server loads the registry index at start, in the background: not part of the build.
  const [, loadMs] = await time(() => deps.registry.get());
  rows.push([`registry index loaded into memory (at server start; not part of the build)`, `${declared.length} tehsils declared, ${n(inArea)} households`, ms(loadMs)]);
  const rssBefore = process.memoryUsage().rss;
  // Other work on the machine shows in every figure: its load is printed with them.
  load = loadavg()[0]!;

  const [built, buildMs] = await time(() => buildBatch(systemCtx(db, 'batches', now), { activationId: activation.id }, deps));
  const batch = built!.batch;
  const lineRate = `${n(Math.round(batch.lineCount / (buildMs / 1000)))} lines/s`;
  rows.push([`build: caseload, identity read, lines, reservations (buildBatch)`, `${n(batch.lineCount)} lines, PKR ${n(batch.totalPkr)}`, `${ms(buildMs)}: ${lineRate}`]);

  const ctx = (actor: Actor): Ctx => ({ db, actor, now });
  const [, submitMs] = await time(() => submitBatch(ctx(person('pm-amina', 'program_manager')), { id: batch.id }));
  rows.push(['submit (tier and steps fixed)', '', ms(submitMs)]);
  const [, approveMs] = await time(async () => {
    await approveBatch(ctx(person('pm-bilal', 'program_manager')), { id: batch.id, comment: 'checked', linesSha256: batch.linesSha256 });
    return approveBatch(ctx(person('fo-farah', 'finance_officer')), { id: batch.id, comment: 'funds confirmed', linesSha256: batch.linesSha256 });
  });
  rows.push(['approve: programme manager, then finance officer (two signatures)', '', ms(approveMs)]);
  const [released, releaseMs] = await time(() => releaseBatch(ctx(person('fo-zain', 'finance_officer')), { id: batch.id }));
  rows.push(['release against the locked budget line', released.status, ms(releaseMs)]);

  rows.push(['process memory (RSS) before the build / peak of the process', '', `${mb(rssBefore)} / ${mb(process.resourceUsage().maxRSS * 1024)}`]);
  for (const table of ['households', 'batch_lines', 'reservations']) {
    const [t] = await queryRows<{ rows: number; size: string }>(
      db,
      sql`select count(*)::int as rows, pg_size_pretty(pg_total_relation_size(${table}::regclass)) as size from ${sql.identifier(table)}`,
    );
    rows.push([`table ${table} (with indexes)`, `${n(t!.rows)} rows`, t!.size]);
  }
} finally {
  await drop();
}

printTable(`Batch benchmark: ${n(HOUSEHOLDS)} synthetic households (seed ${SEED}) on PostgreSQL, ${availableParallelism()} cores, load average ${load.toFixed(1)} when the build began`, rows);
