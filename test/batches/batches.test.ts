import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryRows } from '../../server/db/client.ts';
import { testApp } from '../harness/app.ts';
import { createTestDatabase, drivers, type TestDatabase } from '../harness/databases.ts';
import { bearer } from '../harness/factories.ts';
import { declareFlood, loadFloodRules, NOW, seedAreas, seedFloodRegistry, SINDH_DISTRICT } from './setup.ts';

type Json = Record<string, any>;

describe.each(drivers)('batches from a declared flood, submitted, approved and released (%s)', (driver) => {
  let db: TestDatabase;
  let app: ReturnType<typeof testApp>;
  let ids: { federal: string; sindh: string };
  const as = {} as Record<'fedPm' | 'fedPm2' | 'fedFinance' | 'sindhPm' | 'sindhPm2' | 'sindhFinance' | 'punjabPm' | 'responder' | 'dma', string>;

  const call = async (who: keyof typeof as, method: string, path: string, body?: unknown) => {
    const res = await app.request(path, {
      method,
      headers: { authorization: as[who], ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    return { status: res.status, body: (await res.json()) as Json };
  };
  const batchOf = async (ruleId: string) => {
    const list = await call('fedPm', 'GET', '/api/batches');
    return list.body.items.find((b: Json) => b.rule.id === ruleId) as Json;
  };

  beforeAll(async () => {
    db = await createTestDatabase(driver);
    app = testApp(db, { clock: () => NOW });
    await seedAreas(db.db);
    await seedFloodRegistry(db);
    ids = await loadFloodRules(db.db);
    const token = async (role: Parameters<typeof bearer>[1], j: string) => (await bearer(db.db, role, j)).authorization;
    as.fedPm = await token('program_manager', 'PK');
    as.fedPm2 = await token('program_manager', 'PK');
    as.fedFinance = await token('finance_officer', 'PK');
    as.sindhPm = await token('program_manager', 'PK7');
    as.sindhPm2 = await token('program_manager', 'PK7');
    as.sindhFinance = await token('finance_officer', 'PK7');
    as.punjabPm = await token('program_manager', 'PK6');
    as.responder = await token('responder', 'PK7');
    as.dma = await token('dma_officer', 'PK7');
    await declareFlood(db.db);
  }, 120_000);
  afterAll(() => db?.drop());

  it('builds one draft per activation, after the declaration, with frozen lines and a hash', async () => {
    const activations = await call('fedPm', 'GET', '/api/activations');
    expect(activations.status).toBe(200);
    expect(activations.body.items.map((a: Json) => [a.ruleId, a.stage, a.batches.length]).sort()).toEqual([
      [ids.federal, 'activation', 1],
      [ids.sindh, 'activation', 1],
    ]);
    const federal = await batchOf(ids.federal);
    expect(federal).toMatchObject({ status: 'draft', kind: 'payment', programme: 'BISP', lineCount: 6, totalPkr: 150_000 });
    expect(federal.linesSha256).toMatch(/^[0-9a-f]{64}$/);
    expect(federal.incident).toMatch(/^event:/);

    const lines = await call('fedPm', 'GET', `/api/batches/${federal.id}/lines`);
    expect(lines.status).toBe(200);
    expect(lines.body.items.map((l: Json) => [l.householdId, l.pmt, l.amountPkr])).toEqual([
      ['S1', 10, 25000],
      ['S2', 20, 25000],
      ['S3', 30, 25000],
      ['S4', 40, 25000],
      ['S5', 50, 25000],
      ['S6', 60, 25000],
    ]);
    const first = lines.body.items[0];
    expect(first.cnic).toBe('42101-*****-1');
    expect(first.shares).toEqual([{ agency: 'BISP', jurisdiction: 'federal', amountPkr: 25000 }]);
    expect(first.paymentChannel).toBe('bank');
    expect(first.paymentAccount).toMatch(/^\*+\d{4}$/);
    expect(first.reasons.join(' ')).toMatch(/poorest 60 % of tehsil PK79901/);
  });

  it('nets the Sindh top-up against what BISP already holds for the same flood, and says so', async () => {
    const sindh = await call('sindhPm', 'GET', `/api/batches/${(await batchOf(ids.sindh)).id}`);
    expect(sindh.status).toBe(200);
    // Kafaalat households 2, 4, 7, 9: 2 and 4 are in BISP's batch (PKR 25,000 >= 10,000): dropped.
    expect(sindh.body).toMatchObject({ programme: 'SSPA', lineCount: 4, totalPkr: 20_000 });
    expect(sindh.body.figures.dropped).toEqual({ lines: 2, pkr: 20_000 });
    expect(sindh.body.figures.heldByOthers).toEqual({ BISP: { households: 2, pkr: 50_000 } });
    const dropped = await call('sindhPm', 'GET', `/api/batches/${sindh.body.id}/lines?state=dropped`);
    expect(dropped.body.items.map((l: Json) => [l.householdId, l.amountPkr, l.netText])).toEqual([
      ['S2', 0, 'already paid PKR 25,000 by BISP for this event and purpose'],
      ['S4', 0, 'already paid PKR 25,000 by BISP for this event and purpose'],
    ]);
    const [held] = await queryRows<{ n: number; twice: number }>(
      db.db,
      sql`select count(*)::int as n, count(*) filter (where jsonb_array_length(held_by) > 1)::int as twice from reservations`,
    );
    expect(held).toEqual({ n: 8, twice: 0 });
  });

  it('keeps maker and checker apart: the submitter cannot approve, nobody signs twice', async () => {
    const federal = await batchOf(ids.federal);
    const submitted = await call('fedPm', 'POST', `/api/batches/${federal.id}/submit`);
    expect(submitted.status).toBe(200);
    expect(submitted.body.steps).toMatchObject([{ step: 1, role: 'program_manager', jurisdiction: 'PK', signedBy: null, overdue: false }]);

    const own = await call('fedPm', 'POST', `/api/batches/${federal.id}/approve`, { comment: 'looks right' });
    expect(own.status).toBe(403);
    expect(own.body.detail).toMatch(/you submitted/i);
    const sindhTries = await call('sindhPm', 'POST', `/api/batches/${federal.id}/approve`, { comment: 'looks right' });
    expect(sindhTries.status).toBe(403);
    expect(sindhTries.body.detail).toMatch(/waits for a program_manager of PK/);
    const stale = await call('fedPm2', 'POST', `/api/batches/${federal.id}/approve`, { comment: 'checked', linesSha256: '0'.repeat(64) });
    expect(stale.status).toBe(409);

    const approved = await call('fedPm2', 'POST', `/api/batches/${federal.id}/approve`, { comment: 'checked against the tehsil list', linesSha256: federal.linesSha256 });
    expect(approved.status).toBe(200);
    expect(approved.body.status).toBe('approved');
    expect(approved.body.steps[0].signedBy).toMatch(/^token:program_manager/);
    const again = await call('fedPm2', 'POST', `/api/batches/${federal.id}/approve`, { comment: 'again' });
    expect(again.status).toBe(409);
  });

  it('the database itself refuses a signature by the submitter', async () => {
    const federal = await batchOf(ids.federal);
    await expect(
      db.db.execute(sql`insert into batch_approvals (batch_id, round, step, decision, signed_by, submitted_by, role, jurisdiction, comment, lines_sha256, signed_at)
        select id, round, 9, 'approve', submitted_by, submitted_by, 'program_manager', 'PK', 'self', lines_sha256, now() from batches where id = ${federal.id}::uuid`),
    ).rejects.toThrow();
    await expect(db.db.execute(sql`update batches set status = 'draft' where id = ${federal.id}::uuid`)).rejects.toThrow();
    await expect(db.db.execute(sql`update batch_lines set amount_pkr = 1 where batch_id = ${federal.id}::uuid and line_no = 1`)).rejects.toThrow();
  });

  it('releases only by a finance officer of the payer, against the budget line, once', async () => {
    const federal = await batchOf(ids.federal);
    expect((await call('sindhFinance', 'POST', `/api/batches/${federal.id}/release`)).status).toBe(403);
    expect((await call('fedPm2', 'POST', `/api/batches/${federal.id}/release`)).status).toBe(403);
    const released = await call('fedFinance', 'POST', `/api/batches/${federal.id}/release`);
    expect(released.status).toBe(200);
    expect(released.body.status).toBe('released');
    expect(released.body.payers[0]).toMatchObject({ agency: 'BISP', released: { amountPkr: 150_000 }, budget: { releasedPkr: 150_000, committedPkr: 0 } });
    const twice = await call('fedFinance', 'POST', `/api/batches/${federal.id}/release`);
    expect(twice.status).toBe(409);

    const budgets = await call('fedFinance', 'GET', '/api/budgets');
    const line = budgets.body.items.find((b: Json) => b.ruleId === ids.federal);
    expect(line).toMatchObject({ ceilingPkr: 70_000_000_000, releasedPkr: 150_000, headroomPkr: 70_000_000_000 - 150_000 });
    const below = await call('fedFinance', 'POST', `/api/budgets/${line.id}/amend`, { ceilingPkr: 100_000, reason: 'cut back', reference: 'F.1(2)/2026' });
    expect(below.status).toBe(409);
    expect(below.body.detail).toMatch(/below what is already released \(PKR 150,000\)/);
    const raised = await call('fedFinance', 'POST', `/api/budgets/${line.id}/amend`, { ceilingPkr: 80_000_000_000, reason: 'second tranche', reference: 'ECC-2026-14' });
    expect(raised.status).toBe(200);
    expect(raised.body.amendments).toMatchObject([{ ceilingBeforePkr: 70_000_000_000, ceilingAfterPkr: 80_000_000_000, reference: 'ECC-2026-14' }]);
  });

  it('shows batches by jurisdiction: Punjab sees neither, responders see totals but no lines', async () => {
    const sindhBatch = await batchOf(ids.sindh);
    expect((await call('punjabPm', 'GET', `/api/batches/${sindhBatch.id}`)).status).toBe(404);
    expect((await call('punjabPm', 'GET', '/api/batches')).body.items).toEqual([]);
    const seen = await call('responder', 'GET', `/api/batches/${sindhBatch.id}`);
    expect(seen.status).toBe(200);
    expect(seen.body.byDistrict).toEqual([{ district: SINDH_DISTRICT.code, households: null, amountPkr: null, netted: null, dropped: null, cancelled: null }]);
    expect((await call('responder', 'GET', `/api/batches/${sindhBatch.id}/lines`)).status).toBe(403);
    expect((await call('dma', 'GET', `/api/batches/${sindhBatch.id}/lines`)).status).toBe(403);
    // A Sindh manager sees the federal batch but may not rebuild it: BISP's managers do.
    const federal = await batchOf(ids.federal);
    const rebuilt = await call('sindhPm', 'POST', `/api/batches/${federal.id}/rebuild`);
    expect(rebuilt.status).toBe(403);
    expect(rebuilt.body.detail).toMatch(/programme manager of the batch's payers \(PK\)/);
  });

  it('audits every transition and every read of lines', async () => {
    const rows = await queryRows<{ action: string }>(db.db, sql`select action from audit_log where subject like 'batch:%' order by seq`);
    const actions = rows.map((r) => r.action);
    for (const a of ['batch.built', 'batch.submitted', 'batch.approved', 'batch.released', 'identity.read']) expect(actions).toContain(a);
  });
});
