import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listAudit, recordAuditAlone, verifyAudit } from '../../server/audit/service.ts';
import { systemActor } from '../../server/access/principal.ts';
import { systemCtx } from '../../server/context.ts';
import { openDatabase } from '../../server/db/client.ts';
import { testApp } from '../harness/app.ts';
import { runCli } from '../harness/cli.ts';
import { createTestDatabase, drivers, type TestDatabase } from '../harness/databases.ts';
import { bearer, makeUser } from '../harness/factories.ts';

describe.each(drivers)('audit trail on %s', (driver) => {
  let db: TestDatabase;
  let app: ReturnType<typeof testApp>;
  beforeAll(async () => {
    db = await createTestDatabase(driver);
    app = testApp(db);
  });
  afterAll(() => db.drop());

  it('records who did what, scoped for auditors, filtered and paged', async () => {
    const sindhUser = await makeUser(db.db, { jurisdiction: 'PK7' });
    const punjabUser = await makeUser(db.db, { jurisdiction: 'PK6' });
    const auditor = await bearer(db.db, 'auditor', 'PK7');
    const page = await (await app.request('/api/audit?action=user.create&pageSize=500', { headers: { authorization: auditor.authorization } })).json();
    const subjects = page.items.map((e: { subject: string }) => e.subject);
    expect(subjects).toContain(`user:${sindhUser.id}`);
    expect(subjects).not.toContain(`user:${punjabUser.id}`);
    const entry = page.items.find((e: { subject: string }) => e.subject === `user:${sindhUser.id}`);
    expect(entry).toMatchObject({ actor: 'system:test', action: 'user.create', jurisdiction: 'PK7', requestId: 'test-setup' });
    expect(entry.summary.after.username).toBe(sindhUser.username);

    const first = await (await app.request('/api/audit?pageSize=1&page=1', { headers: { authorization: auditor.authorization } })).json();
    const second = await (await app.request('/api/audit?pageSize=1&page=2', { headers: { authorization: auditor.authorization } })).json();
    expect(first.items).toHaveLength(1);
    expect(second.items[0].seq).toBeLessThan(first.items[0].seq);
    const bad = await app.request('/api/audit?pageSize=0&from=yesterday', { headers: { authorization: auditor.authorization } });
    expect((await bad.json()).errors.map((e: { field: string }) => e.field).sort()).toEqual(['query.from', 'query.pageSize']);
  });

  it('refuses UPDATE and DELETE in the database itself', async () => {
    await makeUser(db.db);
    await expect(db.db.execute(sql`update audit_log set actor = 'someone else'`)).rejects.toThrow();
    await expect(db.db.execute(sql`delete from audit_log`)).rejects.toThrow();
    expect((await verifyAudit(db.db)).ok).toBe(true);
  });

  it('a sign-in whose username holds a lone surrogate is refused at the door, and the chain still verifies', async () => {
    // Written as JSON text: JSON.stringify would escape the surrogate the same way, but this is what a client sends.
    const res = await app.request('/api/auth/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"username":"\\udfff","password":"x"}' });
    expect(await verifyAudit(db.db)).toMatchObject({ ok: true });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ code: 'invalid_request', errors: [{ field: 'json.username', message: expect.stringMatching(/lone surrogate/) }] });
  });

  it('stores an entry exactly as it was hashed, whatever its strings hold', async () => {
    // What the door refuses can still reach the trail from elsewhere (a parsed file, the CLI): lone
    // surrogates, NUL (which text and jsonb refuse), U+2028 and a Date in the summary.
    const at = new Date('2026-08-26T04:00:00.000Z');
    const subject = `test:${Math.random().toString(36).slice(2)}\udfff\u0000`;
    await recordAuditAlone(systemCtx(db.db, 'test', at, 'req\ud800'), {
      action: 'test.odd_text',
      subject,
      jurisdiction: 'PK7',
      summary: { 'key\u0000': 'a\ud800b', line: 'one\u2028two', when: at, list: [undefined, 'x\udc00'] },
    });
    expect(await verifyAudit(db.db)).toMatchObject({ ok: true });
    const { items } = await listAudit(db.db, systemActor('test'), { action: 'test.odd_text', page: 1, pageSize: 10 });
    expect(items).toHaveLength(1);
    expect(items[0]).toMatchObject({
      subject: subject.replace('\udfff\u0000', '\ufffd\ufffd'),
      requestId: 'req\ufffd',
      summary: { 'key\ufffd': 'a\ufffdb', line: 'one\u2028two', when: at.toISOString(), list: [null, 'x\ufffd'] },
    });
  });

  it('finds rows tampered with behind the trigger and names each one', async () => {
    await makeUser(db.db);
    await makeUser(db.db);
    await makeUser(db.db);
    const before = await verifyAudit(db.db);
    expect(before.ok).toBe(true);
    await db.db.execute(sql`alter table audit_log disable trigger audit_log_append_only`);
    await db.db.execute(sql`update audit_log set summary = '{"after":{"username":"mallory"}}' where seq = 2`);
    await db.db.execute(sql`update audit_log set actor = 'user:mallory' where seq = 4`);
    await db.db.execute(sql`alter table audit_log enable trigger audit_log_append_only`);
    const after = await verifyAudit(db.db);
    expect(after).toMatchObject({
      ok: false,
      entries: before.entries,
      broken: [
        { seq: 2, reason: expect.stringMatching(/changed after it was written/) },
        { seq: 4, reason: expect.stringMatching(/changed after it was written/) },
      ],
    });
  });
});

describe('madad audit verify', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'madad-audit-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const env = { MADAD_DATA_DIR: dir, DATABASE_URL: undefined };

  it('says the trail is intact, then names the entry deleted and the entry changed behind the trigger', async () => {
    for (const name of ['first', 'second', 'third', 'fourth', 'fifth']) {
      const res = await runCli(['users', 'create', '--username', name, '--name', name, '--roles', 'responder', '--agency', 'PDMA Sindh', '--jurisdiction', 'PK7'], env);
      expect(res.stderr).toBe('');
      expect(res.stdout).toMatch(/Password \(shown once\): \S{16}/);
    }
    const ok = await runCli(['audit', 'verify'], env);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain('Audit trail intact: 5 entries.');

    const database = await openDatabase({ dataDir: dir });
    await database.db.execute(sql`alter table audit_log disable trigger audit_log_append_only`);
    await database.db.execute(sql`delete from audit_log where seq = 2`);
    await database.db.execute(sql`update audit_log set subject = 'user:someone-else' where seq = 5`);
    await database.close();

    const broken = await runCli(['audit', 'verify'], env);
    expect(broken.code).toBe(1);
    expect(broken.stderr).toContain('audit trail is broken: 2 of 4 entries fail');
    expect(broken.stderr).toContain('entry 3: does not follow the entry before it');
    expect(broken.stderr).toContain('entry 5: was changed after it was written');
  });

  it('refuses a bad role with a message naming the option', async () => {
    const res = await runCli(['tokens', 'create', '--name', 'x', '--role', 'mayor', '--agency', 'X', '--jurisdiction', 'PK7'], env);
    expect(res.code).toBe(1);
    expect(res.stderr).toContain('--role: expected one of admin');
  });
});
