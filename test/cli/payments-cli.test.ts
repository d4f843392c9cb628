import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Role } from '../../server/access/roles.ts';
import { approveBatch, submitBatch } from '../../server/batches/approvals.ts';
import { releaseBatch } from '../../server/batches/release.ts';
import { actingAs } from '../../server/cli/batches.ts';
import { openDatabase, queryRows } from '../../server/db/client.ts';
import { RECONCILIATION_COLUMNS } from '../../server/payments/reconcile.ts';
import { declareFlood, loadFloodRules, seedAreas, seedFloodRegistry } from '../batches/setup.ts';
import { TEST_DEDUP_KEY } from '../harness/app.ts';
import { madadBin, runCli, type CliResult } from '../harness/cli.ts';
import { makeUser } from '../harness/factories.ts';

/** `madad ...args` run from the folder `cwd`, as an operator standing in it would. */
function madadIn(cwd: string, env: Record<string, string | undefined>, ...args: string[]): Promise<CliResult> {
  const merged: Record<string, string | undefined> = { ...process.env, LOG_LEVEL: 'warn', MADAD_DEMO: '0', ...env };
  for (const key of Object.keys(merged)) if (merged[key] === undefined) delete merged[key];
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [madadBin, ...args], { cwd, env: merged as NodeJS.ProcessEnv }, (err, stdout, stderr) => {
      if (err && typeof err.code !== 'number') reject(err);
      else resolve({ code: err ? (err.code as number) : 0, stdout, stderr });
    });
  });
}

const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

/**
 * `madad payments` on one embedded data folder: the Sindh flood of the batch tests is declared over the test
 * registry, and the federal batch (six lines, PKR 150,000: three bank accounts, three wallets) is released
 * in-process by named officers; then every step is a `madad` process, as a finance officer's operator runs it.
 */
