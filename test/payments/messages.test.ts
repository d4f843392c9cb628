import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { userPrincipal } from '../../server/access/credentials.ts';
import { approveBatch, submitBatch } from '../../server/batches/approvals.ts';
import type { Ctx } from '../../server/context.ts';
import { openDatabase, queryRows, type Database, type Db } from '../../server/db/client.ts';
import { users } from '../../server/db/schema/index.ts';
import { exportMessages, GATEWAY_COLUMNS, messageWords, msisdnOf, msisdnSql, renderMessage } from '../../server/payments/messages.ts';
import { notifyOfficials } from '../../server/payments/notify.ts';
import { RECONCILIATION_COLUMNS } from '../../server/payments/reconcile.ts';
import { createUser, disableUser } from '../../server/users/service.ts';
import { cnicOf, loadFloodRules, NOW, seedAreas, settle, SINDH_DISTRICT } from '../batches/setup.ts';
import { testApp, TEST_DEDUP_KEY } from '../harness/app.ts';
import { runCli } from '../harness/cli.ts';
import { createTestDatabase, drivers, type TestDatabase } from '../harness/databases.ts';
import { bearer, makeEvent, makeHousehold, setupCtx, TEST_PASSWORD } from '../harness/factories.ts';

type Json = Record<string, any>;
const HOUR = 3600_000;
const at = (hours: number) => new Date(NOW.getTime() + hours * HOUR);
const answerFile = (...rows: string[]) => [RECONCILIATION_COLUMNS.join(','), ...rows].join('\r\n');

/**
 * Ten Sindh households in one tehsil (PMT 10..100; the federal flood rule pays the poorest six, PKR 25,000
 * each), with the channels and phones the texts depend on: S1 a bank account and a phone, S2 and S4
 * wallets (S2's household phone differs from its wallet: the text goes to the wallet), S3 a bank account
 * and no phone (no text), S5 and S6 no account (cash at a camp) and phones written two other ways.
 */
const SEED: Record<string, { channel: string; account: string; phone: string }> = {
  S1: { channel: 'bank', account: 'PK36SCBL0000001123456710', phone: '03011111111' },
  S2: { channel: 'mobile_wallet', account: '03001000001', phone: '03110000002' },
  S3: { channel: 'bank', account: 'PK36SCBL0000001123456712', phone: '' },
  S4: { channel: 'mobile_wallet', account: '03001000003', phone: '' },
  S5: { channel: '', account: '', phone: '0302 5555555' },
  S6: { channel: '', account: '', phone: '+923026666666' },
};
async function seedRegistry(database: Database) {
  await makeHousehold(
    database,
    Array.from({ length: 10 }, (_, i) => {
      const id = `S${i + 1}`;
      const own = SEED[id] ?? { channel: '', account: '', phone: '' };
      return {
        id,
        lat: 25.02 + i * 0.015,
        lon: 68.02 + i * 0.015,
        pmt: (i + 1) * 10,
        columns: { cnic: cnicOf(i + 1), enrolments: [2, 4, 7, 9].includes(i + 1) ? 'kafaalat' : '', payment_channel: own.channel, payment_account: own.account, phone: own.phone },
      };
    }),
    { now: NOW },
  );
}

/** Two floods over the tehsil (two incidents): each builds a federal batch and a Sindh Kafaalat batch. */
async function seedFloods(database: Database) {
  await seedAreas(database.db);
  await seedRegistry(database);
  const rules = await loadFloodRules(database.db);
  const first = await makeEvent(database.db, { areas: [SINDH_DISTRICT.tehsil], now: NOW });
  await settle(database.db, NOW);
  const second = await makeEvent(database.db, { areas: [SINDH_DISTRICT.tehsil], now: NOW });
  await settle(database.db, NOW);
  const rows = await queryRows<{ id: string; rule_id: string; subject_id: string }>(database.db, sql`select id, rule_id, subject_id::text from batches`);
  const of = (rule: string, event: { id: string }) => rows.find((r) => r.rule_id === rule && r.subject_id === event.id)!.id;
  return { rules, federal: of(rules.federal, first), federal2: of(rules.federal, second), sindh: of(rules.sindh, first) };
}

