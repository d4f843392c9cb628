import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, queryRows } from '../../server/db/client.ts';
import { disableUser } from '../../server/users/service.ts';
import { declareFlood, loadFloodRules, seedAreas, seedFloodRegistry } from '../batches/setup.ts';
import { TEST_DEDUP_KEY } from '../harness/app.ts';
import { runCli } from '../harness/cli.ts';
import type { Role } from '../../server/access/roles.ts';
import { makeUser, setupCtx } from '../harness/factories.ts';

/**
 * `madad batches` and `madad budgets` on one embedded data folder: a Sindh flood declared over the test
 * registry (the federal BISP rule and the Sindh Kafaalat top-up) is seeded in-process, then every step is a
 * `madad` process, as an operator would run it, acting for named officers with --as.
 */
describe('madad batches and madad budgets', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'madad-batches-cli-'));
  const env = { MADAD_DATA_DIR: dir, DATABASE_URL: undefined, MADAD_DEDUP_KEY: TEST_DEDUP_KEY };
  const madad = (...args: string[]) => runCli(args, env);
  const open = () => openDatabase({ dataDir: dir });
  let rules: { federal: string; sindh: string };
  let batchOf: Record<'federal' | 'sindh', { id: string; activationId: string; linesSha256: string }>;

  beforeAll(async () => {
    const database = await open();
    try {
      await database.migrate();
      await seedAreas(database.db);
      await seedFloodRegistry(database);
      rules = await loadFloodRules(database.db);
      const officer = (username: string, roles: Role[], jurisdiction: string, agency: string) =>
        makeUser(database.db, { username, roles, jurisdiction, agency });
      await officer('amina', ['program_manager'], 'PK', 'BISP');
      await officer('bilal', ['program_manager'], 'PK', 'BISP');
      await officer('farah', ['finance_officer'], 'PK', 'BISP');
      await officer('sana', ['program_manager'], 'PK7', 'SSPA');
      await officer('rashid', ['responder'], 'PK7', 'PDMA Sindh');
      const gone = await officer('gone', ['program_manager'], 'PK', 'BISP');
      await disableUser(setupCtx(database.db), gone.id);
      await declareFlood(database.db);
      const rows = await queryRows<{ id: string; rule_id: string; activation_id: string; lines_sha256: string }>(
        database.db,
        sql`select id, rule_id, activation_id, lines_sha256 from batches`,
      );
      const of = (rule: string) => {
        const b = rows.find((r) => r.rule_id === rule)!;
        return { id: b.id, activationId: b.activation_id, linesSha256: b.lines_sha256 };
      };
      batchOf = { federal: of(rules.federal), sindh: of(rules.sindh) };
    } finally {
      await database.close();
    }
  }, 180_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('lists the commands of both groups with --help, and says what --as means', async () => {
    const [batches, budgets, approve] = await Promise.all([madad('batches', '--help'), madad('budgets', '--help'), madad('batches', 'approve', '--help')]);
    expect(batches.code).toBe(0);
    for (const command of ['list', 'show', 'build', 'rebuild', 'submit', 'approve', 'reject', 'cancel', 'release']) expect(batches.stdout).toMatch(new RegExp(`^  ${command} `, 'm'));
    expect(batches.stdout).toMatch(/--as <username>: the\s+officer on whose behalf you act/);
    expect(batches.stdout).toMatch(/audit trail records them as the actor/);
    expect(budgets.code).toBe(0);
    for (const command of ['list', 'amend']) expect(budgets.stdout).toMatch(new RegExp(`^  ${command} `, 'm'));
    expect(approve.stdout).toMatch(/--as <username> +the officer \(a Madad username\) on whose behalf you act/);
    expect(approve.stdout).toContain('--sha256 <hex>');
  });

  it('lists the batches the flood built, as a table a person reads', async () => {
    const res = await madad('batches', 'list');
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    const [header, ...rows] = res.stdout.trim().split('\n');
    expect(header).toMatch(/^id +rule +programme +status +lines +total PKR +built at$/);
    expect(rows).toHaveLength(2);
    expect(rows.find((r) => r.startsWith(batchOf.federal.id))).toMatch(new RegExp(`${rules.federal} v1 +BISP +draft +6 +150,000 +2026-08-26T`));
    expect(rows.find((r) => r.startsWith(batchOf.sindh.id))).toMatch(new RegExp(`${rules.sindh} v0\\.1 +SSPA +draft +4 +20,000 +2026-08-26T`));

    const sindhOnly = await madad('batches', 'list', '--activation', batchOf.sindh.activationId);
    expect(sindhOnly.stdout.trim().split('\n').slice(1).map((r) => r.split(' ')[0])).toEqual([batchOf.sindh.id]);
  });

  it('refuses bad arguments with a message naming them', async () => {
    // None of these opens the database, so they run side by side.
    const [status, id, comment, sha, ceiling, missing] = await Promise.all([
      madad('batches', 'list', '--status', 'paid'),
      madad('batches', 'show', 'last-one'),
      madad('batches', 'approve', batchOf.federal.id, '--comment', ' ', '--as', 'bilal'),
      madad('batches', 'approve', batchOf.federal.id, '--comment', 'fine', '--sha256', 'abc', '--as', 'bilal'),
      madad('budgets', 'amend', batchOf.federal.id, '--ceiling', '1.5e9', '--reason', 'more', '--reference', 'x', '--as', 'farah'),
      madad('batches', 'submit', batchOf.federal.id),
    ]);
    expect(status.code).toBe(1);
    expect(status.stderr).toContain('--status: expected one of prepared, draft, submitted, approved, partly_released, released, cancelled, got "paid"');
    expect(id.code).toBe(1);
    expect(id.stderr).toContain('expected a batch id (a UUID');
    expect(comment.code).toBe(1);
    expect(comment.stderr).toContain('--comment: comment needs at least 3 characters');
    expect(sha.code).toBe(1);
    expect(sha.stderr).toContain('--sha256: linesSha256 is the 64 hex digits shown on the batch');
    expect(ceiling.code).toBe(1);
    expect(ceiling.stderr).toContain('--ceiling: expected whole rupees such as 80000000000 or 80,000,000,000, got "1.5e9"');
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toContain("required option '--as <username>' not specified");
  });

  it('shows a batch: rule, incident, hash, what was netted off and who holds it, totals and budget', async () => {
    const res = await madad('batches', 'show', batchOf.sindh.id);
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    const text = res.stdout;
    expect(text).toContain(`Batch ${batchOf.sindh.id}: SSPA payment, draft`);
    expect(text).toMatch(new RegExp(`rule +${rules.sindh} version 0\\.1 `));
    expect(text).toMatch(/incident +event:[0-9a-f-]{36}/);
    expect(text).toContain(`lines sha256 ${batchOf.sindh.linesSha256}`);
    expect(text).toMatch(/lines +4 lines, PKR 20,000 to pay/);
    expect(text).toContain('netted: none');
    expect(text).toContain('dropped: 2 lines (PKR 20,000 requested), paid in full already by others');
    expect(text).toContain('held by others: BISP 2 households, PKR 50,000');
    expect(text).toMatch(/ceiling: nothing cut/);
    // Exact counts: whoever runs the CLI reaches the database itself, so small-cell protection would hide nothing.
    expect(text).toMatch(/^  district +households +amount PKR +netted +dropped +cancelled\n  PK799 +2 +20,000 +0 +2 +0$/m);
    expect(text).toMatch(/^  SSPA \(PK7\) +PK7 +2 +20,000 +not yet +5,000,000,000 +20,000 +0 +4,999,980,000$/m);
    expect(text).toContain('Approval steps: none yet');

    const json = await madad('batches', 'show', batchOf.sindh.id, '--json');
    expect(json.code).toBe(0);
    const b = JSON.parse(json.stdout);
    expect(b).toMatchObject({ id: batchOf.sindh.id, status: 'draft', lineCount: 4, totalPkr: 20_000, linesSha256: batchOf.sindh.linesSha256 });
    expect(b.figures.heldByOthers).toEqual({ BISP: { households: 2, pkr: 50_000 } });
    expect(b.payers[0].budget).toMatchObject({ ceilingPkr: 5_000_000_000, headroomPkr: 5_000_000_000 - 20_000 });
  });

  it('keeps maker and checker apart: the submitter cannot approve; another manager approves, finance releases', async () => {
    const id = batchOf.federal.id;
    const submitted = await madad('batches', 'submit', id, '--as', 'amina');
    expect(submitted.stderr).toBe('');
    expect(submitted.code).toBe(0);
    expect(submitted.stdout).toContain(`Submitted batch ${id} for approval (round 1, PKR 150,000) as user:amina.`);
    expect(submitted.stdout).toMatch(/waits for a program_manager of PK \(due \d{4}-/);

    const own = await madad('batches', 'approve', id, '--comment', 'looks right to me', '--as', 'amina');
    expect(own.code).not.toBe(0);
    expect(own.stderr).toContain(`madad: not allowed: You submitted batch ${id}; another programme manager must approve it (maker-checker).`);

    const [stale, responder, disabled, nobody] = [
      await madad('batches', 'approve', id, '--comment', 'checked', '--sha256', '0'.repeat(64), '--as', 'bilal'),
      await madad('batches', 'approve', id, '--comment', 'checked', '--as', 'rashid'),
      await madad('batches', 'approve', id, '--comment', 'checked', '--as', 'gone'),
      await madad('batches', 'approve', id, '--comment', 'checked', '--as', 'zubair'),
    ];
    expect(stale.code).not.toBe(0);
    expect(stale.stderr).toContain('refused: The lines changed since you read them');
    expect(responder.code).not.toBe(0);
    expect(responder.stderr).toContain('not allowed: rashid is responder of PK7; this needs a program_manager or a finance_officer.');
    expect(disabled.stderr).toMatch(/--as: gone was disabled on .* and may not act/);
    expect(nobody.stderr).toContain('--as: no Madad user named "zubair"');

    const approved = await madad('batches', 'approve', id, '--comment', 'checked against the tehsil list', '--sha256', batchOf.federal.linesSha256, '--as', 'bilal');
    expect(approved.stderr).toBe('');
    expect(approved.code).toBe(0);
    expect(approved.stdout).toContain(`Signed batch ${id} as user:bilal.`);
    expect(approved.stdout).toContain('approved: waits for release by a finance officer of PK');

    const released = await madad('batches', 'release', id, '--as', 'farah');
    expect(released.stderr).toBe('');
    expect(released.code).toBe(0);
    expect(released.stdout).toContain(`Released the BISP share, PKR 150,000, of batch ${id} as user:farah.`);

    const shown = await madad('batches', 'show', id);
    expect(shown.stdout).toContain(`Batch ${id}: BISP payment, released`);
    expect(shown.stdout).toMatch(/lines +6 lines, PKR 150,000 released/);
    expect(shown.stdout).toContain('cut-off in PK79901: poorest 60 % of 10 households, PMT at or under 60 (6 households)');
    expect(shown.stdout).toMatch(/submitted +\S+ by user:amina \(round 1\)/);
    expect(shown.stdout).toMatch(/^  1 +program_manager of PK +\S+ +user:bilal at \S+ +checked against the tehsil list$/m);
    expect(shown.stdout).toMatch(/^  BISP \(federal\) +PK +6 +150,000 +150,000 by user:farah at \S+ +70,000,000,000 +0 +150,000 +69,999,850,000$/m);
  });

  it('lists budget lines, refuses a ceiling below what is released, and amends with a reference', async () => {
    const list = await madad('budgets', 'list');
    expect(list.code).toBe(0);
    const line = list.stdout.split('\n').find((l) => l.includes(rules.federal))!;
    expect(line).toMatch(/BISP +BISP \(federal\) +70,000,000,000 +0 +150,000 +69,999,850,000 +0$/);
    const lineId = line.split(/ +/)[0]!;

    const below = await madad('budgets', 'amend', lineId, '--ceiling', '100,000', '--reason', 'cut back', '--reference', 'F.1(2)/2026', '--as', 'farah');
    expect(below.code).not.toBe(0);
    expect(below.stderr).toContain('refused: The ceiling cannot go below what is already released (PKR 150,000); PKR 100,000 was asked.');
    const notFinance = await madad('budgets', 'amend', lineId, '--ceiling', '80000000000', '--reason', 'second tranche', '--reference', 'ECC-2026-14', '--as', 'bilal');
    expect(notFinance.code).not.toBe(0);
    expect(notFinance.stderr).toContain('not allowed: bilal is program_manager of PK; this needs a finance_officer.');

    const raised = await madad('budgets', 'amend', lineId, '--ceiling', '80,000,000,000', '--reason', 'second tranche', '--reference', 'ECC-2026-14', '--as', 'farah');
    expect(raised.stderr).toBe('');
    expect(raised.code).toBe(0);
    expect(raised.stdout).toContain(`ceiling PKR 70,000,000,000 -> PKR 80,000,000,000 (reference ECC-2026-14)`);
    expect((await madad('budgets', 'list')).stdout).toMatch(/80,000,000,000 +0 +150,000 +79,999,850,000 +1\n/);
  });

  it('cancels a draft, builds its activation again by hand, refuses a second build and rebuilds the draft', async () => {
    const cancelled = await madad('batches', 'cancel', batchOf.sindh.id, '--reason', 'wrong tehsil list', '--as', 'sana');
    expect(cancelled.stderr).toBe('');
    expect(cancelled.stdout).toContain(`Cancelled batch ${batchOf.sindh.id} as user:sana.\n${batchOf.sindh.id}: cancelled (wrong tehsil list).`);

    const built = await madad('batches', 'build', batchOf.sindh.activationId, '--as', 'sana');
    expect(built.stderr).not.toContain('madad:');
    expect(built.code).toBe(0);
    const m = /Built batch ([0-9a-f-]{36}) \(draft\) for activation \S+ as user:sana: 4 lines, PKR 20,000, sha256 ([0-9a-f]{64})\./.exec(built.stdout);
    expect(m).not.toBeNull();
    expect(m![1]).not.toBe(batchOf.sindh.id);

    const again = await madad('batches', 'build', batchOf.sindh.activationId, '--as', 'sana');
    expect(again.code).not.toBe(0);
    expect(again.stderr).toContain(`refused: Activation ${batchOf.sindh.activationId} already has batch ${m![1]} (draft)`);

    const rebuilt = await madad('batches', 'rebuild', m![1]!, '--as', 'sana');
    expect(rebuilt.code).toBe(0);
    expect(rebuilt.stdout).toContain(`Rebuilt batch ${m![1]} (build 2) as user:sana: 4 lines, PKR 20,000, sha256 ${m![2]}.`);
  });

  it('names the officer in the audit trail, with the CLI request id', async () => {
    const database = await open();
    try {
      const rows = await queryRows<{ actor: string; action: string; request_id: string }>(
        database.db,
        sql`select actor, action, request_id from audit_log where action in ('batch.submitted', 'batch.approved', 'batch.released', 'budget.amended', 'batch.cancelled', 'batch.built') and request_id like 'cli-%' order by seq`,
      );
      expect(rows.map((r) => [r.action, r.actor])).toEqual([
        ['batch.submitted', 'user:amina'],
        ['batch.approved', 'user:bilal'],
        ['batch.released', 'user:farah'],
        ['budget.amended', 'user:farah'],
        ['batch.cancelled', 'user:sana'],
        ['batch.built', 'user:sana'],
      ]);
    } finally {
      await database.close();
    }
  });
});
