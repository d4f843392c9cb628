/**
 * Batches under real concurrency, on PostgreSQL with two pools (as two server processes): builds of one
 * incident and purpose racing for the same households, and releases racing for one budget line's ceiling.
 * PGlite has one connection, so there is nothing to race there: these suites run only with TEST_DATABASE_URL.
 */
import { and, eq, ne, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Actor } from '../../server/access/principal.ts';
import { approveBatch, cancelBatch, submitBatch } from '../../server/batches/approvals.ts';
import { amendBudget, budgetFigures } from '../../server/batches/budgets.ts';
import { buildBatch, rebuildBatch, type BatchRow } from '../../server/batches/build.ts';
import { releaseBatch } from '../../server/batches/release.ts';
import { systemCtx, type Ctx } from '../../server/context.ts';
import { openDatabase, queryRows, type Database, type Db } from '../../server/db/client.ts';
import { activations, batches, budgetLines } from '../../server/db/schema/index.ts';
import { ConflictError } from '../../server/errors.ts';
import { reactions } from '../../server/jobs/reactions.ts';
import { drainOutbox } from '../../server/outbox/drain.ts';
import { testBatchDeps } from '../harness/app.ts';
import { createTestDatabase, drivers, type TestDatabase } from '../harness/databases.ts';
import { makeEvent } from '../harness/factories.ts';
import { cnicOf, loadFloodRules, NOW, PUNJAB_DISTRICT, seedAreas, seedFloodRegistry, settle, SINDH_DISTRICT } from './setup.ts';

const person = (name: string, role: 'program_manager' | 'finance_officer', jurisdiction: string): Actor => ({
  kind: 'user',
  id: `user-${name}`,
  name,
  roles: [role],
  agency: jurisdiction === 'PK' ? 'BISP' : 'SSPA',
  jurisdiction,
});
const fedPm = person('pm-amina', 'program_manager', 'PK');
const fedPm2 = person('pm-bilal', 'program_manager', 'PK');
const fedFinance = person('fo-farah', 'finance_officer', 'PK');
const sindhPm = person('pm-sana', 'program_manager', 'PK7');
const as = (db: Db, actor: Actor): Ctx => ({ db, actor, now: NOW });

/** A second pool on the same database, with connections of its own. */
async function secondPool(db: TestDatabase, max = 4): Promise<Database> {
  const url = new URL(process.env.TEST_DATABASE_URL!);
  url.pathname = new URL(db.location).pathname;
  return openDatabase({ url: url.toString(), max });
}

/**
 * Declares a flood over `tehsil` and delivers only the declaration's evaluation, which fires the rules and
 * writes their `activation.fired` rows; the builds are left to the caller. Returns the activations by rule.
 */
async function fire(db: Db, tehsil: string): Promise<{ eventId: string; byRule: Map<string, string> }> {
  // What earlier steps enqueued (a release's instructions, say) is delivered first: the declaration's row is then the one due.
  await settle(db);
  const event = await makeEvent(db, { areas: [tehsil], now: NOW });
  const report = await drainOutbox(db, reactions(testBatchDeps(db)), { owner: 'test:evaluate', now: () => new Date(NOW.getTime() + 60_000), limit: 1 });
  expect(report.handled).toBe(1);
  const rows = await db.select().from(activations).where(eq(activations.subjectId, event.id));
  return { eventId: event.id, byRule: new Map(rows.map((a) => [a.ruleId, a.id])) };
}

/** The database-wide invariants of the reservations, whatever ran before. */
async function reservationsHold(db: Db) {
  // One row per household key per incident and purpose (the primary key; asserted, not assumed).
  const twice = await queryRows(db, sql`select incident, purpose, dedup_key from reservations group by 1, 2, 3 having count(*) > 1`);
  expect(twice).toEqual([]);
  // What a household's reservation holds is exactly the sum of its live lines across the incident's batches.
  const off = await queryRows(
    db,
    sql`with live as (
          select b.incident, b.purpose, l.dedup_key, sum(l.amount_pkr)::bigint as pkr
          from batch_lines l join batches b on b.id = l.batch_id
          where l.state = 'live' and b.kind = 'payment' group by 1, 2, 3)
        select coalesce(l.incident, r.incident) as incident, coalesce(l.dedup_key, r.dedup_key) as key, l.pkr::text as lines, r.reserved_pkr::text as reserved
        from live l full join reservations r on r.incident = l.incident and r.purpose = l.purpose and r.dedup_key = l.dedup_key
        where l.pkr is distinct from r.reserved_pkr`,
  );
  expect(off).toEqual([]);
  // Each holder a reservation names is a live line of that batch with that amount, and they add up.
  const strays = await queryRows(
    db,
    sql`select r.dedup_key, h.value as holder from reservations r cross join jsonb_array_elements(r.held_by) h
        left join batch_lines l on l.batch_id = (h.value->>'batchId')::uuid and l.line_no = (h.value->>'lineNo')::int
          and l.state = 'live' and l.amount_pkr = (h.value->>'amount')::int
        where l.batch_id is null`,
  );
  expect(strays).toEqual([]);
  const unbalanced = await queryRows(
    db,
    sql`select dedup_key from reservations r where reserved_pkr <> (select coalesce(sum((h->>'amount')::bigint), 0) from jsonb_array_elements(r.held_by) h)`,
  );
  expect(unbalanced).toEqual([]);
}