/** Every other household's identity and payment data, which no text may hold. */
const othersData = (but: string) =>
  Object.keys(SEED)
    .filter((id) => id !== but)
    .flatMap((id) => [cnicOf(Number(id.slice(1))), `Head ${id}`, SEED[id]!.account, SEED[id]!.phone].filter(Boolean));

describe('the texts\u2019 words', () => {
  it('are read from the files, in Urdu script and in English, and fit a few SMS parts', () => {
    const w = messageWords();
    expect(w.ur.texts.exported).toMatch(/[\u0600-\u06FF]/);
    expect(w.ur.texts.paid).toContain('روپے');
    expect(w.en.texts.exported).toContain('{where}');
    expect(readFileSync(new URL('../../server/payments/messages/exported.ur.txt', import.meta.url), 'utf8')).toContain('{channel_text}');
    const settings = { helpline: '0800-26477', collectAfterDays: 2, languages: ['ur', 'en'] as ('ur' | 'en')[] };
    // The longest a text gets: a long district name, a lakh of rupees, the longest reference.
    const facts = { reference: 'MDD3F2A9C01B7-1234567-12', channel: 'biometric_cash' as const, programme: 'BISP', amountPkr: 100_000, district: 'Shaheed Benazirabad', at: NOW };
    for (const moment of ['exported', 'paid'] as const) {
      // English: GSM-7 characters only, two SMS parts (153 each); Urdu: UCS-2, three parts (67 each).
      const en = renderMessage(moment, 'en', facts, settings);
      expect(en).toMatch(/^[A-Za-z0-9 .,:;()'/+-]+$/);
      expect(en.length).toBeLessThanOrEqual(306);
      expect(renderMessage(moment, 'ur', facts, settings).length).toBeLessThanOrEqual(201);
    }
  });

  it('reads a Pakistani mobile number however it is written, and nothing else', () => {
    expect(['03001234567', '+923001234567', '0092 300 1234567', '923001234567', '3001234567'].map(msisdnOf)).toEqual(Array(5).fill('923001234567'));
    expect([null, '', '021-1234567', 'PK36SCBL0000001123456710', '0300123456'].map(msisdnOf)).toEqual(Array(5).fill(null));
  });
});

describe.each(drivers)('texts to beneficiaries and the officials\u2019 inbox (%s)', (driver) => {
  let db: TestDatabase;
  let clock = NOW;
  /** Approval steps of 48 hours, and of 1 hour: a batch submitted later can be overdue sooner. */
  let app: ReturnType<typeof testApp>;
  let hasty: ReturnType<typeof testApp>;
  let ids: Awaited<ReturnType<typeof seedFloods>>;
  const as = {} as Record<'pm' | 'pm2' | 'finance' | 'sindhPm' | 'sindhPm2' | 'sindhFinance' | 'responder', string>;
  const call = async (who: keyof typeof as, method: string, path: string, body?: string | object, via = app) => {
    const res = await via.request(path, {
      method,
      headers: { authorization: as[who], ...(typeof body === 'string' ? { 'content-type': 'text/csv' } : body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
    });
    const type = res.headers.get('content-type') ?? '';
    return { status: res.status, body: (type.includes('json') ? await res.json() : await res.text()) as any };
  };
  const inbox = async (who: keyof typeof as) => {
    const res = await call(who, 'GET', '/api/inbox');
    expect(res.status).toBe(200);
    return res.body as { items: Json[]; counts: Record<string, number>; total: number };
  };
  const texts = (moment: string) =>
    queryRows<{ instruction_id: string; language: string; msisdn: string; body: string; exported_at: unknown }>(
      db.db,
      sql`select instruction_id, language, msisdn, body, exported_at from messages where moment = ${moment} order by instruction_id, language`,
    );
  /** Instruction ids by household. */
  const refs: Record<string, string> = {};

  beforeAll(async () => {
    db = await createTestDatabase(driver);
    app = testApp(db, { clock: () => clock, env: { MADAD_APPROVAL_HOURS: 48 } });
    hasty = testApp(db, { clock: () => clock, env: { MADAD_APPROVAL_HOURS: 1 } });
    ids = await seedFloods(db);
    as.pm = (await bearer(db.db, 'program_manager', 'PK')).authorization;
    as.pm2 = (await bearer(db.db, 'program_manager', 'PK')).authorization;
    as.finance = (await bearer(db.db, 'finance_officer', 'PK')).authorization;
    as.sindhPm = (await bearer(db.db, 'program_manager', 'PK7')).authorization;
    as.sindhPm2 = (await bearer(db.db, 'program_manager', 'PK7')).authorization;
    as.sindhFinance = (await bearer(db.db, 'finance_officer', 'PK7')).authorization;
    as.responder = (await bearer(db.db, 'responder', 'PK7')).authorization;
  }, 180_000);
  afterAll(() => db?.drop());

  it('reads a phone in the database, where the texts are made, as msisdnOf reads it', async () => {
    const phones = ['03001234567', '+923001234567', '0092 300 1234567', '923001234567', '3001234567', '0300-123-4567', '0300\u00a01234567',
      '0300\u20091234567', '\t03001234567\n', '', '021-1234567', 'PK36SCBL0000001123456710', '0300123456', '٠٣٠٠١٢٣٤٥٦٧', '03001234567x'];
    for (const phone of phones) {
      const [row] = await queryRows<{ msisdn: string | null }>(db.db, sql`select ${msisdnSql(sql`${phone}::text`)} as msisdn`);
      expect(row!.msisdn, JSON.stringify(phone)).toBe(msisdnOf(phone));
    }
    // Not vacuous: both kinds of answer are asked.
    expect(phones.filter((p) => msisdnOf(p)).length).toBeGreaterThan(5);
    expect(phones.filter((p) => !msisdnOf(p)).length).toBeGreaterThan(3);
  });

  it('shows a submitted batch to the programme managers who may sign it, not to its submitter', async () => {
    expect((await inbox('pm2')).total).toBe(0);
    expect((await call('pm', 'POST', `/api/batches/${ids.federal}/submit`)).status).toBe(200);
    expect((await inbox('pm')).items).toEqual([]);
    const seen = await inbox('pm2');
    expect(seen.counts).toEqual({ approve: 1, release: 0, reissue: 0, plan: 0 });
    expect(seen.items[0]).toMatchObject({
      kind: 'approve',
      reason: `batch:${ids.federal}:approve:round 1`,
      batchId: ids.federal,
      rule: { id: ids.rules.federal, version: '1' },
      programme: 'BISP',
      totalPkr: 150_000,
      since: NOW.toISOString(),
      dueAt: at(48).toISOString(),
      overdue: false,
      link: `/batches/${ids.federal}`,
    });
    // A federal programme batch waits for federal signers: nothing for Sindh, nothing for a responder.
    expect((await inbox('sindhPm')).total).toBe(0);
    expect((await inbox('responder')).total).toBe(0);
    expect((await inbox('finance')).total).toBe(0);
  });

  it('shows the Sindh batch\u2019s two steps to a Sindh programme manager and a Sindh finance officer', async () => {
    expect((await call('sindhPm', 'POST', `/api/batches/${ids.sindh}/submit`)).status).toBe(200);
    expect((await inbox('sindhPm')).total).toBe(0);
    const [manager, finance] = [await inbox('sindhPm2'), await inbox('sindhFinance')];
    expect(manager.items.map((i) => [i.kind, i.batchId, i.programme])).toEqual([['approve', ids.sindh, 'SSPA']]);
    expect(finance.items.map((i) => [i.kind, i.batchId])).toEqual([['approve', ids.sindh]]);
    expect((await call('sindhPm2', 'POST', `/api/batches/${ids.sindh}/approve`, { comment: 'checked' })).status).toBe(200);
    // Signed: gone from the signer's inbox, still waiting for the finance step.
    expect((await inbox('sindhPm2')).total).toBe(0);
    expect((await inbox('sindhFinance')).items.map((i) => i.kind)).toEqual(['approve']);
  });

  it('puts the overdue first, then the oldest', async () => {
    clock = at(1);
    expect((await call('pm', 'POST', `/api/batches/${ids.federal2}/submit`, undefined, hasty)).status).toBe(200);
    clock = at(3);
    const seen = await inbox('pm2');
    // The second flood's batch came an hour later but its step (1 hour) is overdue; the first's (48 hours) is not.
    expect(seen.items.map((i) => [i.batchId, i.overdue])).toEqual([
      [ids.federal2, true],
      [ids.federal, false],
    ]);
    expect(seen.items[0]!.dueAt).toBe(at(2).toISOString());
    expect(seen.counts.approve).toBe(2);
    clock = NOW;
  });

  it('shows the approved batch to the finance officer of its payer for release, then nothing once released', async () => {
    expect((await call('pm2', 'POST', `/api/batches/${ids.federal}/approve`, { comment: 'checked' })).status).toBe(200);
    expect((await inbox('pm2')).items.map((i) => i.batchId)).toEqual([ids.federal2]);
    const seen = await inbox('finance');
    expect(seen.counts).toEqual({ approve: 0, release: 1, reissue: 0, plan: 0 });
    expect(seen.items[0]).toMatchObject({ kind: 'release', reason: `batch:${ids.federal}:release`, totalPkr: 150_000, since: NOW.toISOString(), link: `/batches/${ids.federal}` });
    expect(seen.items[0]!.summary).toContain('BISP share of PKR 150,000');
    expect((await inbox('sindhFinance')).items.map((i) => i.kind)).toEqual(['approve']);
    expect((await call('finance', 'POST', `/api/batches/${ids.federal}/release`)).status).toBe(200);
    expect((await inbox('finance')).total).toBe(0);
  });

  it('texts each household with a phone once per language when its payment file is made, and counts those without', async () => {
    const made = await call('finance', 'POST', `/api/batches/${ids.federal}/payment-files`);
    expect(made.status).toBe(200);
    expect(made.body.made.map((f: Json) => [f.channel, f.count])).toEqual([
      ['biometric_cash', 2],
      ['bank_transfer', 2],
      ['mobile_wallet', 2],
    ]);
    for (const r of await queryRows<{ id: string; household_id: string }>(
      db.db,
      sql`select i.id, l.household_id from payment_instructions i join batch_lines l on l.batch_id = i.batch_id and l.line_no = i.line_no where i.batch_id = ${ids.federal}::uuid`,
    ))
      refs[r.household_id] = r.id;
    const sent = await texts('exported');
    // S3 has no phone: five households, two languages each.
    expect(sent).toHaveLength(10);
    expect(sent.some((t) => t.instruction_id === refs.S3)).toBe(false);
    const [audit] = await queryRows<{ summary: Json }>(db.db, sql`select summary from audit_log where action = 'payments.messages_made' and summary->>'noPhone' = '1'`);
    expect(audit!.summary).toMatchObject({ moment: 'exported', made: 2, noPhone: 1 });
    const to = Object.fromEntries(sent.map((t) => [t.instruction_id, t.msisdn]));
    expect(to[refs.S1!]).toBe('923011111111');
    expect(to[refs.S2!]).toBe('923001000001'); // the wallet, not the household's other phone
    expect(to[refs.S5!]).toBe('923025555555');
    expect(to[refs.S6!]).toBe('923026666666');

    const body = (who: string, language: string) => sent.find((t) => t.instruction_id === refs[who] && t.language === language)!.body;
    const [district] = await queryRows<{ name: string }>(db.db, sql`select name from areas where code = ${SINDH_DISTRICT.code} and valid_to is null`);
    // Cash: where and from when (the file's day, 26 August in Pakistan, plus two days).
    expect(body('S5', 'en')).toBe(`BISP: Rs 25,000 for your family. Collect it with your CNIC at the payment camp or bank agent in ${district!.name} from 28 Aug 2026. Ref ${refs.S5}. Pay no one for it. Helpline 0800-26477`);
    expect(body('S5', 'ur')).toBe(`BISP: آپ کے لیے 25,000 روپے۔ 28 اگست 2026 سے ضلع ${district!.name} کے پیمنٹ کیمپ یا بینک ایجنٹ سے شناختی کارڈ لے کر وصول کریں۔ حوالہ ${refs.S5}۔ کسی کو رقم نہ دیں۔ ہیلپ لائن 0800-26477`);
    expect(body('S2', 'en')).toContain('It will reach this mobile wallet from 28 Aug 2026.');
    expect(body('S1', 'en')).toContain('It will reach your bank account from 28 Aug 2026.');
    expect(body('S1', 'ur')).toContain('آپ کے بینک اکاؤنٹ میں رقم آ جائے گی');
    for (const t of sent) {
      const who = Object.keys(refs).find((k) => refs[k] === t.instruction_id)!;
      expect(t.body).toContain(t.instruction_id);
      for (const other of Object.values(refs).filter((r) => r !== t.instruction_id)) expect(t.body).not.toContain(other);
      for (const data of [...othersData(who), cnicOf(Number(who.slice(1))), `Head ${who}`]) expect(t.body).not.toContain(data);
    }

    // Asking again makes no file and no text.
    expect((await call('finance', 'POST', `/api/batches/${ids.federal}/payment-files`)).body.made).toEqual([]);
    expect(await texts('exported')).toHaveLength(10);
  });

  it('texts the households the bank paid, with the amount and day paid, once', async () => {
    const files = (await call('finance', 'POST', `/api/batches/${ids.federal}/payment-files`)).body.files as Json[];
    const wallet = files.find((f) => f.channel === 'mobile_wallet')!;
    const cash = files.find((f) => f.channel === 'biometric_cash')!;
    const walletAnswer = answerFile(`${refs.S2},paid,25000,2026-09-02T14:30:00+05:00,JC-2,`, `${refs.S4},paid,20000,2026-09-02T23:30:00+05:00,JC-4,`);
    expect((await call('finance', 'POST', `/api/payment-files/${wallet.id}/reconciliation`, walletAnswer)).status).toBe(200);
    const cashAnswer = answerFile(`${refs.S5},paid,25000,2026-09-03T10:00:00+05:00,CAMP-5,`, `${refs.S6},unclaimed,0,,,not collected`);
    expect((await call('finance', 'POST', `/api/payment-files/${cash.id}/reconciliation`, cashAnswer)).status).toBe(200);
    const paid = await texts('paid');
    expect(paid.map((t) => [t.instruction_id, t.language])).toEqual(
      [refs.S2, refs.S4, refs.S5].sort().flatMap((r) => [
        [r, 'en'],
        [r, 'ur'],
      ]),
    );
    const body = (who: string, language: string) => paid.find((t) => t.instruction_id === refs[who] && t.language === language)!.body;
    expect(body('S4', 'en')).toBe(`BISP: Rs 20,000 was paid to you on 2 Sep 2026. Ref ${refs.S4}. Pay no one for it. Helpline 0800-26477`);
    expect(body('S4', 'ur')).toBe(`BISP: 2 ستمبر 2026 کو آپ کو 20,000 روپے ادا کر دیے گئے۔ حوالہ ${refs.S4}۔ کسی کو رقم نہ دیں۔ ہیلپ لائن 0800-26477`);
    expect(body('S5', 'en')).toContain('on 3 Sep 2026');
    // The same answer again changes nothing and texts nobody again.
    expect((await call('finance', 'POST', `/api/payment-files/${wallet.id}/reconciliation`, walletAnswer)).body.repeated).toBe(true);
    expect(await texts('paid')).toHaveLength(6);
  });

  it('hands the waiting texts to the SMS gateway once: a second export is empty', async () => {
    let file = '';
    const first = await exportMessages(setupCtx(db.db, at(240)), async (chunk) => {
      file += chunk;
    });
    expect(first).toMatchObject({ count: 16, byLanguage: { ur: 8, en: 8 } });
    const lines = file.trimEnd().split('\r\n');
    expect(lines[0]).toBe(GATEWAY_COLUMNS.join(','));
    expect(lines).toHaveLength(17);
    const byId = await queryRows<{ id: string; msisdn: string; language: string; body: string; export_id: string }>(db.db, sql`select id::text, msisdn, language, body, export_id::text from messages`);
    expect(byId.every((m) => m.export_id === first.exportId)).toBe(true);
    // Every line is one text, as stored: number, language, body (quoted where it holds a comma), id.
    for (const m of byId) expect(lines).toContain(`${m.msisdn},${m.language},${/[",]/.test(m.body) ? `"${m.body.replaceAll('"', '""')}"` : m.body},${m.id}`);
    expect((await texts('exported')).every((t) => t.exported_at !== null)).toBe(true);

    let again = '';
    const second = await exportMessages(setupCtx(db.db, at(241)), async (chunk) => {
      again += chunk;
    });
    expect(second.count).toBe(0);
    expect(again).toBe(`${GATEWAY_COLUMNS.join(',')}\r\n`);
  });

  it('shows an open request to pay again to the other programme managers of the payer', async () => {
    const asked = await call('pm', 'POST', `/api/payment-instructions/${refs.S6}/reissue`, { reason: 'camp closed early: pay at the next camp' });
    expect(asked.status).toBe(201);
    expect((await inbox('pm')).items.map((i) => i.kind)).not.toContain('reissue');
    const seen = await inbox('pm2');
    const item = seen.items.find((i) => i.kind === 'reissue')!;
    expect(item).toMatchObject({ reason: `reissue:${asked.body.id}`, batchId: ids.federal, reissueId: asked.body.id, totalPkr: 25_000, link: `/batches/${ids.federal}/reissues/${asked.body.id}` });
    expect(seen.counts).toEqual({ approve: 1, release: 0, reissue: 1, plan: 0 });
    expect((await inbox('sindhPm2')).items.map((i) => i.kind)).not.toContain('reissue');
  });
});

/** A real SMTP server on a free loopback port, keeping what it receives. */
async function smtpServer() {
  const received: { to: string[]; raw: string }[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData(stream, session, done) {
      let raw = '';
      stream.on('data', (c: Buffer) => (raw += c.toString('utf8')));
      stream.on('end', () => {
        received.push({ to: session.envelope.rcptTo.map((r) => r.address), raw });
        done();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.server.address() as AddressInfo).port;
  return { received, url: `smtp://127.0.0.1:${port}`, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

/** A mail's text as written: quoted-printable soft breaks and escapes undone. */
const plain = (raw: string) => raw.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)));
/** A header's value, unfolded (a long line continues on lines that start with a space). */
const header = (raw: string, name: string) => new RegExp(`^${name}: (.*)$`, 'mi').exec(raw.replace(/\r?\n(?=[ \t])/g, ''))?.[1]?.trim();

describe('email to officials about what waits for them (pglite)', () => {
  let db: TestDatabase;
  let smtp: Awaited<ReturnType<typeof smtpServer>>;
  let ids: Awaited<ReturnType<typeof seedFloods>>;
  const from = 'Madad <madad@example.org>';
  const as = async (username: string, now = NOW): Promise<Ctx> => {
    const [row] = await db.db.select().from(users).where(sql`${users.username} = ${username}`);
    return { db: db.db, actor: userPrincipal(row!), now };
  };
  const person = (username: string, roles: ('program_manager' | 'finance_officer')[], email?: string) =>
    createUser(setupCtx(db.db), { username, displayName: username[0]!.toUpperCase() + username.slice(1), password: TEST_PASSWORD, roles, agency: 'BISP', jurisdiction: 'PK', ...(email ? { email } : {}) });
  const rows = () => queryRows<{ username: string; reason: string; sent_at: unknown; error: string | null }>(db.db as Db, sql`select username, reason, sent_at, error from notifications order by username, reason`);

  beforeAll(async () => {
    db = await createTestDatabase('pglite');
    smtp = await smtpServer();
    ids = await seedFloods(db);
    await person('amina', ['program_manager'], 'amina@bisp.example');
    await person('bilal', ['program_manager'], 'bilal@bisp.example');
    await person('farah', ['finance_officer'], 'farah@bisp.example');
    await person('nomail', ['program_manager']);
    const gone = await person('gone', ['program_manager'], 'gone@bisp.example');
    await disableUser(setupCtx(db.db), gone.id);
    await submitBatch(await as('amina'), { id: ids.federal });
  }, 180_000);
  afterAll(async () => {
    await smtp?.close();
    await db?.drop();
  });

  it('keeps a failed send and tries it again later, mailing it once', async () => {
    const down = await notifyOfficials(setupCtx(db.db, at(1)), { smtpUrl: `smtp://127.0.0.1:${await closedPort()}`, from });
    expect(down).toMatchObject({ users: 3, waiting: 1, sent: 0, failed: 1 });
    expect((await rows()).map((r) => [r.username, r.reason, r.sent_at, r.error !== null])).toEqual([['bilal', `batch:${ids.federal}:approve:round 1`, null, true]]);
  });

  it('mails the programme manager who may sign, not the submitter, the disabled or those without an email', async () => {
    const report = await notifyOfficials(setupCtx(db.db, at(2)), { smtpUrl: smtp.url, from, baseUrl: 'https://madad.example.org/' });
    expect(report).toMatchObject({ users: 3, waiting: 1, sent: 1, failed: 0 });
    expect(smtp.received).toHaveLength(1);
    const [mail] = smtp.received;
    expect(mail!.to).toEqual(['bilal@bisp.example']);
    expect(header(mail!.raw, 'To')).toBe('bilal@bisp.example');
    expect(header(mail!.raw, 'Subject')).toBe(`Madad: batch ${ids.federal.slice(0, 8)} waits for your approval (${ids.rules.federal}, BISP)`);
    const text = plain(mail!.raw);
    expect(text).toContain('Dear Bilal,');
    expect(text).toContain(`Batch: ${ids.federal}`);
    expect(text).toContain('Amount: PKR 150,000');
    expect(text).toContain(`Open it in Madad: https://madad.example.org/batches/${ids.federal}`);
    expect((await rows()).map((r) => [r.username, r.sent_at !== null, r.error])).toEqual([['bilal', true, null]]);
  });

  it('never mails one thing twice, and mails the finance officer once the batch is approved', async () => {
    expect(await notifyOfficials(setupCtx(db.db, at(3)), { smtpUrl: smtp.url, from })).toMatchObject({ sent: 0, failed: 0, waiting: 1 });
    expect(smtp.received).toHaveLength(1);
    await approveBatch(await as('bilal', at(4)), { id: ids.federal, comment: 'checked' });
    expect(await notifyOfficials(setupCtx(db.db, at(5)), { smtpUrl: smtp.url, from })).toMatchObject({ sent: 1, waiting: 1 });
    const mail = smtp.received[1]!;
    expect(mail.to).toEqual(['farah@bisp.example']);
    expect(header(mail.raw, 'Subject')).toBe(`Madad: batch ${ids.federal.slice(0, 8)} is approved and waits for release (${ids.rules.federal}, BISP)`);
    expect(plain(mail.raw)).toContain(`Open it in Madad: /batches/${ids.federal}`);
    expect(await notifyOfficials(setupCtx(db.db, at(6)), { smtpUrl: smtp.url, from })).toMatchObject({ sent: 0 });
    expect(smtp.received).toHaveLength(2);
  });
});

describe('madad messages', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'madad-messages-cli-'));
  const data = path.join(dir, 'data');
  const env = { MADAD_DATA_DIR: data, DATABASE_URL: undefined, MADAD_DEDUP_KEY: TEST_DEDUP_KEY };
  const madad = (...args: string[]) => runCli(args, env);

  beforeAll(async () => {
    const database = await openDatabase({ dataDir: data });
    try {
      await database.migrate();
      const ids = await seedFloods(database);
      const app = testApp(database, { clock: () => NOW });
      const token = async (role: 'program_manager' | 'finance_officer') => (await bearer(database.db, role, 'PK')).authorization;
      const [pm, pm2, finance] = [await token('program_manager'), await token('program_manager'), await token('finance_officer')];
      const post = (who: string, url: string, body?: object) =>
        app.request(url, { method: 'POST', headers: { authorization: who, 'content-type': 'application/json' }, ...(body ? { body: JSON.stringify(body) } : {}) });
      await post(pm, `/api/batches/${ids.federal}/submit`);
      await post(pm2, `/api/batches/${ids.federal}/approve`, { comment: 'checked' });
      await post(finance, `/api/batches/${ids.federal}/release`);
      expect((await post(finance, `/api/batches/${ids.federal}/payment-files`)).status).toBe(200);
    } finally {
      await database.close();
    }
  }, 180_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('lists its commands with --help', async () => {
    const help = await madad('messages', '--help');
    expect(help.code).toBe(0);
    for (const command of ['export', 'status', 'settings']) expect(help.stdout).toMatch(new RegExp(`^  ${command} `, 'm'));
  });

  it('writes the waiting texts to a file for the gateway, then only new ones', async () => {
    const status = await madad('messages', 'status');
    expect(status.stdout).toMatch(/^exported +10 +0$/m);
    const out = path.join(dir, 'sms.csv');
    const first = await madad('messages', 'export', '--out', out);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(new RegExp(`^Exported 10 texts to ${out.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\(export [0-9a-f-]{36}; 5 ur, 5 en\\)\\.$`, 'm'));
    const lines = readFileSync(out, 'utf8').trimEnd().split('\r\n');
    expect(lines[0]).toBe('msisdn,language,body,message_id');
    expect(lines.slice(1).filter((l) => l.includes(',ur,'))).toHaveLength(5);
    expect(lines.slice(1).every((l) => /^923\d{9},(ur|en),.+,[0-9a-f-]{36}$/.test(l))).toBe(true);
    const second = await madad('messages', 'export');
    expect(second.code).toBe(0);
    expect(second.stdout).toBe('msisdn,language,body,message_id\r\n');
    expect(second.stderr).toBe('Exported 0 texts.\n');
    expect((await madad('messages', 'status')).stdout).toMatch(/^exported +0 +10$/m);
  });

  it('shows and changes the settings, refusing a bad one', async () => {
    expect((await madad('messages', 'settings')).stdout).toBe('helpline 0800-26477; collection from 2 days after the file; languages ur, en\n');
    const changed = await madad('messages', 'settings', '--helpline', '0800-11111', '--languages', 'ur');
    expect(changed.stdout).toBe('helpline 0800-11111; collection from 2 days after the file; languages ur\n');
    const wrong = await madad('messages', 'settings', '--helpline', 'call us');
    expect(wrong.code).not.toBe(0);
    expect(wrong.stderr).toContain('helpline: expected a phone number such as 0800-26477');
    const bad = await madad('messages', 'settings', '--languages', 'fr');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('--languages: expected some of ur, en, got "fr"');
    const folder = await madad('messages', 'export', '--out', dir);
    expect(folder.code).toBe(1);
    expect(folder.stderr).toContain(`--out: ${dir} is a folder`);
  });
});
