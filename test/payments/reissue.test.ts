import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryRows } from '../../server/db/client.ts';
import { RECONCILIATION_COLUMNS } from '../../server/payments/reconcile.ts';
import { testApp } from '../harness/app.ts';
import { createTestDatabase, drivers, type TestDatabase } from '../harness/databases.ts';
import { bearer } from '../harness/factories.ts';
import { declareFlood, loadFloodRules, NOW, seedAreas, seedFloodRegistry } from '../batches/setup.ts';

type Json = Record<string, any>;
const answerFile = (...rows: string[]) => [RECONCILIATION_COLUMNS.join(','), ...rows].join('\r\n');

describe.each(drivers)('paying a failed line again, and a bank answering late (%s)', (driver) => {
  let db: TestDatabase;
  let app: ReturnType<typeof testApp>;
  let batchId: string;
  /** Instruction ids by household (S2, S4, S6 are paid by wallet). */
  const ids: Record<string, string> = {};
  const files = {} as Record<'mobile_wallet' | 'bank_transfer', Json>;
  const as = {} as Record<'pm' | 'pm2' | 'finance' | 'punjabPm', string>;
  const call = async (who: keyof typeof as, method: string, path: string, body?: string | object) => {
    const res = await app.request(path, {
      method,
      headers: { authorization: as[who], ...(typeof body === 'string' ? { 'content-type': 'text/csv' } : body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
    });
    const type = res.headers.get('content-type') ?? '';
    return { status: res.status, body: (type.includes('json') ? await res.json() : await res.text()) as any };
  };
  const states = async () =>
    Object.fromEntries(
      (await queryRows<{ id: string; state: string }>(db.db, sql`select id, state from payment_instructions where batch_id = ${batchId}::uuid order by id`)).map((r) => [r.id, r.state]),
    );

  beforeAll(async () => {
    db = await createTestDatabase(driver);
    app = testApp(db, { clock: () => NOW });
    await seedAreas(db.db);
    await seedFloodRegistry(db);
    const rules = await loadFloodRules(db.db);
    as.pm = (await bearer(db.db, 'program_manager', 'PK')).authorization;
    as.pm2 = (await bearer(db.db, 'program_manager', 'PK')).authorization;
    as.finance = (await bearer(db.db, 'finance_officer', 'PK')).authorization;
    as.punjabPm = (await bearer(db.db, 'program_manager', 'PK6')).authorization;
    await declareFlood(db.db);
    batchId = (await call('pm', 'GET', '/api/batches')).body.items.find((b: Json) => b.rule.id === rules.federal).id;
    await call('pm', 'POST', `/api/batches/${batchId}/submit`);
    await call('pm2', 'POST', `/api/batches/${batchId}/approve`, { comment: 'checked' });
    await call('finance', 'POST', `/api/batches/${batchId}/release`);
    for (const f of (await call('finance', 'POST', `/api/batches/${batchId}/payment-files`)).body.files) files[f.channel as keyof typeof files] = f;
    const wallet = (await call('finance', 'GET', files.mobile_wallet.download)).body as string;
    const [s2, s4, s6] = wallet.trimEnd().split('\r\n').slice(1, -1).map((l) => l.split(',')[0]!);
    Object.assign(ids, { S2: s2, S4: s4, S6: s6 });
    const report = await call(
      'finance',
      'POST',
      `/api/payment-files/${files.mobile_wallet.id}/reconciliation`,
      answerFile(`${s2},failed,0,,,wallet blocked`, `${s4},unclaimed,0,,,not collected`, `${s6},paid,25000,2026-09-02T14:30:00+05:00,JC-6,`),
    );
    expect(report.status).toBe(200);
  }, 120_000);
  afterAll(() => db?.drop());

  it('takes two programme managers, and shows the changed account side by side', async () => {
    const asked = await call('pm', 'POST', `/api/payment-instructions/${ids.S2}/reissue`, { channel: 'biometric_cash', reason: 'wallet blocked: pay at the camp' });
    expect(asked.status).toBe(201);
    expect(asked.body).toMatchObject({ from: { channel: 'mobile_wallet', account: '*******0001' }, to: { channel: 'biometric_cash', account: null }, accountChanged: true, decision: null });
    expect((await call('pm', 'POST', `/api/payment-instructions/${ids.S2}/reissue`, { reason: 'again' })).status).toBe(409);
    const own = await call('pm', 'POST', `/api/reissues/${asked.body.id}/approve`, { comment: 'fine' });
    expect(own.status).toBe(403);
    expect(own.body.detail).toMatch(/maker-checker/);
    expect((await call('punjabPm', 'POST', `/api/reissues/${asked.body.id}/approve`, { comment: 'fine' })).status).toBe(404);
    const approved = await call('pm2', 'POST', `/api/reissues/${asked.body.id}/approve`, { comment: 'camp in Badin opens Monday' });
    expect(approved.status).toBe(200);
    expect(approved.body.newInstructionId).toBe(ids.S2!.replace(/-1$/, '-2'));
    expect((await states())[approved.body.newInstructionId]).toBe('released');
    // No new money: the new attempt pays what was released for the line.
    const [amounts] = await queryRows<{ a: number; b: number }>(
      db.db,
      sql`select (select amount_pkr from payment_instructions where id = ${ids.S2}) as a, (select amount_pkr from payment_instructions where id = ${approved.body.newInstructionId}) as b`,
    );
    expect(amounts!.a).toBe(amounts!.b);
  });

  it('refuses to pay again a line that was paid, and a bad account', async () => {
    expect((await call('pm', 'POST', `/api/payment-instructions/${ids.S6}/reissue`, { reason: 'again' })).status).toBe(409);
    const bad = await call('pm', 'POST', `/api/payment-instructions/${ids.S4}/reissue`, { channel: 'bank_transfer', account: '12345', reason: 'to a bank' });
    expect(bad.status).toBe(400);
    expect(bad.body.errors).toEqual([{ field: 'body.account', message: 'expected an account such as PK36SCBL0000001123456702' }]);
    const asked = await call('pm', 'POST', `/api/payment-instructions/${ids.S4}/reissue`, { account: '03119876543', reason: 'new SIM' });
    const rejected = await call('pm2', 'POST', `/api/reissues/${asked.body.id}/reject`, { reason: 'confirm the SIM owner first' });
    expect(rejected.body).toMatchObject({ decision: 'rejected', to: { channel: 'mobile_wallet', account: '*******6543' } });
  });

  it('a late "paid" for the first attempt asks the bank to stop the second; paid by both is an overpayment, loudly', async () => {
    const made = await call('finance', 'POST', `/api/batches/${batchId}/payment-files`);
    const cash = made.body.made.find((f: Json) => f.channel === 'biometric_cash');
    expect(cash).toMatchObject({ count: 1, totalPkr: 25000, seq: 1 });
    const second = ids.S2!.replace(/-1$/, '-2');
    expect((await states())[second]).toBe('exported');

    // The wallet operator now says attempt 1 went through after all (a second answer file for the wallet file).
    const late = await call('finance', 'POST', `/api/payment-files/${files.mobile_wallet.id}/reconciliation`, answerFile(`${ids.S2},paid,25000,2026-09-03T09:00:00+05:00,JC-2L,late`));
    expect(late.status).toBe(200);
    expect(late.body.otherAttempts).toEqual({ cancelled: 0, cancelRequested: 1, overpayments: 0 });
    expect(await states()).toMatchObject({ [ids.S2!]: 'paid', [second]: 'cancel_requested' });
    const all = (await call('finance', 'POST', `/api/batches/${batchId}/payment-files`)).body.files as Json[];
    expect(all.filter((f) => f.kind === 'cancellation').map((f) => [f.channel, f.count])).toEqual([['biometric_cash', 1]]);

    // The camp had paid attempt 2 before the cancellation reached it.
    const camp = await call('finance', 'POST', `/api/payment-files/${cash.id}/reconciliation`, answerFile(`${second},paid,25000,2026-09-03T11:00:00+05:00,CAMP-77,`));
    expect(camp.status).toBe(200);
    expect(camp.body.otherAttempts).toEqual({ cancelled: 0, cancelRequested: 0, overpayments: 1 });
    const [over] = await queryRows<{ over_pkr: string; instruction_ids: string[] }>(db.db, sql`select over_pkr::text, instruction_ids from overpayments where batch_id = ${batchId}::uuid`);
    expect(over).toEqual({ over_pkr: '25000', instruction_ids: [ids.S2, second].sort() });
    const [audit] = await queryRows<{ n: number }>(db.db, sql`select count(*)::int as n from audit_log where action = 'payments.overpayment'`);
    expect(audit!.n).toBe(1);
  });
});
