import type { ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, readdirSync, readFileSync, rmSync, watch, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { approveBatch, submitBatch } from '../../server/batches/approvals.ts';
import { releaseBatch } from '../../server/batches/release.ts';
import { actingAs } from '../../server/cli/batches.ts';
import { fileNameOf } from '../../server/cli/payments.ts';
import { openDatabase, queryRows, type Database } from '../../server/db/client.ts';
import { paymentFiles } from '../../server/db/schema/index.ts';
import { digest, fileText, type FileKind } from '../../server/payments/files.ts';
import type { Channel } from '../../server/payments/layouts.ts';
import { RECONCILIATION_COLUMNS } from '../../server/payments/reconcile.ts';
import { declareFlood, seedAreas, SINDH_DISTRICT } from '../batches/setup.ts';
import { runCli, spawnCli } from '../harness/cli.ts';
import { createTestDatabase, drivers, type TestDatabase } from '../harness/databases.ts';
import { makeHousehold, makeRule, makeUser } from '../harness/factories.ts';

/** Households in the declared tehsil; the federal flood rule pays the poorest 60 %: 15,000 instructions. */
const HOUSEHOLDS = 25_000;

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
const tempDir = () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'madad-payments-crash-'));
  dirs.push(dir);
  return dir;
};

/** Where a driver keeps its data: a PGlite folder, or a PostgreSQL database of the test's own. */
interface Place {
  env: Record<string, string | undefined>;
  open(): Promise<Database>;
  drop(): Promise<void>;
  /**
   * On PostgreSQL, whether another session is writing payment instructions in an open transaction (it holds
   * their table's row-exclusive lock until it commits or rolls back). PGlite serves one process: no probe.
   */
  writing?: (database: Database) => Promise<boolean>;
}

async function placeFor(driver: 'pglite' | 'postgres'): Promise<Place> {
  if (driver === 'pglite') {
    const dir = path.join(tempDir(), 'data');
    return { env: { MADAD_DATA_DIR: dir, DATABASE_URL: undefined }, open: async () => openDatabase({ dataDir: dir }), drop: async () => undefined };
  }
  const db: TestDatabase = await createTestDatabase('postgres');
  const url = new URL(process.env.TEST_DATABASE_URL!);
  url.pathname = new URL(db.location).pathname;
  await db.close();
  return {
    env: { DATABASE_URL: url.toString() },
    open: async () => openDatabase({ url: url.toString(), max: 5 }),
    drop: () => db.drop(),
    writing: async (database) =>
      (
        await queryRows<{ n: number }>(
          database.db,
          sql`select count(*)::int as n from pg_locks l join pg_class c on c.oid = l.relation
              where c.relname = 'payment_instructions' and l.mode = 'RowExclusiveLock' and l.granted and l.pid <> pg_backend_pid()
                and l.database = (select oid from pg_database where datname = current_database())`,
        )
      )[0]!.n > 0,
  };
}

/**
 * Runs `madad ...args` and kills it with SIGKILL once `when` resolves (given the process and what it printed
 * so far). Resolves with whether it was killed before it ended by itself, and what it printed.
 */
async function killedDuring(args: string[], env: Record<string, string | undefined>, when: (child: ChildProcess, printed: () => string) => Promise<void>) {
  const child = spawnCli(args, env);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => (stdout += d));
  child.stderr!.on('data', (d) => (stderr += d));
  const exited = once(child, 'exit');
  const ended = exited.then(() => 'ended' as const);
  const moment = when(child, () => stdout).then(() => 'moment' as const);
  if ((await Promise.race([ended, moment])) === 'moment' && child.exitCode === null) child.kill('SIGKILL');
  const [code, signal] = (await exited) as [number | null, NodeJS.Signals | null];
  return { killed: signal === 'SIGKILL', code, stdout, stderr };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * A moment inside the command's transaction: on PostgreSQL `ms` after it is seen writing instructions; on
 * PGlite `ms` after the command printed `marker`, the line it prints as it begins (its transaction takes
 * over a second for this registry on a 2-core machine, so a short wait lands inside it).
 */
