/**
 * The seeded world of the money benchmarks: a scratch PostgreSQL database with a synthetic registry, the
 * federal flood rule, a flood declared over tehsils holding `share` of the registry, and that flood's batch
 * built through buildBatch, submitted, approved by a programme manager and a finance officer (the rule's
 * tier over PKR 1 bn) and released. Each step's time goes into `rows`, for the caller's table.
 */
import { randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';
import { eq, sql } from 'drizzle-orm';
import type { Actor } from '../../server/access/principal.ts';
import { approveBatch, submitBatch } from '../../server/batches/approvals.ts';
import { buildBatch, buildPhases } from '../../server/batches/build.ts';
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
import { benchDatabase, ms, time } from './scratch.ts';

export type Row = [string, string, string];
export const mb = (bytes: number) => `${Math.round(bytes / 1048576).toLocaleString('en')} MB`;
export const n = (x: number) => x.toLocaleString('en');
export const person = (name: string, role: 'program_manager' | 'finance_officer'): Actor => ({ kind: 'user', id: `bench-${name}`, name, roles: [role], agency: 'BISP', jurisdiction: 'PK' });

/** The highest RSS seen while `fn` runs (sampled every 100 ms), with its result and time. */
export async function peakRss<T>(fn: () => Promise<T>): Promise<[T, number, number]> {
  let peak = process.memoryUsage().rss;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 100);
  try {
    const [result, took] = await time(fn);
    return [result, took, Math.max(peak, process.memoryUsage().rss)];
  } finally {
    clearInterval(timer);
  }
}

export async function releasedFloodBatch(options: { households: number; seed: number; share: number }, rows: Row[]) {
  const { database, drop } = await benchDatabase();
  const db = database.db;
  try {
    const areas = await synthAreas(db);
    const [, importMs] = await time(() => importRegistry(database, synthCsv({ households: options.households, seed: options.seed, areas })));
    rows.push(['seed: registry import of the synthetic households (not part of the batch)', `${n(options.households)} households`, ms(importMs)]);

    // The declared tehsils: in code order, until they hold `share` of the registry.
    const tehsils = await queryRows<{ tehsil: string; n: number }>(db, sql`select tehsil, count(*)::int as n from households where tehsil is not null group by 1 order by 1`);
    const declared: string[] = [];
    let inArea = 0;
    for (const t of tehsils) {
      if (inArea >= options.share * options.households) break;
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
    const load = loadavg()[0]!;
    const cpuBefore = process.cpuUsage();

    const phases: { phase: string; ms: number; cpuMs: number }[] = [];
    const listen = (m: unknown) => phases.push(m as { phase: string; ms: number; cpuMs: number });
    buildPhases.subscribe(listen);
    const [built, buildMs] = await time(() => buildBatch(systemCtx(db, 'batches', now), { activationId: activation.id }, deps)).finally(() => buildPhases.unsubscribe(listen));
    const cpu = process.cpuUsage(cpuBefore);
    const batch = built!.batch;
    const lineRate = `${n(Math.round(batch.lineCount / (buildMs / 1000)))} lines/s`;
    rows.push([`build: caseload, identity read, lines, reservations (buildBatch)`, `${n(batch.lineCount)} lines, PKR ${n(batch.totalPkr)}`, `${ms(buildMs)}: ${lineRate}`]);
    for (const p of phases) rows.push([`  ${p.phase}`, `this process's CPU ${ms(p.cpuMs)}`, ms(p.ms)]);
    rows.push([`  the rest (locks, the activation read, commit)`, '', ms(buildMs - phases.reduce((sum, p) => sum + p.ms, 0))]);
    rows.push([`  of which this process's CPU (user + system)`, '', ms((cpu.user + cpu.system) / 1000)]);

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
    return { database, db, drop, deps, batch, now, load, ctx };
  } catch (error) {
    await drop();
    throw error;
  }
}

/** Rows and size (with indexes) of each table, for the table printed at the end. */
export async function tableSizes(db: Parameters<typeof queryRows>[0], tables: string[], rows: Row[]): Promise<void> {
  for (const table of tables) {
    const [t] = await queryRows<{ rows: number; size: string }>(
      db,
      sql`select count(*)::int as rows, pg_size_pretty(pg_total_relation_size(${table}::regclass)) as size from ${sql.identifier(table)}`,
    );
    rows.push([`table ${table} (with indexes)`, `${n(t!.rows)} rows`, t!.size]);
  }
}