/** What each household of an incident gets, summed over the live lines of every batch of the incident. */
async function paidPerHousehold(db: Db, incident: string): Promise<Record<string, number>> {
  const rows = await queryRows<{ household_id: string; pkr: number }>(
    db,
    sql`select l.household_id, sum(l.amount_pkr)::int as pkr from batch_lines l join batches b on b.id = l.batch_id
        where b.incident = ${incident} and l.state = 'live' group by 1 order by 1`,
  );
  return Object.fromEntries(rows.map((r) => [r.household_id, r.pkr]));
}

const liveBatch = async (db: Db, activationId: string) =>
  (await db.select().from(batches).where(and(eq(batches.activationId, activationId), ne(batches.status, 'cancelled'))))[0];

describe.runIf(drivers.includes('postgres'))('two builds of one flood at the same moment, on two pools (PostgreSQL)', () => {
  let db: TestDatabase;
  let other: Database;
  let ids: { federal: string; sindh: string };
  const fired: { eventId: string; byRule: Map<string, string> }[] = [];
  /** The larger of the two rules' amounts for each household either reaches (setup.ts): federal 25,000 for S1..S6, Sindh 10,000 for S2, S4, S7, S9. */
  const larger = { S1: 25_000, S2: 25_000, S3: 25_000, S4: 25_000, S5: 25_000, S6: 25_000, S7: 10_000, S9: 10_000 };

  beforeAll(async () => {
    db = await createTestDatabase('postgres');
    other = await secondPool(db);
    await seedAreas(db.db);
    await seedFloodRegistry(db);
    ids = await loadFloodRules(db.db);
  }, 120_000);
  afterAll(async () => {
    await other?.close();
    await db?.drop();
  });

  it('reserves no household twice and pays none more than the larger rule, in 20 rounds of racing builds', async () => {
    const orders = { federalFirst: 0, sindhFirst: 0 };
    for (let round = 0; round < 20; round++) {
      const f = await fire(db.db, SINDH_DISTRICT.tehsil);
      fired.push(f);
      const federal = f.byRule.get(ids.federal)!;
      const sindh = f.byRule.get(ids.sindh)!;
      // Both builds start together, each on its own pool; which pool and which call goes first alternates.
      const [a, b] = round % 2 ? [other, db] : [db, other];
      const calls = [
        () => buildBatch(systemCtx(a.db, 'batches', NOW), { activationId: federal }, testBatchDeps(a.db)),
        () => buildBatch(systemCtx(b.db, 'batches', NOW), { activationId: sindh }, testBatchDeps(b.db)),
      ];
      const built = await Promise.all(round % 4 < 2 ? calls.map((c) => c()) : calls.reverse().map((c) => c()).reverse());
      expect(built.map((x) => x?.created)).toEqual([true, true]);
      // The outbox's own deliveries of the two activations find the batches built: no second batch.
      await settle(db.db);
      const [fed, sdh] = [(await liveBatch(db.db, federal))!, (await liveBatch(db.db, sindh))!];
      expect([fed.id, sdh.id]).toEqual(built.map((x) => x!.batch.id));

      await reservationsHold(db.db);
      // Whichever built first, each household gets the larger of the two amounts, once.
      expect(await paidPerHousehold(db.db, fed.incident)).toEqual(larger);
      const sindhDropped = (sdh.figures as { dropped: { lines: number } }).dropped.lines;
      const federalNetted = (fed.figures as { netted: { lines: number } }).netted.lines;
      if (sindhDropped === 2 && federalNetted === 0) orders.federalFirst++;
      else if (sindhDropped === 0 && federalNetted === 2) orders.sindhFirst++;
      else throw new Error(`round ${round}: neither build saw the other whole (federal netted ${federalNetted}, Sindh dropped ${sindhDropped})`);
    }
    expect(orders.federalFirst + orders.sindhFirst).toBe(20);
  }, 300_000);

  it('keeps the reservations whole while drafts of one flood are rebuilt, cancelled and built again at once', async () => {
    for (let round = 0; round < 10; round++) {
      const f = fired[round]!;
      const federal = f.byRule.get(ids.federal)!;
      const sindh = f.byRule.get(ids.sindh)!;
      const fed = (await liveBatch(db.db, federal))!;
      const sdh = (await liveBatch(db.db, sindh))!;
      const [a, b] = round % 2 ? [other, db] : [db, other];
      if (round % 2 === 0) {
        await Promise.all([
          rebuildBatch(as(a.db, fedPm), { batchId: fed.id }, testBatchDeps(a.db)),
          rebuildBatch(as(b.db, sindhPm), { batchId: sdh.id }, testBatchDeps(b.db)),
        ]);
      } else {
        await Promise.all([
          cancelBatch(as(a.db, fedPm), { id: fed.id, reason: 'wrong tehsil list' }),
          rebuildBatch(as(b.db, sindhPm), { batchId: sdh.id }, testBatchDeps(b.db)),
        ]);
        await reservationsHold(db.db);
        await Promise.all([
          buildBatch(systemCtx(a.db, 'batches', NOW), { activationId: federal }, testBatchDeps(a.db)),
          rebuildBatch(as(b.db, sindhPm), { batchId: sdh.id }, testBatchDeps(b.db)),
        ]);
      }
      await reservationsHold(db.db);
      // A rebuild nets against what the other programme holds at that moment, so a household may end up
      // with less than the larger amount (see the report), never with more.
      const paid = await paidPerHousehold(db.db, fed.incident);
      for (const [household, pkr] of Object.entries(paid)) expect(pkr, household).toBeLessThanOrEqual(larger[household as keyof typeof larger]);
    }
  }, 300_000);

  it('the primary key refuses a second reservation of a household even when the build lock is bypassed', async () => {
    const f = await fire(db.db, SINDH_DISTRICT.tehsil);
    const federal = f.byRule.get(ids.federal)!;
    const incident = `event:${f.eventId}`;
    const key = testBatchDeps(db.db).dedupKey().of(cnicOf(1));
    // A writer that never takes the advisory lock reserves household S1 and holds its transaction open...
    const bypass = await other.sql!.reserve();
    try {
      await bypass`begin`;
      await bypass`insert into reservations (incident, purpose, dedup_key, reserved_pkr, held_by)
                   values (${incident}, 'flood_relief', ${key}, 1000, '[]'::jsonb)`;
      // ...while the federal build runs; its insert of S1 waits on that row, and fails once the row commits.
      const build = buildBatch(systemCtx(db.db, 'batches', NOW), { activationId: federal }, testBatchDeps(db.db)).then(
        () => null,
        (err: unknown) => err as { cause?: { code?: string }; code?: string },
      );
      await waitForLockWaiter(other.db, 'reservations');
      await bypass`commit`;
      const err = await build;
      expect(err?.cause?.code ?? err?.code).toBe('23505');
    } finally {
      bypass.release();
    }
    // The failed build left nothing: no batch, and S1 held only by the row that got there first.
    expect(await liveBatch(db.db, federal)).toBeUndefined();
    const held = await queryRows<{ reserved_pkr: string }>(db.db, sql`select reserved_pkr::text from reservations where incident = ${incident}`);
    expect(held).toEqual([{ reserved_pkr: '1000' }]);

    // Two writers inserting the same key by hand, in parallel transactions: the second is refused.
    const [one, two] = [await db.sql!.reserve(), await other.sql!.reserve()];
    try {
      await one`begin`;
      await two`begin`;
      const k = testBatchDeps(db.db).dedupKey().of(cnicOf(2));
      await one`insert into reservations (incident, purpose, dedup_key, reserved_pkr, held_by) values (${incident}, 'flood_relief', ${k}, 25000, '[]'::jsonb)`;
      const second = two`insert into reservations (incident, purpose, dedup_key, reserved_pkr, held_by) values (${incident}, 'flood_relief', ${k}, 10000, '[]'::jsonb)`.then(
        () => 'inserted',
        (e: { code?: string }) => e.code,
      );
      await waitForLockWaiter(other.db, 'reservations');
      await one`commit`;
      expect(await second).toBe('23505');
      await two`rollback`;
    } finally {
      one.release();
      two.release();
    }

    // With the stray rows gone, the outbox's delivery builds the batch as if nothing had happened.
    await db.db.execute(sql`delete from reservations where incident = ${incident}`);
    await settle(db.db);
    expect((await liveBatch(db.db, federal))?.lineCount).toBe(6);
    await reservationsHold(db.db);
  }, 60_000);
});