describe('madad payments', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'madad-payments-cli-'));
  const data = path.join(dir, 'data');
  const out = path.join(dir, 'out');
  mkdirSync(out);
  const env = { MADAD_DATA_DIR: data, DATABASE_URL: undefined, MADAD_DEDUP_KEY: TEST_DEDUP_KEY };
  const madad = (...args: string[]) => runCli(args, env);
  const open = () => openDatabase({ dataDir: data });
  let eventId: string;
  let batchId: string;
  let sindhBatchId: string;
  const fileIds: Record<'bank_transfer' | 'mobile_wallet', string> = { bank_transfer: '', mobile_wallet: '' };
  const name = (channel: string) => `madad-payment-${channel}-${batchId.slice(0, 8)}-1.csv`;

  beforeAll(async () => {
    const database = await open();
    try {
      await database.migrate();
      await seedAreas(database.db);
      await seedFloodRegistry(database);
      const rules = await loadFloodRules(database.db);
      const officer = (username: string, roles: Role[], jurisdiction: string, agency: string) => makeUser(database.db, { username, roles, jurisdiction, agency });
      await officer('amina', ['program_manager'], 'PK', 'BISP');
      await officer('bilal', ['program_manager'], 'PK', 'BISP');
      await officer('farah', ['finance_officer'], 'PK', 'BISP');
      await officer('saima', ['finance_officer'], 'PK7', 'SSPA');
      eventId = (await declareFlood(database.db)).id;
      const rows = await queryRows<{ id: string; rule_id: string }>(database.db, sql`select id, rule_id from batches`);
      batchId = rows.find((r) => r.rule_id === rules.federal)!.id;
      sindhBatchId = rows.find((r) => r.rule_id === rules.sindh)!.id;
      // Released as a person would release it; the CLI's own verbs for this are tested in batches-cli.
      await submitBatch(await actingAs(database, 'amina'), { id: batchId });
      await approveBatch(await actingAs(database, 'bilal'), { id: batchId, comment: 'checked' });
    } finally {
      await database.close();
    }
  }, 180_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('lists its commands with --help, with the file names, the columns and what --as means', async () => {
    const [group, exporting, reconciling] = await Promise.all([madad('payments', '--help'), madad('payments', 'export', '--help'), madad('payments', 'reconcile', '--help')]);
    expect(group.code).toBe(0);
    for (const command of ['export', 'files', 'reconcile', 'status']) expect(group.stdout).toMatch(new RegExp(`^  ${command} `, 'm'));
    expect(group.stdout).toContain('madad-<kind>-<channel>-<batch id\'s first 8 digits>-<seq>.csv');
    expect(group.stdout).toMatch(/^  mobile_wallet +reference,msisdn,amount_pkr$/m);
    expect(group.stdout).toContain(`columns ${RECONCILIATION_COLUMNS.join(',')}`);
    expect(exporting.stdout).toMatch(/--as <username> +the officer \(a Madad username\) on whose behalf you act/);
    expect(exporting.stdout).toContain('--out <dir>');
    expect(reconciling.stdout).toContain('--file <paymentFileId>');
  });

  it('refuses bad arguments before opening the database, naming them', async () => {
    const notAFolder = path.join(dir, 'plain-file');
    writeFileSync(notAFolder, 'x');
    const empty = path.join(dir, 'empty.csv');
    writeFileSync(empty, '');
    // None of these opens the database, so they run side by side.
    const [id, noFolder, fileAsFolder, missing, emptyFile, badFileId, event, noAs] = await Promise.all([
      madad('payments', 'export', 'batch-7', '--as', 'farah'),
      madad('payments', 'export', batchId, '--as', 'farah', '--out', path.join(dir, 'nowhere')),
      madad('payments', 'export', batchId, '--as', 'farah', '--out', notAFolder),
      madad('payments', 'reconcile', path.join(dir, 'answer.csv'), '--file', batchId, '--as', 'farah'),
      madad('payments', 'reconcile', empty, '--file', batchId, '--as', 'farah'),
      madad('payments', 'reconcile', empty, '--file', 'the-bank-one', '--as', 'farah'),
      madad('payments', 'status', 'flood'),
      madad('payments', 'export', batchId),
    ]);
    expect(id.code).toBe(1);
    expect(id.stderr).toContain('madad: expected a batch id (a UUID such as 0b9f5c1e-…), got "batch-7"');
    expect(noFolder.stderr).toContain(`madad: --out: there is no folder ${path.join(dir, 'nowhere')}`);
    expect(fileAsFolder.stderr).toContain(`--out: ${notAFolder} is not a folder`);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain(`there is no file ${path.join(dir, 'answer.csv')}: give the bank's reconciliation CSV`);
    expect(emptyFile.stderr).toContain(`${empty} is empty: give the bank's reconciliation CSV (instruction_id,status,`);
    expect(badFileId.stderr).toContain('expected a payment file id (a UUID');
    expect(event.stderr).toContain('expected an event id (a UUID');
    expect(noAs.code).not.toBe(0);
    expect(noAs.stderr).toContain("required option '--as <username>' not specified");
    // Nothing was made: the folder holds no database yet either.
    expect(readdirSync(dir).sort()).toEqual(['data', 'empty.csv', 'out', 'plain-file']);
  });

  it('refuses files before release and for anyone but a finance officer of the payer', async () => {
    const early = await madad('payments', 'export', batchId, '--as', 'farah', '--out', out);
    expect(early.code).toBe(1);
    expect(early.stderr).toContain(`madad: refused: Batch ${batchId} is approved: payment files are made once every payer has released its share.`);
    const database = await open();
    try {
      await releaseBatch(await actingAs(database, 'farah'), { id: batchId });
    } finally {
      await database.close();
    }
    const manager = await madad('payments', 'export', batchId, '--as', 'amina', '--out', out);
    expect(manager.code).toBe(1);
    expect(manager.stderr).toContain('madad: not allowed: amina is program_manager of PK; this needs a finance_officer.');
    const sindh = await madad('payments', 'export', batchId, '--as', 'saima', '--out', out);
    expect(sindh.code).toBe(1);
    expect(sindh.stderr).toContain("not allowed: Only a finance officer of the batch's payers (BISP: PK) may make its payment files.");
    expect(readdirSync(out)).toEqual([]);
  });

  it('exports one file per channel with its manifest, each checked against its sha256, and marks them new', async () => {
    const res = await madad('payments', 'export', batchId, '--as', 'farah', '--out', out);
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    const [making, header, ...rows] = res.stdout.trim().split('\n');
    expect(making).toBe(`Making the payment files of batch ${batchId} as user:farah\u2026`);
    expect(header).toMatch(/^file +id +kind +instructions +total PKR +sha256 +status$/);
    expect(rows[0]).toMatch(new RegExp(`^${name('bank_transfer')} +[0-9a-f-]{36} +payment +3 +75,000 +[0-9a-f]{64} +new$`));
    expect(rows[1]).toMatch(new RegExp(`^${name('mobile_wallet')} +[0-9a-f-]{36} +payment +3 +75,000 +[0-9a-f]{64} +new$`));
    expect(rows[2]).toBe(`Made 2 new payment files of batch ${batchId} as user:farah: 6 instructions, PKR 150,000; written to ${out}.`);

    expect(readdirSync(out).sort()).toEqual([
      name('bank_transfer'),
      name('bank_transfer').replace('.csv', '.manifest.json'),
      name('mobile_wallet'),
      name('mobile_wallet').replace('.csv', '.manifest.json'),
    ]);
    for (const channel of ['bank_transfer', 'mobile_wallet'] as const) {
      const csv = path.join(out, name(channel));
      const manifest = JSON.parse(readFileSync(csv.replace('.csv', '.manifest.json'), 'utf8'));
      expect(manifest).toMatchObject({
        file: name(channel),
        batchId,
        kind: 'payment',
        channel,
        seq: 1,
        payers: [{ agency: 'BISP', jurisdiction: 'federal', signedFor: 'PK' }],
        count: 3,
        totalPkr: 75_000,
        madeBy: 'user:farah',
      });
      expect(Object.keys(manifest)).toEqual(['id', 'file', 'batchId', 'kind', 'channel', 'seq', 'payers', 'sha256', 'count', 'totalPkr', 'madeBy', 'madeAt']);
      expect(sha256(csv)).toBe(manifest.sha256);
      expect(rows.find((r) => r.startsWith(name(channel)))).toContain(` ${manifest.id} `);
      fileIds[channel] = manifest.id;
    }
    const wallet = readFileSync(path.join(out, name('mobile_wallet')), 'utf8').split('\r\n');
    expect(wallet[0]).toBe('reference,msisdn,amount_pkr');
    expect(wallet[1]).toMatch(/^MDD[0-9A-F]{10}-00000002-1,0300\d{7},25000$/);
    expect(wallet.at(-2)).toBe('TRAILER,3,75000');
  });

  it('writes nothing again and says nothing is new; into an empty folder it writes the files made before', async () => {
    const before = readdirSync(out).map((f) => [f, statSync(path.join(out, f)).mtimeMs]);
    const again = await madad('payments', 'export', batchId, '--as', 'farah', '--out', out);
    expect(again.stderr).toBe('');
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(new RegExp(`^${name('bank_transfer')} .* in folder$`, 'm'));
    expect(again.stdout).toContain(`Nothing new: every instruction of batch ${batchId} was in a file already.`);
    expect(again.stdout).not.toContain('Made ');
    expect(readdirSync(out).map((f) => [f, statSync(path.join(out, f)).mtimeMs])).toEqual(before);

    const elsewhere = path.join(dir, 'copy');
    mkdirSync(elsewhere);
    // Without --out, into the current folder.
    const copy = await madadIn(elsewhere, env, 'payments', 'export', batchId, '--as', 'farah');
    expect(copy.code).toBe(0);
    expect(copy.stdout).toMatch(new RegExp(`^${name('mobile_wallet')} .* written$`, 'm'));
    expect(copy.stdout).toContain(`Wrote 2 files made before and missing from ${elsewhere}.`);
    for (const channel of ['bank_transfer', 'mobile_wallet']) expect(readFileSync(path.join(elsewhere, name(channel)))).toEqual(readFileSync(path.join(out, name(channel))));
  });

  it('fails loudly when a file in the folder is not the one made, and overwrites nothing', async () => {
    const changed = path.join(dir, 'changed');
    mkdirSync(changed);
    const forged = readFileSync(path.join(out, name('mobile_wallet')), 'utf8').replace('03001000001', '03009999999');
    writeFileSync(path.join(changed, name('mobile_wallet')), forged);
    const res = await madad('payments', 'export', batchId, '--as', 'farah', '--out', changed);
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(new RegExp(`madad: ${path.join(changed, name('mobile_wallet'))} is already there, but its sha256 is [0-9a-f]{64} and the manifest of payment file ${fileIds.mobile_wallet} says [0-9a-f]{64}: it is not the file that was made`));
    expect(readFileSync(path.join(changed, name('mobile_wallet')), 'utf8')).toBe(forged);
    // The bank file, written before the wallet file was checked, is whole and the one made.
    expect(readFileSync(path.join(changed, name('bank_transfer')))).toEqual(readFileSync(path.join(out, name('bank_transfer'))));
  });

  it('fails loudly, keeping no file, when the bytes written are not those of the manifest', async () => {
    const database = await open();
    // What a file is written from changed behind the server's back (the frozen-lines trigger is bypassed).
    const rename = (from: string, to: string) =>
      database.db.transaction(async (tx) => {
        await tx.execute(sql`set local session_replication_role = replica`);
        await tx.execute(sql`update batch_lines set head_name = ${to} where batch_id = ${batchId}::uuid and head_name = ${from}`);
      });
    await rename('Head S1', 'Somebody Else');
    await database.close();
    try {
      const fresh = path.join(dir, 'fresh');
      mkdirSync(fresh);
      const res = await madad('payments', 'export', batchId, '--as', 'farah', '--out', fresh);
      expect(res.code).toBe(1);
      expect(res.stderr).toMatch(
        new RegExp(`madad: the bytes written for ${name('bank_transfer')} have sha256 [0-9a-f]{64}, but the manifest of payment file ${fileIds.bank_transfer} says [0-9a-f]{64}\\. The file was NOT kept`),
      );
      expect(readdirSync(fresh)).toEqual([]);
    } finally {
      const restore = await open();
      await restore.db.transaction(async (tx) => {
        await tx.execute(sql`set local session_replication_role = replica`);
        await tx.execute(sql`update batch_lines set head_name = 'Head S1' where batch_id = ${batchId}::uuid and head_name = 'Somebody Else'`);
      });
      await restore.close();
    }
  });

  it('lists the files of a batch with their manifests', async () => {
    const res = await madad('payments', 'files', batchId);
    expect(res.stderr).toBe('');
    const [header, ...rows] = res.stdout.trim().split('\n');
    expect(header).toMatch(/^file +id +kind +channel +instructions +total PKR +sha256 +made by +made at$/);
    expect(rows).toHaveLength(2);
    expect(rows[0]).toMatch(new RegExp(`^${name('bank_transfer')} +${fileIds.bank_transfer} +payment +bank_transfer +3 +75,000 +[0-9a-f]{64} +user:farah +20`));
    const json = JSON.parse((await madad('payments', 'files', batchId, '--json')).stdout);
    expect(json).toEqual([
      JSON.parse(readFileSync(path.join(out, name('bank_transfer').replace('.csv', '.manifest.json')), 'utf8')),
      JSON.parse(readFileSync(path.join(out, name('mobile_wallet').replace('.csv', '.manifest.json')), 'utf8')),
    ]);
    expect((await madad('payments', 'files', sindhBatchId)).stdout).toBe(`Batch ${sindhBatchId} has no payment file yet (madad payments export ${sindhBatchId} --as <finance officer>).\n`);
    const unknown = await madad('payments', 'files', '00000000-0000-4000-8000-000000000000');
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('madad: not found: No batch 00000000-0000-4000-8000-000000000000.');
  });

  it('refuses a wrong answer row by row and column by column, applying nothing; applies a good one once', async () => {
    const ids = readFileSync(path.join(out, name('mobile_wallet')), 'utf8').trimEnd().split('\r\n').slice(1, -1).map((l) => l.split(',')[0]);
    const header = RECONCILIATION_COLUMNS.join(',');
    const bad = path.join(dir, 'bad-answer.csv');
    writeFileSync(bad, [header, `${ids[0]},paid,30000,2026-09-02T14:30:00+05:00,JC-1,`, `${ids[1]},paid,25000,yesterday,JC-2,`, 'MDD0000000000-00000099-1,failed,0,,,'].join('\r\n'));
    const refused = await madad('payments', 'reconcile', bad, '--file', fileIds.mobile_wallet, '--as', 'farah');
    expect(refused.code).toBe(1);
    expect(refused.stdout).toBe(`Applying bad-answer.csv to ${name('mobile_wallet')} as user:farah\u2026\n`);
    expect(refused.stderr.trim().split('\n')).toEqual([
      'madad: The reconciliation file has 3 problems; nothing was applied.',
      'row 3, column paid_at: expected an ISO 8601 time with its offset, e.g. 2026-09-02T14:30:00+05:00, found "yesterday"',
      "row 2, column amount_paid_pkr: 30000 is more than the instruction's PKR 25000",
      'row 4, column instruction_id: no instruction MDD0000000000-00000099-1',
    ]);
    expect((await madad('payments', 'status', eventId)).stdout).toMatch(/^  exported +6 +150,000$/m);

    const good = path.join(dir, 'bank-answer.csv');
    writeFileSync(good, [header, `${ids[0]},paid,25000,2026-09-02T14:30:00+05:00,JC-1,`, `${ids[1]},paid,20000,2026-09-02T15:00:00+05:00,JC-2,`, `${ids[2]},unclaimed,0,,,not collected in 30 days`].join('\r\n'));
    const applied = await madad('payments', 'reconcile', good, '--file', fileIds.mobile_wallet, '--as', 'farah');
    expect(applied.stderr).toBe('');
    expect(applied.code).toBe(0);
    expect(applied.stdout).toBe(
      [
        `Applying bank-answer.csv to ${name('mobile_wallet')} as user:farah\u2026`,
        `Applied bank-answer.csv to ${name('mobile_wallet')} (payment file ${fileIds.mobile_wallet}): 3 rows.`,
        '  moved        paid 2, unclaimed 1',
        '  unchanged    0 rows (already so)',
        '  paid         PKR 45,000',
        '  partial      1 instruction paid less than instructed, PKR 5,000 still owed',
        '  outstanding  0 instructions (PKR 0) of the file with no answer yet',
        '',
      ].join('\n'),
    );
    const twice = await madad('payments', 'reconcile', good, '--file', fileIds.mobile_wallet, '--as', 'farah');
    expect(twice.code).toBe(0);
    expect(twice.stdout).toMatch(new RegExp(`^Applying .*\n^Already applied: this very answer \\(sha256 [0-9a-f]{64}\\) was applied to ${name('mobile_wallet')} before; nothing changed now\\. What it did then:\n  moved        paid 2, unclaimed 1\n`, 'm'));

    const manager = await madad('payments', 'reconcile', good, '--file', fileIds.mobile_wallet, '--as', 'amina');
    expect(manager.stderr).toContain('madad: not allowed: amina is program_manager of PK; this needs a finance_officer.');
    const unknown = await madad('payments', 'reconcile', good, '--file', '00000000-0000-4000-8000-000000000000', '--as', 'farah');
    expect(unknown.stderr).toContain('madad: not found: No payment file 00000000-0000-4000-8000-000000000000.');
  });

  it('shows the event\u2019s money by state, programme, district and channel, with exact counts', async () => {
    const res = await madad('payments', 'status', eventId);
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    const text = res.stdout;
    expect(text).toMatch(new RegExp(`^Money of event ${eventId} \\(incident event:${eventId}\\), jurisdiction PK, by state:$`, 'm'));
    // The Sindh draft's two lines are reserved; the federal batch's six are in files, two paid and one unclaimed.
    for (const [state, households, pkr] of [
      ['reserved', 2, '20,000'],
      ['released', 0, '0'],
      ['exported', 3, '75,000'],
      ['paid', 2, '45,000'],
      ['unclaimed', 1, '25,000'],
      ['cancelled', 0, '0'],
    ] as const)
      expect(text).toMatch(new RegExp(`^  ${state} +${households} +${pkr}$`, 'm'));
    expect(text).toMatch(/^By programme \(households \/ PKR\)\n  programme +reserved +exported +paid +unclaimed\n  BISP +0 +3 \/ 75,000 +2 \/ 45,000 +1 \/ 25,000\n  SSPA +2 \/ 20,000 +0 +0 +0$/m);
    expect(text).toMatch(/^By district \(households \/ PKR\)\n  district +reserved +exported +paid +unclaimed\n  PK799 +2 \/ 20,000 +3 \/ 75,000 +2 \/ 45,000 +1 \/ 25,000$/m);
    expect(text).toMatch(/^  mobile_wallet +0 +0 +2 \/ 45,000 +1 \/ 25,000$/m);
    expect(text).toMatch(/^  not yet issued +2 \/ 20,000 +0 +0 +0$/m);
    const json = JSON.parse((await madad('payments', 'status', eventId, '--json')).stdout);
    expect(json.totals.paid).toEqual({ households: 2, pkr: 45_000 });
    const unknown = await madad('payments', 'status', '00000000-0000-4000-8000-000000000000');
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('madad: not found: No event 00000000-0000-4000-8000-000000000000.');
  });

  it('names the officer in the audit trail, with the CLI request id', async () => {
    const database = await open();
    try {
      const rows = await queryRows<{ actor: string; action: string; n: number }>(
        database.db,
        sql`select actor, action, count(*)::int as n from audit_log where action in ('payments.file_made', 'payments.file_downloaded', 'payments.instructions_issued', 'payments.reconciled') and request_id like 'cli-%' group by 1, 2 order by 2, 1`,
      );
      // Downloads: two files into `out`, two into `copy`, the bank file into `changed`, one refused in `fresh`
      // (audited before its first byte).
      expect(rows).toEqual([
        { actor: 'user:farah', action: 'payments.file_downloaded', n: 6 },
        { actor: 'user:farah', action: 'payments.file_made', n: 2 },
        { actor: 'user:farah', action: 'payments.instructions_issued', n: 1 },
        { actor: 'user:farah', action: 'payments.reconciled', n: 1 },
      ]);
    } finally {
      await database.close();
    }
  });
});
