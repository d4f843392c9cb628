import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SHIPPED_RULES_DIR } from '../../server/rules/loader.ts';
import { runCli } from '../harness/cli.ts';
import { fixturesDir } from '../harness/fixtures.ts';

const dirs: string[] = [];
const tempDir = () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'madad-rules-cli-'));
  dirs.push(dir);
  return dir;
};
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** The CLI on an embedded database of its own. */
const madad = (args: string[], dataDir: string) => runCli(args, { MADAD_DATA_DIR: dataDir, DATABASE_URL: undefined });

describe('madad rules', () => {
  it('backtests the earthquake rule on the real USGS samples: what would have fired had each struck Khyber Pakhtunkhwa', async () => {
    const res = await madad(['rules', 'backtest', 'earthquake', '--alerts', `${fixturesDir}usgs`, '--area', 'PK1'], tempDir());
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    const block = (id: string) => res.stdout.slice(res.stdout.indexOf(id)).split('\n').slice(0, 2).join('\n');
    // Tibet M7.1, PAGER red; Japan M7.3, PAGER orange: activation.
    expect(block('us6000pi9w')).toMatch(/ACTIVATION fired; no registry loaded/);
    expect(block('us6000h519')).toMatch(/ACTIVATION fired/);
    // Taiwan M6.7, PAGER green: readiness only.
    expect(block('us6000h6nr')).toMatch(/READINESS fired/);
    // Iran M5.9: below the threshold.
    expect(block('us6000h58x')).toMatch(/nothing fired: .*magnitude 5\.9 ≥ 6\.0: no/);
    expect(res.stdout).toContain('earthquake: 10 of 13 messages would have fired (activation 2, readiness 8).');
    expect(res.stdout).toMatch(/skipped usgs-pager-losses_us6000pi9w\.json: .*PAGER losses/);
  });

  it('fires nothing without an area: the rule only acts in Pakistan', async () => {
    const res = await madad(['rules', 'backtest', 'earthquake', '--alerts', `${fixturesDir}usgs`], tempDir());
    expect(res.code).toBe(0);
    expect(res.stdout).toContain('no gazetteer loaded');
    expect(res.stdout).toContain('earthquake: 0 of 13 messages would have fired.');
  });

  it('loads rules, then says unchanged; refuses a broken folder naming the file and the path', async () => {
    const data = tempDir();
    const first = await madad(['rules', 'load'], data);
    expect(first.code).toBe(0);
    expect(first.stdout).toContain('6 rules read from rules, 6 changed.');
    const again = await madad(['rules', 'load'], data);
    expect(again.stdout).toContain('0 changed');

    const broken = tempDir();
    cpSync(SHIPPED_RULES_DIR, broken, { recursive: true });
    const file = path.join(broken, 'drought.yaml');
    writeFileSync(file, readFileSync(file, 'utf8').replace('ceiling_pkr: 15000000000', 'ceiling_pkr: 1.5e10.5'));
    const refused = await madad(['rules', 'load', broken], data);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/drought\.yaml: funding\.ceiling_pkr/);
  });
});
