/**
 * Payments under real concurrency, on PostgreSQL with two pools (as two server processes): one batch's
 * payment files asked for at once, and the bank's answer to a file sent several times at once. PGlite has
 * one connection, so there is nothing to race there: this suite runs only with TEST_DATABASE_URL.
 */
import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Actor } from '../../server/access/principal.ts';
import { approveBatch, submitBatch } from '../../server/batches/approvals.ts';
import { releaseBatch } from '../../server/batches/release.ts';
import type { Ctx } from '../../server/context.ts';
import { openDatabase, queryRows, type Database, type Db } from '../../server/db/client.ts';
import { batches } from '../../server/db/schema/index.ts';
import { exportPaymentFiles, fileText } from '../../server/payments/files.ts';
import { reconcile, RECONCILIATION_COLUMNS } from '../../server/payments/reconcile.ts';
import { createTestDatabase, drivers, type TestDatabase } from '../harness/databases.ts';
import { declareFlood, loadFloodRules, NOW, seedAreas, seedFloodRegistry, settle } from '../batches/setup.ts';

const person = (name: string, role: 'program_manager' | 'finance_officer'): Actor => ({ kind: 'user', id: `user-${name}`, name, roles: [role], agency: 'BISP', jurisdiction: 'PK' });
const as = (db: Db, actor: Actor): Ctx => ({ db, actor, now: NOW });
const finance = person('fo-farah', 'finance_officer');

describe.runIf(drivers.includes('postgres'))('payment files and the bank\u2019s answers at the same moment, on two pools (PostgreSQL)', () => {
  let db: TestDatabase;
  let other: Database;
  let batchId: string;

  beforeAll(async () => {
    db = await createTestDatabase('postgres');
    const url = new URL(process.env.TEST_DATABASE_URL!);
    url.pathname = new URL(db.location).pathname;
    other = await openDatabase({ url: url.toString(), max: 4 });
    await seedAreas(db.db);
    await seedFloodRegistry(db);
    const ids = await loadFloodRules(db.db);
    await declareFlood(db.db);
    const [federal] = await db.db.select().from(batches).where(eq(batches.ruleId, ids.federal));
    batchId = federal!.id;
    await submitBatch(as(db.db, person('pm-amina', 'program_manager')), { id: batchId });
    await approveBatch(as(db.db, person('pm-bilal', 'program_manager')), { id: batchId, comment: 'checked', linesSha256: federal!.linesSha256 });
    await releaseBatch(as(db.db, finance), { id: batchId });
    await settle(db.db);
  }, 120_000);
  afterAll(async () => {
    await other?.close();
    await db?.drop();
  });

  it('makes each channel\u2019s file once when finance asks from two servers at once', async () => {
    const pools = [db.db, other.db];
    const results = await Promise.all(Array.from({ length: 6 }, (_, i) => exportPaymentFiles(as(pools[i % 2]!, finance), { batchId })));
    expect(results.flatMap((r) => r.made.map((f) => f.channel)).sort()).toEqual(['bank_transfer', 'mobile_wallet']);
    for (const r of results) expect(r.files.map((f) => f.channel)).toEqual(['bank_transfer', 'mobile_wallet']);
    const [counts] = await queryRows<{ files: number; exported: number; texts: number }>(
      db.db,
      sql`select (select count(*)::int from payment_files) as files,
                 (select count(*)::int from payment_instructions where state = 'exported' and file_id is not null) as exported,
                 (select count(*)::int from messages where moment = 'exported') as texts`,
    );
    // Six instructions in two files; three wallets texted in Urdu and English (the bank households have no phone).
    expect(counts).toEqual({ files: 2, exported: 6, texts: 6 });
  });

  it('applies one answer once when it is sent five times at once, and a second answer waits for the first', async () => {
    const [wallet] = (await exportPaymentFiles(as(db.db, finance), { batchId })).files.filter((f) => f.channel === 'mobile_wallet');
    let text = '';
    for await (const chunk of fileText(db.db, { fileId: wallet!.id, kind: 'payment' }, 'mobile_wallet')) text += chunk;
    const ids = text.trimEnd().split('\r\n').slice(1, -1).map((l) => l.split(',')[0]!);
    const row = (i: number) => `${ids[i]},paid,${25000 - i * 1000},2026-09-02T14:30:00+05:00,JC-${i},`;
    // The bank answers two of the three first; the whole file later.
    const answer = [RECONCILIATION_COLUMNS.join(','), row(0), row(1)].join('\r\n');
    const whole = [RECONCILIATION_COLUMNS.join(','), row(0), row(1), row(2)].join('\r\n');
    const pools = [db.db, other.db];
    const reports = await Promise.all(Array.from({ length: 5 }, (_, i) => reconcile(as(pools[i % 2]!, finance), { fileId: wallet!.id, text: answer })));
    expect(reports.filter((r) => !r.repeated)).toHaveLength(1);
    for (const r of reports) expect(r).toMatchObject({ rows: 2, moved: { paid: 2 }, paidPkr: 49000, outstanding: { instructions: 1 } });

    // The whole answer arrives while the first is sent again: each applies once, in turn, and the whole one only adds the third.
    const [again, rest] = await Promise.all([reconcile(as(db.db, finance), { fileId: wallet!.id, text: answer }), reconcile(as(other.db, finance), { fileId: wallet!.id, text: whole })]);
    expect(again.repeated).toBe(true);
    expect(rest).toMatchObject({ repeated: false, rows: 3, moved: { paid: 1 }, unchanged: 2, paidPkr: 23000, outstanding: { instructions: 0 } });
    const rows = await queryRows<{ paid: number; pkr: number; recs: number; texts: number }>(
      db.db,
      sql`select count(*) filter (where state = 'paid')::int as paid, coalesce(sum(paid_pkr), 0)::int as pkr,
            (select count(*)::int from reconciliations) as recs, (select count(*)::int from messages where moment = 'paid') as texts
          from payment_instructions where file_id = ${wallet!.id}::uuid`,
    );
    // Three paid, 25,000 + 24,000 + 23,000; two reconciliations kept; one "paid" text per household and language.
    expect(rows[0]).toEqual({ paid: 3, pkr: 72000, recs: 2, texts: 6 });
  });
});