/**
 * Waits until a session waits for a lock while writing `table` (an insert or a COPY): the server's own view,
 * asked outside any transaction (a transaction sees one snapshot of pg_stat_activity).
 */
async function waitForLockWaiter(db: Db, table: string) {
  for (let i = 0; i < 500; i++) {
    const rows = await queryRows(
      db,
      sql`select 1 from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock' and (query ilike ${`%insert into ${table}%`} or query ilike ${`%copy ${table}%`})`,
    );
    if (rows.length > 0) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`nobody came to wait on a lock of ${table}`);
}

describe.runIf(drivers.includes('postgres'))('releases racing for one budget line, from several connections (PostgreSQL)', () => {
  let db: TestDatabase;
  let pools: Database[];
  let ids: { federal: string; sindh: string };

  beforeAll(async () => {
    db = await createTestDatabase('postgres');
    pools = [db, await secondPool(db), await secondPool(db)];
    await seedAreas(db.db);
    await seedFloodRegistry(db);
    ids = await loadFloodRules(db.db);
  }, 120_000);
  afterAll(async () => {
    for (const p of pools?.slice(1) ?? []) await p.close();
    await db?.drop();
  });

  /** Approved federal batches of fresh floods over the Punjab tehsil, through submit and approve by two managers. */
  async function approvedBatches(n: number): Promise<BatchRow[]> {
    const out: BatchRow[] = [];
    for (let i = 0; i < n; i++) {
      const f = await fire(db.db, PUNJAB_DISTRICT.tehsil);
      await settle(db.db);
      const built = (await liveBatch(db.db, f.byRule.get(ids.federal)!))!;
      await submitBatch(as(db.db, fedPm), { id: built.id });
      out.push(await approveBatch(as(db.db, fedPm2), { id: built.id, comment: 'checked', linesSha256: built.linesSha256 }));
    }
    return out;
  }

  it('releases exactly the batches the ceiling holds; the others are refused with the shortfall', async () => {
    /** The federal rule's budget line (opened by its first build) and its figures. */
    const budget = async () => {
      const [line] = await db.db.select().from(budgetLines).where(eq(budgetLines.ruleId, ids.federal));
      return line ? { id: line.id, ...(await budgetFigures(db.db, [line.id])).get(line.id)! } : null;
    };
    const n = 6;
    const fits = 3;
    for (let round = 0; round < 4; round++) {
      // Room to build (an earlier round lowered the ceiling), then the batches, approved.
      const earlier = await budget();
      if (earlier) await amendBudget(as(db.db, fedFinance), { id: earlier.id, ceilingPkr: 70_000_000_000, reason: 'room for the next floods', reference: `ECC-${round}` });
      const approved = await approvedBatches(n);
      const total = approved[0]!.totalPkr;
      expect(total).toBeGreaterThan(0);
      expect(approved.every((b) => b.status === 'approved' && b.totalPkr === total)).toBe(true);

      // The ceiling now holds `fits` of them and half of one more.
      const before = (await budget())!;
      const id = before.id;
      const ceiling = before.releasedPkr + fits * total + total / 2;
      await amendBudget(as(db.db, fedFinance), { id, ceilingPkr: ceiling, reason: 'tranche held back', reference: `F.${round}` });

      const results = await Promise.allSettled(approved.map((b, i) => releaseBatch(as(pools[i % pools.length]!.db, fedFinance), { id: b.id })));
      const released = results.filter((r) => r.status === 'fulfilled');
      const refused = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
      expect(released).toHaveLength(fits);
      expect(refused).toHaveLength(n - fits);
      for (const r of refused) {
        expect(r.reason).toBeInstanceOf(ConflictError);
        expect((r.reason as ConflictError).message).toMatch(/would pass its ceiling/);
        expect((r.reason as ConflictError).details).toMatchObject({ budgetLineId: id, ceilingPkr: ceiling, requestedPkr: total, shortfallPkr: total / 2 });
      }

      const after = (await budget())!;
      expect(after.releasedPkr).toBe(before.releasedPkr + fits * total);
      expect(after.releasedPkr).toBeLessThanOrEqual(ceiling);
      const statuses = await queryRows<{ status: string; n: number }>(
        db.db,
        sql`select status, count(*)::int as n from batches where id = any(${`{${approved.map((b) => b.id).join(',')}}`}::uuid[]) group by 1 order by 1`,
      );
      expect(statuses).toEqual([
        { status: 'approved', n: n - fits },
        { status: 'released', n: fits },
      ]);
      const [sums] = await queryRows<{ released: string }>(db.db, sql`select coalesce(sum(released_pkr), 0)::text as released from batch_payers where budget_line_id = ${id}::uuid`);
      expect(Number(sums!.released)).toBe(after.releasedPkr);
      // The refused batches are cancelled: their money goes back to the line's headroom.
      for (const b of approved) if ((await liveBatch(db.db, b.activationId))?.status === 'approved') await cancelBatch(as(db.db, fedPm), { id: b.id, reason: 'over the tranche' });
    }
  }, 300_000);
});
