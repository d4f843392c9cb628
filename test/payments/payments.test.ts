import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryRows } from '../../server/db/client.ts';
import { LAYOUTS, CHANNELS } from '../../server/payments/layouts.ts';
import { RECONCILIATION_COLUMNS } from '../../server/payments/reconcile.ts';
import { testApp } from '../harness/app.ts';
import { createTestDatabase, drivers, type TestDatabase } from '../harness/databases.ts';
import { bearer, setupCtx } from '../harness/factories.ts';
import { stopPayments } from '../../server/payments/cancel.ts';
import { declareFlood, loadFloodRules, NOW, seedAreas, seedFloodRegistry, settle } from '../batches/setup.ts';

type Json = Record<string, any>;
const sample = (name: string) => readFileSync(new URL(`../../server/payments/samples/${name}`, import.meta.url), 'utf8');

describe('the sample files', () => {
  it('have the header each channel writes, and a trailer with count and total', () => {
    for (const channel of CHANNELS) {
      const lines = sample(`${channel}.csv`).trimEnd().split('\r\n');
      expect(lines[0]).toBe(LAYOUTS[channel].columns.join(','));
      const rows = lines.slice(1, -1);
      expect(lines.at(-1)).toBe(`TRAILER,${rows.length},${rows.length * 25000}`);
    }
    expect(sample('reconciliation.csv').split('\r\n')[0]).toBe(RECONCILIATION_COLUMNS.join(','));
  });
});

