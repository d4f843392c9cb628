import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../server/db/client.ts';
import { linkageKey } from '../../server/exchange/fields.ts';
import { TEST_DEDUP_KEY } from '../harness/app.ts';
import { runCli } from '../harness/cli.ts';
import { makeUser } from '../harness/factories.ts';
import { seedAreas } from '../rules/setup.ts';
import { importTwoRegistries, type TwoRegistries } from './setup.ts';

/**
 * `madad agreements`, `madad exchange` and `madad registry overlap` as an operator runs them, each a process
 * of its own on one embedded data folder, acting for named officers of BISP and PSPA.
 */
describe('madad agreements, madad exchange, madad registry overlap', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'madad-exchange-cli-'));
  const data = path.join(dir, 'data');
  const madad = (...args: string[]) => runCli(args, { MADAD_DATA_DIR: data, DATABASE_URL: undefined, MADAD_DEDUP_KEY: TEST_DEDUP_KEY });
  let regs: TwoRegistries;
  let id = '';
  let key: Buffer;

  beforeAll(async () => {
    const database = await openDatabase({ dataDir: data });
    try {
      await database.migrate();
      await seedAreas(database.db);
      regs = await importTwoRegistries(database, { households: 300, share: 0.5, extra: 20 });
      for (const [username, agency, jurisdiction] of [
        ['bisp.maker', 'BISP', 'PK'],
        ['bisp.checker', 'BISP', 'PK'],
        ['pspa.officer', 'PSPA', 'PK6'],
      ] as const)
        await makeUser(database.db, { username, roles: ['program_manager'], agency, jurisdiction });
    } finally {
      await database.close();
    }
  }, 120_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('drafts an agreement, refuses the drafter\u2019s signature, and prints the key once at the second', async () => {
    const bad = await madad('agreements', 'create', '--title', 'NSER for Punjab', '--party-a', 'BISP', '--party-b', 'PSPA', '--purpose', 'targeting', '--jurisdiction', 'PK6', '--linkage', 'pseudonymous', '--share', 'NSER:BISP>PSPA:district,phone', '--from', '2026-01-01T00:00:00Z', '--to', '2030-01-01T00:00:00Z', '--as', 'bisp.maker');
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('shares.0.fields.1: phone identifies a person');
    const made = await madad('agreements', 'create', '--title', 'NSER for Punjab', '--party-a', 'BISP', '--party-b', 'PSPA', '--purpose', 'targeting', '--jurisdiction', 'PK6', '--linkage', 'pseudonymous', '--share', 'NSER:BISP>PSPA:household_id,district,tehsil,pmt_score', '--from', '2026-01-01T00:00:00Z', '--to', '2030-01-01T00:00:00Z', '--as', 'bisp.maker');
    expect(made.code, made.stderr).toBe(0);
    id = /^id\s+(\S+)$/m.exec(made.stdout)![1]!;
    expect(made.stdout).toMatch(/state\s+draft/);
    const own = await madad('agreements', 'sign', id, '--as', 'bisp.maker');
    expect(own.code).not.toBe(0);
    expect(own.stderr).toContain('maker-checker');
    const first = await madad('agreements', 'sign', id, '--as', 'bisp.checker');
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).not.toContain('Agreement key');
    const second = await madad('agreements', 'sign', id, '--as', 'pspa.officer');
    expect(second.stdout).toMatch(/state\s+in_force/);
    key = Buffer.from(/Agreement key.*\n(\S+)/.exec(second.stdout)![1]!, 'base64url');
    expect(key.length).toBe(32);
    const shown = await madad('agreements', 'show', id);
    expect(shown.stdout).not.toContain(key.toString('base64url'));
  }, 240_000);

  it('exports the slice to a file with its manifest; every byte free of CNICs, names and phones', async () => {
    const out = path.join(dir, 'nser-punjab.csv');
    const res = await madad('exchange', 'export', id, '--out', out, '--as', 'pspa.officer');
    expect(res.code, res.stderr).toBe(0);
    const bytes = readFileSync(out);
    const manifest = JSON.parse(readFileSync(`${out}.manifest.json`, 'utf8'));
    const punjab = regs.nser.filter((h) => h.areaCode.startsWith('PK6'));
    expect(manifest).toMatchObject({ agreement: id, source: 'NSER', recipient: 'PSPA', rows: punjab.length, bytes: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') });
    const text = bytes.toString('utf8');
    expect(text.split('\n')[0]).toBe('linkage_key,household_id,district,tehsil,pmt_score');
    expect(text).toContain(`${linkageKey(key, punjab[0]!.cnic)},${punjab[0]!.householdId},`);
    for (const h of regs.nser) for (const v of [h.cnic, h.headName, h.phone]) expect(text.includes(v), `${h.householdId}`).toBe(false);
  }, 240_000);

  it('prints the overlap of NSER and PSER in Punjab', async () => {
    const res = await madad('registry', 'overlap', '--sources', 'NSER,PSER', '--area', 'PK6');
    expect(res.code, res.stderr).toBe(0);
    const e = regs.expected;
    expect(res.stdout).toContain(`In PK6: ${e.both} households in both NSER and PSER, ${e.onlyNser} only in NSER, ${e.onlyPser} only in PSER`);
    expect(res.stdout).toContain(`${e.farApart} more than 5 km apart`);
  }, 240_000);

  it('refuses a change set with a bad row, naming row, column and reason, and stages a good one for BISP to decide', async () => {
    const h = regs.nser.find((x) => x.areaCode.startsWith('PK6'))!;
    const bad = path.join(dir, 'bad.csv');
    writeFileSync(bad, `agreement,linkage_key,pmt_score\n${id},short,20\n`);
    const refused = await madad('exchange', 'changes', id, bad, '--as', 'pspa.officer');
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('row 2.linkage_key: expected 43 base64url characters');
    const good = path.join(dir, 'good.csv');
    writeFileSync(good, `agreement,linkage_key,pmt_score\n${id},${linkageKey(key, h.cnic)},${h.pmtScore === 9.5 ? 9.6 : 9.5}\n`);
    const staged = await madad('exchange', 'changes', id, good, '--as', 'pspa.officer');
    expect(staged.code, staged.stderr).toBe(0);
    const cs = /Change set (\S+):/.exec(staged.stdout)![1]!;
    const shown = await madad('exchange', 'show-changes', cs);
    expect(shown.stdout).toContain(h.householdId);
    expect(shown.stdout).toContain(`pmt_score: ${h.pmtScore} → `);
    const decided = await madad('exchange', 'decide', cs, '--merge', '2', '--as', 'bisp.checker');
    expect(decided.stdout).toContain('1 merged, 0 refused, 0 still waiting.');
  }, 240_000);
});
