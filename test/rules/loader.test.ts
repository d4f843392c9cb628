import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryRows } from '../../server/db/client.ts';
import { loadRules, RuleLoadError, SHIPPED_RULES_DIR } from '../../server/rules/loader.ts';
import { drain, testApp } from '../harness/app.ts';
import { createTestDatabase, drivers, type TestDatabase } from '../harness/databases.ts';
import { bearer, setupCtx } from '../harness/factories.ts';
import { quake, seedAreas } from './setup.ts';

const dirs: string[] = [];
/** A copy of the shipped rules that a test may change. */
const copyOfShipped = () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'madad-rules-'));
  dirs.push(dir);
  cpSync(SHIPPED_RULES_DIR, dir, { recursive: true });
  return dir;
};
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

describe.each(drivers)('rule files loaded into versions, on %s', (driver) => {
  let db: TestDatabase;
  const at = new Date('2026-01-01T00:00:00Z');
  const count = async (table: string, where = sql`true`) => (await queryRows<{ n: number }>(db.db, sql`select count(*)::int as n from ${sql.raw(table)} where ${where}`))[0]!.n;

  beforeAll(async () => {
    db = await createTestDatabase(driver);
    await seedAreas(db.db);
  });
  afterAll(() => db.drop());

  it('loads every shipped rule once; loading again changes nothing', async () => {
    const first = await loadRules(setupCtx(db.db, at), SHIPPED_RULES_DIR);
    expect(first.map((r) => r.id).sort()).toEqual(['cyclone', 'drought', 'earthquake', 'flood-relief-2022', 'heatwave', 'sindh-flood-kafaalat']);
    expect(first.every((r) => r.outcome === 'new')).toBe(true);
    expect(await count('audit_log', sql`action = 'rule.version_loaded'`)).toBe(6);
    const again = await loadRules(setupCtx(db.db, at), SHIPPED_RULES_DIR);
    expect(again.every((r) => r.outcome === 'unchanged')).toBe(true);
    expect(again.map((r) => r.versionId)).toEqual(first.map((r) => r.versionId));
    expect(await count('rule_versions')).toBe(6);
    expect(await count('audit_log', sql`action = 'rule.version_loaded'`)).toBe(6);
  });

  it('makes a changed file a new version; evaluations made before keep the old one', async () => {
    const app = testApp(db, { clock: () => new Date('2026-08-26T05:00:00Z') });
    const { authorization } = await bearer(db.db, 'feed', 'PK');
    const postQuake = async () => {
      const res = await app.request('/api/alerts', { method: 'POST', headers: { authorization, 'content-type': 'application/json' }, body: JSON.stringify(quake()) });
      await drain(db.db);
      return (await res.json()).items[0].id as string;
    };
    const before = await postQuake();
    const [{ id: oldVersion } = { id: '' }] = await queryRows<{ id: string }>(db.db, sql`select current_version_id as id from rules where id = 'earthquake'`);

    const dir = copyOfShipped();
    const file = path.join(dir, 'earthquake.yaml');
    writeFileSync(file, readFileSync(file, 'utf8').replace('flat_pkr: 25000', 'flat_pkr: 30000'));
    const loaded = await loadRules(setupCtx(db.db, at), dir);
    expect(loaded.filter((r) => r.outcome !== 'unchanged').map((r) => r.id)).toEqual(['earthquake']);
    const newVersion = loaded.find((r) => r.id === 'earthquake')!.versionId;
    expect(newVersion).not.toBe(oldVersion);

    const after = await postQuake();
    const versionOf = async (alertId: string) => (await queryRows<{ v: string }>(db.db, sql`select rule_version_id as v from evaluations where subject_id = ${alertId} and rule_id = 'earthquake'`)).map((r) => r.v);
    expect(await versionOf(before)).toEqual([oldVersion]);
    expect(await versionOf(after)).toEqual([newVersion]);
    expect(await count('activations', sql`subject_id = ${before} and rule_version_id = ${oldVersion}`)).toBe(2);

    // The old content back in place makes the old version current again; no third version.
    const reinstated = await loadRules(setupCtx(db.db, at), SHIPPED_RULES_DIR);
    expect(reinstated.find((r) => r.id === 'earthquake')).toMatchObject({ outcome: 'reinstated', versionId: oldVersion });
    expect(await count('rule_versions', sql`rule_id = 'earthquake'`)).toBe(2);
  });

  it('refuses a broken file by name and path, and loads nothing from that folder', async () => {
    const dir = copyOfShipped();
    writeFileSync(path.join(dir, 'heatwave.yaml'), readFileSync(path.join(dir, 'heatwave.yaml'), 'utf8').replace(/share_bp: \d+/, 'share_bp: 9000'));
    const cyclone = path.join(dir, 'cyclone.yaml');
    writeFileSync(cyclone, readFileSync(cyclone, 'utf8').replace('title:', 'title: Changed -'));
    const versions = await count('rule_versions');
    const audit = await count('audit_log');
    const refused = await loadRules(setupCtx(db.db, at), dir).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(RuleLoadError);
    expect((refused as Error).message).toContain('heatwave.yaml');
    expect((refused as RuleLoadError).fields.map((f) => f.field)).toContain('heatwave.yaml: funding.payers');
    expect(await count('rule_versions')).toBe(versions);
    expect(await count('audit_log')).toBe(audit);
  });
});