const underWay = (place: Place, marker: RegExp, ms: number) => async (child: ChildProcess, printed: () => string) => {
  while (!marker.test(printed())) {
    if (child.exitCode !== null) return;
    await sleep(5);
  }
  if (place.writing) {
    const probe = await place.open();
    try {
      while (child.exitCode === null && !(await place.writing(probe))) await sleep(2);
    } finally {
      await probe.close();
    }
  }
  await sleep(ms);
};

/** How long after the moment each killed attempt waits: early in the transaction, then later in it (or after). */
const delaysFor = (place: Place) => (place.writing ? [0, 150] : [150, 700]);

/** Resolves once a file whose name matches `pattern` appears in `dir`. */
const appearsIn = (dir: string, pattern: RegExp) => (child: ChildProcess) =>
  new Promise<void>((resolve) => {
    const watcher = watch(dir, (_, name) => {
      if (name && pattern.test(name)) {
        watcher.close();
        resolve();
      }
    });
    child.once('exit', () => watcher.close());
  });

const sha256Of = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

/** What must hold whatever moment an export was killed at: files and their instructions agree, bytes and all. */
async function exportFacts(database: Database, out: string) {
  const [facts] = await queryRows<{ files: number; files_not_whole: number; exported_without_file: number; in_no_registered_file: number; released_in_a_file: number; released: number; exported: number }>(
    database.db,
    sql`select
          (select count(*)::int from payment_files where kind = 'payment') as files,
          (select count(*)::int from payment_files f where f.kind = 'payment' and not exists (
             select 1 from (select count(*)::int as n, coalesce(sum(i.amount_pkr), 0)::bigint as pkr from payment_instructions i where i.file_id = f.id and i.state = 'exported') x
             where x.n = f.count and x.pkr = f.total_pkr)) as files_not_whole,
          (select count(*)::int from payment_instructions where state = 'exported' and file_id is null) as exported_without_file,
          (select count(*)::int from payment_instructions i where i.file_id is not null and not exists (select 1 from payment_files f where f.id = i.file_id)) as in_no_registered_file,
          (select count(*)::int from payment_instructions where state = 'released' and file_id is not null) as released_in_a_file,
          (select count(*)::int from payment_instructions where state = 'released') as released,
          (select count(*)::int from payment_instructions where state = 'exported') as exported`,
  );
  const files = await database.db.select().from(paymentFiles);
  const bytesDiffer: string[] = [];
  for (const f of files) if ((await digest(fileText(database.db, { fileId: f.id, kind: f.kind as FileKind }, f.channel as Channel))) !== f.sha256) bytesDiffer.push(f.id);
  // A file under its own name in the folder is whole and the registered one; a `.partial` may be left over.
  const byName = new Map(files.map((f) => [fileNameOf(f), f.sha256]));
  const onDisk = readdirSync(out).filter((n) => n.endsWith('.csv'));
  const diskDiffers = onDisk.filter((n) => byName.get(n) !== sha256Of(path.join(out, n)));
  return { ...facts!, bytesDiffer, diskDiffers, onDisk };
}

