import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { REGISTRY_COLUMNS } from '../../server/registry/row.ts';
import { runCli } from '../harness/cli.ts';
import { fixturesDir } from '../harness/fixtures.ts';

describe('madad areas import and registry import', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'madad-geo-cli-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const env = { MADAD_DATA_DIR: path.join(dir, 'data'), DATABASE_URL: undefined };
  const pakistan = (file: string) => path.join(fixturesDir, 'pakistan', file);

  it('imports districts, then tehsils with derived codes, and says what it derived and skipped', async () => {
    const districts = await runCli(['areas', 'import', pakistan('pak_adm2_districts_cod_pcodes_simplified.geojson'), '--level', '2'], env);
    expect(districts.stdout).toContain('160 areas at level 2: 160 new');
    const args = ['areas', 'import', pakistan('pak_adm3_tehsils_gbopen_geom_with_cod_pcodes.geojson'), '--level', '3', '--derive-tehsil-codes', '--name-field', 'shapeName', '--population-field', 'pop_2023'];
    const tehsils = await runCli(args, env);
    expect(tehsils.code).toBe(0);
    expect(tehsils.stdout).toContain('554 tehsils coded; they are not OCHA codes');
    expect(tehsils.stdout).toMatch(/warning: feature \d+ \(LADAKH\): no district P-code/);
    expect(tehsils.stdout).toContain('554 areas at level 3: 554 new');
    const again = await runCli(args, env);
    expect(again.stdout).toContain('554 areas at level 3: 0 new, 0 new versions, 554 unchanged');
  });

  it('refuses --derive-tehsil-codes at another level', async () => {
    const res = await runCli(['areas', 'import', pakistan('pak_adm2_districts_cod_pcodes_simplified.geojson'), '--level', '2', '--derive-tehsil-codes'], env);
    expect(res.code).toBe(1);
    expect(res.stderr).toContain('--derive-tehsil-codes goes with --level 3');
  });

  it('lands the good rows of a registry file, lists the refused ones and exits 1', async () => {
    const file = path.join(dir, 'registry.csv');
    writeFileSync(
      file,
      [
        REGISTRY_COLUMNS.join(','),
        'NSER,N-1,41303-1234567-1,Bibi Amina,03001234567,25.39,68.37,7,18.5,1,0,1,1,KAFAALAT,bank,PK36TEST0001',
        'NSER,N-2,123,Ali,,25.39,68.37,5,40,0,0,0,0,,,',
      ].join('\n'),
    );
    const res = await runCli(['registry', 'import', file], env);
    expect(res.code).toBe(1);
    expect(res.stdout).toContain('2 rows read into an empty registry (one transaction, indexes built after the rows): 1 new, 0 updated, 0 unchanged, 1 refused');
    expect(res.stderr).toContain('row 3, cnic: expected 13 digits');
    const again = await runCli(['registry', 'import', file], env);
    expect(again.stdout).toContain('2 rows read: 0 new, 0 updated, 1 unchanged, 1 refused');
    writeFileSync(file, readFileSync(file, 'utf8').replace('Bibi Amina', 'Amina Bibi'));
    const changed = await runCli(['registry', 'import', file], env);
    expect(changed.stdout).toContain('2 rows read: 0 new, 1 updated, 0 unchanged, 1 refused');
  });
});
