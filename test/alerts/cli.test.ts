import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../harness/cli.ts';
import { fixturesDir } from '../harness/fixtures.ts';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
/** An embedded database of its own, in a fresh data folder. */
const freshEnv = () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'madad-alerts-cli-'));
  dirs.push(dir);
  return { MADAD_DATA_DIR: dir, DATABASE_URL: undefined };
};

describe('madad alerts ingest', () => {
  it('ingests two fixture files, prints what happened to each message, and says unchanged the second time', async () => {
    const env = freshEnv();
    const files = [`${fixturesDir}gdacs/gdacs-rss-fixture-small_2019-12-30.xml`, `${fixturesDir}cap/oasis-spec-a2-thunderstorm-polygon-cap12.xml`];
    const first = await runCli(['alerts', 'ingest', ...files], env);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(first.stdout).toContain('gdacs-rss-fixture-small_2019-12-30.xml: gdacs-rss, 4 messages');
    expect(first.stdout).toMatch(/created\s+GDACS_TC_1000643_1/);
    expect(first.stdout).toMatch(/created\s+KSTO1055887203 \(\w+\) from KSTO@NWS\.NOAA\.GOV/);

    const again = await runCli(['alerts', 'ingest', files[1]!], env);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/unchanged\s+KSTO1055887203/);
  });

  it('exits non-zero with the reason on stderr for a file with a DOCTYPE, and still ingests the other files', async () => {
    const res = await runCli(['alerts', 'ingest', `${fixturesDir}cap/google-xxe-attack.cap`, `${fixturesDir}cap/google-thunderstorm-polygon.cap`], freshEnv());
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/google-xxe-attack\.cap: refused: .*DOCTYPE/);
    expect(res.stdout).toContain('google-thunderstorm-polygon.cap');
    expect(res.stdout).toMatch(/created/);
  });

  it('exits non-zero for a file that does not exist', async () => {
    const res = await runCli(['alerts', 'ingest', path.join(tmpdir(), 'no-such-alert.xml')], freshEnv());
    expect(res.code).toBe(1);
    expect(res.stderr).toContain('no-such-alert.xml: cannot be read: ENOENT');
  });
});
