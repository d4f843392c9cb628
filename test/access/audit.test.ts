import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyAudit } from '../../server/audit/service.ts';
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

  it('finds a row tampered with behind the trigger and names it', async () => {
    await makeUser(db.db);
    await makeUser(db.db);
    const before = await verifyAudit(db.db);
    expect(before.ok).toBe(true);
    await db.db.execute(sql`alter table audit_log disable trigger audit_log_append_only`);
    await db.db.execute(sql`update audit_log set summary = '{"after":{"username":"mallory"}}' where seq = 2`);
    await db.db.execute(sql`alter table audit_log enable trigger audit_log_append_only`);
    const after = await verifyAudit(db.db);
    expect(after).toMatchObject({ ok: false, brokenAt: 2, entries: 1 });
  });
});

describe('madad audit verify', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'madad-audit-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const env = { MADAD_DATA_DIR: dir, DATABASE_URL: undefined };

  it('says the trail is intact, then names the entry deleted behind the trigger', async () => {
    for (const name of ['first', 'second', 'third']) {
      const res = await runCli(['users', 'create', '--username', name, '--name', name, '--roles', 'responder', '--agency', 'PDMA Sindh', '--jurisdiction', 'PK7'], env);
      expect(res.stderr).toBe('');
      expect(res.stdout).toMatch(/Password \(shown once\): \S{16}/);
    }
    const ok = await runCli(['audit', 'verify'], env);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain('Audit trail intact: 3 entries.');

    const database = await openDatabase({ dataDir: dir });
    await database.db.execute(sql`alter table audit_log disable trigger audit_log_append_only`);
    await database.db.execute(sql`delete from audit_log where seq = 2`);
    await database.close();

    const broken = await runCli(['audit', 'verify'], env);
    expect(broken.code).toBe(1);
    expect(broken.stderr).toContain('audit trail is broken at entry 3');
  });

  it('refuses a bad role with a message naming the option', async () => {
    const res = await runCli(['tokens', 'create', '--name', 'x', '--role', 'mayor', '--agency', 'X', '--jurisdiction', 'PK7'], env);
    expect(res.code).toBe(1);
    expect(res.stderr).toContain('--role: expected one of admin');
  });
});