describe.each(drivers)('payment files and reconciliation of a released batch (%s)', (driver) => {
  let db: TestDatabase;
  let app: ReturnType<typeof testApp>;
  let event: { id: string };
  let batchId: string;
  const as = {} as Record<'pm' | 'pm2' | 'finance' | 'sindhFinance' | 'responder', string>;
  const call = async (who: keyof typeof as, method: string, path: string, body?: string | object) => {
    const res = await app.request(path, {
      method,
      headers: {
        authorization: as[who],
        ...(typeof body === 'string' ? { 'content-type': 'text/csv' } : body ? { 'content-type': 'application/json' } : {}),
      },
      ...(body ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
    });
    const type = res.headers.get('content-type') ?? '';
    return { status: res.status, headers: res.headers, body: (type.includes('json') ? await res.json() : await res.text()) as any };
  };

  const count = async (query: ReturnType<typeof sql>) => (await queryRows<{ n: number }>(db.db, query))[0]!.n;

  beforeAll(async () => {
    db = await createTestDatabase(driver);
    app = testApp(db, { clock: () => NOW });
    await seedAreas(db.db);
    await seedFloodRegistry(db);
    const ids = await loadFloodRules(db.db);
    as.pm = (await bearer(db.db, 'program_manager', 'PK')).authorization;
    as.pm2 = (await bearer(db.db, 'program_manager', 'PK')).authorization;
    as.finance = (await bearer(db.db, 'finance_officer', 'PK')).authorization;
    as.sindhFinance = (await bearer(db.db, 'finance_officer', 'PK7')).authorization;
    as.responder = (await bearer(db.db, 'responder', 'PK7')).authorization;
    event = await declareFlood(db.db);
    const list = await call('pm', 'GET', '/api/batches');
    batchId = list.body.items.find((b: Json) => b.rule.id === ids.federal).id;
  }, 120_000);
  afterAll(() => db?.drop());

  it('refuses files before the batch is released', async () => {
    const early = await call('finance', 'POST', `/api/batches/${batchId}/payment-files`);
    expect(early.status).toBe(409);
    expect(early.body.detail).toMatch(/once every payer has released/);
    await call('pm', 'POST', `/api/batches/${batchId}/submit`);
    await call('pm2', 'POST', `/api/batches/${batchId}/approve`, { comment: 'checked' });
    expect((await call('finance', 'POST', `/api/batches/${batchId}/release`)).body.status).toBe('released');
    // The release hands the instructions to the outbox; once delivered there is one per live line, attempt 1.
    expect(await count(sql`select count(*)::int as n from payment_instructions`)).toBe(0);
    await settle(db.db);
    expect(await count(sql`select count(*)::int as n from payment_instructions where state = 'released' and attempt = 1 and batch_id = ${batchId}::uuid`)).toBe(6);
  });

  it('makes one file per channel, with a manifest, and only a finance officer of the payer may', async () => {
    expect((await call('sindhFinance', 'POST', `/api/batches/${batchId}/payment-files`)).status).toBe(403);
    const made = await call('finance', 'POST', `/api/batches/${batchId}/payment-files`);
    expect(made.status).toBe(200);
    // S1, S3, S5 hold bank accounts; S2, S4, S6 wallets.
    expect(made.body.made.map((f: Json) => [f.channel, f.count, f.totalPkr])).toEqual([
      ['bank_transfer', 3, 75000],
      ['mobile_wallet', 3, 75000],
    ]);
    const again = await call('finance', 'POST', `/api/batches/${batchId}/payment-files`);
    expect(again.body.made).toEqual([]);
    expect(again.body.files.map((f: Json) => f.sha256)).toEqual(made.body.made.map((f: Json) => f.sha256));
  });

  it('gives the same bytes every time, matching the manifest, holding only what the channel needs', async () => {
    const files = (await call('finance', 'POST', `/api/batches/${batchId}/payment-files`)).body.files as Json[];
    const wallet = files.find((f) => f.channel === 'mobile_wallet')!;
    const first = await call('finance', 'GET', wallet.download);
    const second = await call('finance', 'GET', wallet.download);
    expect(first.status).toBe(200);
    expect(first.body).toBe(second.body);
    expect(createHash('sha256').update(first.body).digest('hex')).toBe(wallet.sha256);
    expect(first.headers.get('x-madad-sha256')).toBe(wallet.sha256);
    const lines = (first.body as string).trimEnd().split('\r\n');
    expect(lines[0]).toBe('reference,msisdn,amount_pkr');
    expect(lines.at(-1)).toBe('TRAILER,3,75000');
    expect(lines[1]).toMatch(/^MDD[0-9A-F]{10}-00000002-1,0300\d{7},25000$/);
    // No CNIC or name in a wallet file.
    expect(first.body).not.toMatch(/42101|Head S/);
    expect((await call('responder', 'GET', wallet.download)).status).toBe(403);
    const [downloads] = await queryRows<{ n: number }>(db.db, sql`select count(*)::int as n from audit_log where action = 'payments.file_downloaded'`);
    expect(downloads!.n).toBe(2);
  });

  it('checks a reconciliation whole, names row and column, and applies nothing when one row is wrong', async () => {
    const files = (await call('finance', 'POST', `/api/batches/${batchId}/payment-files`)).body.files as Json[];
    const wallet = files.find((f) => f.channel === 'mobile_wallet')!;
    const bank = files.find((f) => f.channel === 'bank_transfer')!;
    const ids = (await call('finance', 'GET', wallet.download)).body.trimEnd().split('\r\n').slice(1, -1).map((l: string) => l.split(',')[0]);
    const bankIds = (await call('finance', 'GET', bank.download)).body.trimEnd().split('\r\n').slice(1, -1).map((l: string) => l.split(',')[0]);
    const header = RECONCILIATION_COLUMNS.join(',');
    const bad = [
      header,
      `${ids[0]},paid,30000,2026-09-02T14:30:00+05:00,JC-1,`,
      `${bankIds[0]},paid,25000,2026-09-02T14:30:00+05:00,JC-2,`,
      `${ids[1]},paid,25000,yesterday,JC-3,`,
      `MDD0000000000-00000099-1,failed,0,,,`,
    ].join('\r\n');
    const refused = await call('finance', 'POST', `/api/payment-files/${wallet.id}/reconciliation`, bad);
    expect(refused.status).toBe(400);
    expect(refused.body.errors.map((e: Json) => e.field)).toEqual(['row 4.paid_at', 'row 2.amount_paid_pkr', 'row 3.instruction_id', 'row 5.instruction_id']);
    expect(refused.body.errors[0].message).toMatch(/ISO 8601/);
    const [states] = await queryRows<{ exported: number }>(db.db, sql`select count(*) filter (where state = 'exported')::int as exported from payment_instructions`);
    expect(states!.exported).toBe(6);
    // An answer far larger than its file could need (512 bytes a row, 3 rows here) is refused, not read to its end.
    const huge = [header, `${ids[0]},paid,25000,2026-09-02T14:30:00+05:00,JC-1,${'x'.repeat(80_000)}`].join('\r\n');
    const tooLarge = await call('finance', 'POST', `/api/payment-files/${wallet.id}/reconciliation`, huge);
    expect(tooLarge.status).toBe(413);
    expect(tooLarge.body).toMatchObject({ code: 'payload_too_large' });
    expect(tooLarge.body.detail).toMatch(/larger than 67,584 bytes, the most an answer to this file can be/);

    const good = [header, `${ids[0]},paid,25000,2026-09-02T14:30:00+05:00,JC-1,`, `${ids[1]},paid,20000,2026-09-02T15:00:00+05:00,JC-2,`, `${ids[2]},unclaimed,0,,,not collected in 30 days`].join('\r\n');
    const applied = await call('finance', 'POST', `/api/payment-files/${wallet.id}/reconciliation`, good);
    expect(applied.status).toBe(200);
    expect(applied.body).toMatchObject({ repeated: false, rows: 3, moved: { paid: 2, unclaimed: 1 }, paidPkr: 45000, partial: { instructions: 1, outstandingPkr: 5000 }, outstanding: { instructions: 0, pkr: 0 } });
    const twice = await call('finance', 'POST', `/api/payment-files/${wallet.id}/reconciliation`, good);
    expect(twice.body).toMatchObject({ repeated: true, moved: { paid: 2, unclaimed: 1 } });
    const [after] = await queryRows<{ paid: number; pkr: number }>(db.db, sql`select count(*) filter (where state = 'paid')::int as paid, coalesce(sum(paid_pkr), 0)::int as pkr from payment_instructions`);
    expect(after).toEqual({ paid: 2, pkr: 45000 });
  });

  it('derives the event\u2019s money by state from the one ledger', async () => {
    const money = await call('finance', 'GET', `/api/events/${event.id}/payments`);
    expect(money.status).toBe(200);
    expect(money.body.totals).toMatchObject({
      paid: { households: 2, pkr: 45000 },
      unclaimed: { households: 1, pkr: 25000 },
      exported: { households: 3, pkr: 75000 },
      reserved: { households: 2, pkr: 20000 },
    });
    expect(money.body.byChannel.map((c: Json) => c.key)).toEqual(['bank_transfer', 'mobile_wallet', 'not yet issued']);
    const seen = await call('responder', 'GET', `/api/events/${event.id}/payments`);
    expect(seen.status).toBe(200);
    expect(seen.body.totals.paid).toEqual({ households: null, pkr: null });
  });

  it('stops what is not yet paid when the activation stops: at once if not exported, through the bank if it was', async () => {
    const reservedBefore = await count(sql`select count(*)::int as n from reservations`);
    const stopped = await stopPayments(setupCtx(db.db, NOW), { batchId, reason: 'test: the flood was called off' });
    // The unclaimed wallet line is stopped at once; the three bank instructions are in a file: the bank is asked.
    expect(stopped).toMatchObject({ cancelled: 1, cancelRequested: 3 });
    expect(stopped.files.map((f) => [f.kind, f.channel, f.count, f.totalPkr])).toEqual([['cancellation', 'bank_transfer', 3, 75000]]);
    expect(await count(sql`select count(*)::int as n from reservations`)).toBe(reservedBefore - 1);
    // The wallet household was texted that its money was on its way: now it is told not to travel for it.
    const told = await queryRows<{ language: string; body: string; msisdn: string }>(
      db.db,
      sql`select m.language, m.body, m.msisdn from messages m join payment_instructions i on i.id = m.instruction_id
          where m.moment = 'cancelled' and i.state = 'unclaimed' order by m.language`,
    );
    expect(told.map((m) => m.language)).toEqual(['en', 'ur']);
    expect(told[0]!.body).toMatch(/^BISP: the payment of Rs 25,000 \(Ref MDD[0-9A-F]{10}-\d{8}-1\) has been stopped\. Do not go to collect it\./);
    expect(told[1]!.body).toContain('روک دی گئی ہے');
    expect(told[0]!.msisdn).toMatch(/^923\d{9}$/);
    expect(await count(sql`select count(*)::int as n from messages where moment = 'cancelled'`)).toBe(2);

    const file = (await call('finance', 'GET', `/api/payment-files/${stopped.files[0]!.id}/csv`)).body as string;
    const lines = file.trimEnd().split('\r\n');
    expect(lines[0]).toBe('reference,amount_pkr');
    expect(lines.at(-1)).toBe('TRAILER,3,75000');
    const [a, b, c] = lines.slice(1, -1).map((l) => l.split(',')[0]);
    const answer = [RECONCILIATION_COLUMNS.join(','), `${a},cancelled,0,,,stopped`, `${b},cancelled,0,,,stopped`, `${c},paid,25000,2026-09-02T16:00:00+05:00,JC-9,paid before the stop`].join('\r\n');
    const report = await call('finance', 'POST', `/api/payment-files/${stopped.files[0]!.id}/reconciliation`, answer);
    expect(report.status).toBe(200);
    expect(report.body).toMatchObject({ moved: { cancelled: 2, paid: 1 }, outstanding: { instructions: 0 } });
    // Answered, the cancellation file still comes back byte for byte (the bank's reasons are not in it).
    const again = (await call('finance', 'GET', `/api/payment-files/${stopped.files[0]!.id}/csv`)).body as string;
    expect(createHash('sha256').update(again).digest('hex')).toBe(stopped.files[0]!.sha256);
    // Only the bank's word frees the two it stopped; the one it paid stays paid and reserved.
    expect(await count(sql`select count(*)::int as n from reservations`)).toBe(reservedBefore - 3);
    const money = await call('finance', 'GET', `/api/events/${event.id}/payments`);
    expect(money.body.totals).toMatchObject({ paid: { households: 3, pkr: 70000 }, cancelled: { households: 3, pkr: 75000 }, exported: { households: 0 } });
    // The three lines stopped give their PKR 75,000 back to the BISP budget line: released is 150,000 less that.
    const budgets = await call('finance', 'GET', '/api/budgets');
    expect(budgets.body.items.find((b: Json) => b.agency === 'BISP')).toMatchObject({ releasedPkr: 75000, committedPkr: 0 });
  });

  it('keeps instructions one way in the database', async () => {
    await expect(db.db.execute(sql`update payment_instructions set state = 'released' where state = 'paid'`)).rejects.toThrow();
    await expect(db.db.execute(sql`update payment_instructions set amount_pkr = 1`)).rejects.toThrow();
    await expect(db.db.execute(sql`delete from payment_files`)).rejects.toThrow();
    // Each statement's new lines, instructions and texts must have their parent; a parent with rows is never deleted.
    const refusal = (q: ReturnType<typeof sql>) => db.db.execute(q).then(() => 'accepted', (e: any) => String(e.cause?.message ?? e.message));
    const stray = '00000000-0000-4000-8000-000000000000';
    expect(await refusal(sql`insert into batch_lines select ${stray}::uuid, line_no + 1000, source, household_id, dedup_key, cnic, head_name, province, district, tehsil, pmt, requested_pkr, amount_pkr, payer_idx, shares_pkr, payment_channel, payment_account, reasons_idx, net_text, state from batch_lines limit 2`)).toMatch(/a row of a batch that does not exist/);
    expect(await refusal(sql`insert into payment_instructions (id, batch_id, line_no, attempt, channel, amount_pkr, state, created_at, updated_at) values ('MDD0000000000-00000001-1', ${stray}::uuid, 1, 1, 'biometric_cash', 1, 'released', now(), now())`)).toMatch(/a row of a batch that does not exist/);
    expect(await refusal(sql`insert into messages (instruction_id, moment, language, msisdn, body, created_at) values ('MDD0000000000-00000001-1', 'paid', 'en', '923001234567', 'x', now())`)).toMatch(/an instruction that does not exist/);
    expect(await refusal(sql`delete from batches where id = ${batchId}::uuid`)).toMatch(/never deleted/);
    expect(await refusal(sql`delete from payment_instructions where id in (select instruction_id from messages)`)).toMatch(/never deleted/);
    expect(await refusal(sql`update messages set instruction_id = (select id from payment_instructions order by id desc limit 1) where instruction_id <> (select id from payment_instructions order by id desc limit 1)`)).toMatch(/never moves/);
  });
});
