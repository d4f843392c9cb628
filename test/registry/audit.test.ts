import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyAudit } from '../../server/audit/service.ts';
import { openDatabase, type Database } from '../../server/db/client.ts';
import { importHouseholds } from '../../server/households/import.ts';
import { testApp } from '../harness/app.ts';
import { runCli } from '../harness/cli.ts';
import { createTestDatabase, drivers, type TestDatabase } from '../harness/databases.ts';
import { bearer, household, makeArea, registryCsv, setupCtx, unique } from '../harness/factories.ts';

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/** A registry file of two good households and one refused (a CNIC of three digits), placed inside `box`. */
function fileWithOneRefused([w, s]: readonly number[]): Buffer {
  const at = (i: number) => [s! + 0.05 + i * 0.02, w! + 0.05 + i * 0.02] as const;
  return Buffer.from(
    registryCsv([
      household(unique('hh'), ...at(0), 12),
      household(unique('hh'), ...at(1), 40),
      { ...household(unique('hh'), ...at(2), 20), cnic: '123' },
    ]),
  );
}

/** The `registry.import` entries an auditor sees for a file, newest first. */
async function importEntries(database: Database, sha: string) {
  const app = testApp(database);
  const auditor = await bearer(database.db, 'auditor', 'PK');
  const res = await app.request(`/api/audit?action=registry.import&subject=registry-file:${sha}`, { headers: { authorization: auditor.authorization } });
  expect(res.status).toBe(200);
  return (await res.json()).items as { actor: string; action: string; subject: string; jurisdiction: string; summary: Record<string, unknown> }[];
}

describe.each(drivers)('registry imports in the audit trail, on %s', (driver) => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase(driver);
  });
  afterAll(() => db.drop());

  const importFile = (bytes: Uint8Array, name: string) => importHouseholds(setupCtx(db.db), { database: db, source: Readable.from([bytes]), name });

  it('records one entry naming the actor, the file, its sha256 and size, and the rows added and refused; the chain verifies', async () => {
    const district = await makeArea(db.db, { level: 2, parentCode: 'PK7', box: [68.0, 25.0, 68.2, 25.2] });
    const bytes = fileWithOneRefused(district.box);
    const name = `${unique('nser-sindh')}.csv`;
    const report = await importFile(bytes, name);
    expect(report).toMatchObject({ rows: 3, added: 2, refused: 1 });

    const entries = await importEntries(db, sha256(bytes));
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({
      actor: 'system:test',
      action: 'registry.import',
      subject: `registry-file:${sha256(bytes)}`,
      jurisdiction: 'PK',
      summary: { file: name, sha256: sha256(bytes), bytes: bytes.length, rows: 3, added: 2, updated: 0, unchanged: 0, refused: 1, unlocated: 0 },
    });
    expect(await verifyAudit(db.db)).toMatchObject({ ok: true });
  });

  it('records the same file imported again as a second entry, with its rows unchanged', async () => {
    const district = await makeArea(db.db, { level: 2, parentCode: 'PK7', box: [68.4, 25.4, 68.6, 25.6] });
    const bytes = fileWithOneRefused(district.box);
    await importFile(bytes, 'first.csv');
    await importFile(bytes, 'again.csv');

    const entries = await importEntries(db, sha256(bytes));
    expect(entries.map((e) => e.summary)).toMatchObject([
      { file: 'again.csv', added: 0, unchanged: 2, refused: 1 },
      { file: 'first.csv', added: 2, unchanged: 0, refused: 1 },
    ]);
    expect(await verifyAudit(db.db)).toMatchObject({ ok: true });
  });

  it('records a file refused at its header, with nothing imported', async () => {
    const bytes = Buffer.from(`id,name\n${unique('x')},x\n`);
    const report = await importFile(bytes, 'wrong-columns.csv');
    expect(report.refused).toBeLessThan(0);

    const entries = await importEntries(db, sha256(bytes));
    expect(entries).toHaveLength(1);
    expect(entries[0]!.summary).toMatchObject({ file: 'wrong-columns.csv', sha256: sha256(bytes), rows: 0, added: 0, refused: 'header refused' });
    expect(await verifyAudit(db.db)).toMatchObject({ ok: true });
  });
});

describe('madad registry import FILE, in the audit trail', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'madad-registry-audit-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const dataDir = path.join(dir, 'data');

  it('prints what came of the rows, and the entry it leaves names the operator, the file and its sha256', async () => {
    const file = path.join(dir, 'nser-sindh.csv');
    writeFileSync(file, fileWithOneRefused([68.0, 25.0]));
    const res = await runCli(['registry', 'import', file], { MADAD_DATA_DIR: dataDir, DATABASE_URL: undefined });
    expect(res.code).toBe(1);
    expect(res.stdout).toContain('3 rows read into an empty registry (one transaction, indexes built after the rows): 2 new, 0 updated, 0 unchanged, 1 refused');
    expect(res.stderr).toContain('row 4, cnic: expected 13 digits');

    // The process has exited; the data folder is ours to open, as an auditor's server would.
    const bytes = readFileSync(file);
    const database = await openDatabase({ dataDir });
    try {
      const entries = await importEntries(database, sha256(bytes));
      expect(entries).toHaveLength(1);
      expect(entries[0]).toMatchObject({
        actor: `system:cli:${operator()}`,
        summary: { file, sha256: sha256(bytes), bytes: bytes.length, rows: 3, added: 2, refused: 1 },
      });
      expect(await verifyAudit(database.db)).toMatchObject({ ok: true });
    } finally {
      await database.close();
    }
  });
});

/** The operating-system user the CLI names in the audit trail (server/cli/context.ts `cliActor`). */
function operator(): string {
  try {
    return userInfo().username;
  } catch {
    return 'unknown';
  }
}