describe.each(drivers)('payments killed with SIGKILL and run again on the same data, on %s', (driver) => {
  let place: Place;
  let batchId: string;
  let lines: number;
  const out = tempDir();

  beforeAll(async () => {
    place = await placeFor(driver);
    const database = await place.open();
    try {
      await database.migrate();
      await seedAreas(database.db);
      await makeRule(database.db, { from: 'flood-relief-2022', change: (y) => y.replace(/^valid_to: .*$/m, '') });
      for (const [username, role] of [
        ['amina', 'program_manager'],
        ['bilal', 'program_manager'],
        ['farah', 'finance_officer'],
      ] as const)
        await makeUser(database.db, { username, roles: [role], jurisdiction: 'PK', agency: 'BISP' });
      // Most are paid cash against their CNIC; one in ten has a bank account, one in ten a wallet.
      const [w, s, e, n] = SINDH_DISTRICT.box;
      await makeHousehold(
        database,
        Array.from({ length: HOUSEHOLDS }, (_, i) => ({
          lat: s + ((n - s) * ((i % 157) + 0.5)) / 157,
          lon: w + ((e - w) * ((Math.floor(i / 157) % 157) + 0.5)) / 157,
          pmt: (i % 10_000) / 100,
          columns: i % 10 === 1 ? { payment_channel: 'bank', payment_account: `PK36SCBL${String(i).padStart(16, '0')}` } : i % 10 === 2 ? { payment_channel: 'mobile_wallet', payment_account: `03${String(i).padStart(9, '0')}` } : {},
        })),
      );
      await declareFlood(database.db);
      const [b] = await queryRows<{ id: string; line_count: number }>(database.db, sql`select id, line_count from batches`);
      batchId = b!.id;
      lines = b!.line_count;
      await submitBatch(await actingAs(database, 'amina'), { id: batchId });
      await approveBatch(await actingAs(database, 'bilal'), { id: batchId, comment: 'checked' });
      await releaseBatch(await actingAs(database, 'farah'), { id: batchId });
    } finally {
      await database.close();
    }
    expect(lines).toBe(HOUSEHOLDS * 0.6);
  }, 300_000);
  afterAll(() => place?.drop());

  const exportArgs = () => ['payments', 'export', batchId, '--as', 'farah', '--out', out];

  it('an export killed while it makes the files, and again while it writes them, leaves files and instructions agreeing, then completes', { timeout: 180_000 }, async () => {
    /** What must hold whatever the moment of the kill: files and instructions agree, and every byte with them. */
    const agreeing = async () => {
      const database = await place.open();
      try {
        const facts = await exportFacts(database, out);
        expect(facts).toMatchObject({ files_not_whole: 0, exported_without_file: 0, in_no_registered_file: 0, released_in_a_file: 0, bytesDiffer: [], diskDiffers: [] });
        // The instructions are made in the same transaction: all of them, or none yet.
        expect([0, lines]).toContain(facts.released + facts.exported);
        expect(facts.files === 0 ? 0 : lines).toBe(facts.exported);
        return facts;
      } finally {
        await database.close();
      }
    };

    // 1. Killed inside the transaction that registers the files and marks their instructions exported: early
    // in it, then later (or, on a fast machine, once it committed and writes the files).
    const [early, later] = delaysFor(place);
    const first = await killedDuring(exportArgs(), place.env, underWay(place, /^Making the payment files/m, early!));
    expect(first.killed, `the export ended before it was killed: ${first.stdout}${first.stderr}`).toBe(true);
    await agreeing();
    const second = await killedDuring(exportArgs(), place.env, underWay(place, /^Making the payment files/m, later!));
    await agreeing();

    // 2. Killed once it writes the first file's bytes (the files are registered by then).
    if (second.killed) {
      const third = await killedDuring(exportArgs(), place.env, appearsIn(out, /\.partial$/));
      expect(third.killed, `the export ended before it was killed: ${third.stdout}${third.stderr}`).toBe(true);
      const facts = await agreeing();
      expect(facts).toMatchObject({ files: 3, released: 0, exported: lines });
      expect(facts.onDisk.length, 'not every file was written before the kill').toBeLessThan(3);
    }

    // 3. Run again: it makes nothing new and writes what is missing, each file checked against its manifest.
    const last = await runCli(exportArgs(), place.env);
    expect(last.stderr).toBe('');
    expect(last.code).toBe(0);
    expect(last.stdout).toContain(`Nothing new: every instruction of batch ${batchId} was in a file already.`);
    const facts = await agreeing();
    expect(facts).toMatchObject({ files: 3, released: 0, exported: lines });
    expect(facts.onDisk).toHaveLength(3);
    for (const csv of facts.onDisk) expect(JSON.parse(readFileSync(path.join(out, csv.replace('.csv', '.manifest.json')), 'utf8')).sha256).toBe(sha256Of(path.join(out, csv)));
  });

  it('a reconciliation killed while it applies is applied whole or not at all, then completes', { timeout: 180_000 }, async () => {
    // The bank's answer to the cash file: most paid, some paid in part, some failed or not collected.
    const cash = readdirSync(out).find((n) => n.startsWith('madad-payment-biometric_cash-') && n.endsWith('.csv'))!;
    const manifest = JSON.parse(readFileSync(path.join(out, cash.replace('.csv', '.manifest.json')), 'utf8')) as { id: string; count: number };
    const ids = readFileSync(path.join(out, cash), 'utf8').trimEnd().split('\r\n').slice(1, -1).map((l) => l.split(',')[0]!);
    expect(ids).toHaveLength(manifest.count);
    const answer = ids.map((id, i) =>
      i % 20 === 0 ? { id, status: 'failed', paid: 0 } : i % 20 === 1 ? { id, status: 'unclaimed', paid: 0 } : { id, status: 'paid', paid: i % 20 === 2 ? 20_000 : 25_000 },
    );
    const file = path.join(tempDir(), 'cash-answer.csv');
    writeFileSync(
      file,
      [RECONCILIATION_COLUMNS.join(','), ...answer.map((a) => `${a.id},${a.status},${a.paid},${a.status === 'paid' ? '2026-09-02T14:30:00+05:00' : ''},${a.status === 'paid' ? `JC-${a.id.slice(-9)}` : ''},`)].join('\r\n'),
    );
    const args = ['payments', 'reconcile', file, '--file', manifest.id, '--as', 'farah'];
    const expected = new Map(answer.map((a) => [a.id, `${a.status}:${a.paid || ''}`]));

    /** How many instructions of the file are as the answer says, and how many still as exported, with no answer. */
    const applied = async () => {
      const database = await place.open();
      try {
        const rows = await queryRows<{ id: string; state: string; paid_pkr: number | null }>(database.db, sql`select id, state, paid_pkr from payment_instructions where file_id = ${manifest.id}::uuid`);
        const [r] = await queryRows<{ reconciliations: number; audited: number }>(
          database.db,
          sql`select (select count(*)::int from reconciliations where file_id = ${manifest.id}::uuid) as reconciliations,
                     (select count(*)::int from audit_log where action = 'payments.reconciled' and subject = ${`payment-file:${manifest.id}`}) as audited`,
        );
        return {
          ...r!,
          asAnswered: rows.filter((x) => expected.get(x.id) === `${x.state}:${x.paid_pkr ?? ''}`).length,
          untouched: rows.filter((x) => x.state === 'exported' && x.paid_pkr === null).length,
        };
      } finally {
        await database.close();
      }
    };
    const n = answer.length;

    // Killed early in its transaction, then later (or, on a fast machine, after it committed): each time it is
    // applied whole (its row, its audit entry and every answer) or not at all.
    let after = { reconciliations: 0 };
    for (const [attempt, ms] of delaysFor(place).entries()) {
      if (after.reconciliations > 0) break;
      const killed = await killedDuring(args, place.env, underWay(place, /^Applying cash-answer\.csv/m, ms));
      if (attempt === 0) expect(killed.killed, `the reconciliation ended before it was killed: ${killed.stdout}${killed.stderr}`).toBe(true);
      after = await applied();
      expect([
        { reconciliations: 0, audited: 0, asAnswered: 0, untouched: n },
        { reconciliations: 1, audited: 1, asAnswered: n, untouched: 0 },
      ]).toContainEqual(after);
    }

    const again = await runCli(args, place.env);
    expect(again.stderr).toBe('');
    expect(again.code).toBe(0);
    expect(again.stdout).toContain(after.reconciliations === 0 ? `Applied cash-answer.csv to ${cash}` : 'Already applied');
    const moved = (status: string) => `${status} ${answer.filter((a) => a.status === status).length.toLocaleString('en')}`;
    expect(again.stdout).toContain(`  moved        ${['failed', 'unclaimed', 'paid'].map(moved).join(', ')}\n`);
    expect(await applied()).toEqual({ reconciliations: 1, audited: 1, asAnswered: n, untouched: 0 });

    // The audit chain survived both kills.
    const verify = await runCli(['audit', 'verify'], place.env);
    expect(verify.stderr).toBe('');
    expect(verify.code).toBe(0);
  });
});
