import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, queryRows, type Driver } from '../../server/db/client.ts';
import { runCli } from '../harness/cli.ts';
import { drivers } from '../harness/databases.ts';
import { loadTestDistricts } from '../harness/gazetteer.ts';

/** A database the CLI process opens itself: a PGlite folder, or a PostgreSQL database of its own. */
async function cliDatabase(driver: Driver, dir: string) {
  if (driver === 'pglite') return { env: { MADAD_DATA_DIR: path.join(dir, 'data'), DATABASE_URL: undefined }, open: { dataDir: path.join(dir, 'data') }, drop: async () => {} };
  const admin = postgres(process.env.TEST_DATABASE_URL!, { max: 1, onnotice: () => {} });
  const name = `madad_cli_${process.pid}_${Math.random().toString(36).slice(2, 10)}`;
  await admin.unsafe(`create database ${name}`);
  const url = new URL(process.env.TEST_DATABASE_URL!);
  url.pathname = `/${name}`;
  return {
    env: { DATABASE_URL: url.toString() },
    open: { url: url.toString(), max: 1 },
    drop: async () => {
      await admin.unsafe(`drop database if exists ${name} with (force)`);
      await admin.end();
    },
  };
}

describe.each(drivers)('madad events, on %s', (driver) => {
  let dir: string;
  let target: Awaited<ReturnType<typeof cliDatabase>>;
  const file = (name: string, text: string) => {
    const p = path.join(dir, name);
    writeFileSync(p, text);
    return p;
  };
  const countEvents = async () => {
    const database = await openDatabase(target.open);
    try {
      return (await queryRows<{ n: number }>(database.db, sql`select count(*)::int as n from events`))[0]!.n;
    } finally {
      await database.close();
    }
  };

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'madad-events-'));
    target = await cliDatabase(driver, dir);
    const database = await openDatabase(target.open);
    await database.migrate();
    await loadTestDistricts(database.db);
    await database.close();
  });
  afterAll(async () => {
    await target.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('declares an event from a list of names and codes, and lists it', async () => {
    const list = file('notified.txt', '# PDMA Sindh notification, 26 Aug 2026\nDadu\n\nPK709\nkambar shahdadkot   # same district, as written in the letter\n');
    const res = await runCli(['events', 'declare', '--name', 'Monsoon floods, upper Sindh', '--hazard', 'flood', '--areas', list], target.env);
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    expect(res.stdout).toContain('Dadu (PK703, district, Sindh)');
    expect(res.stdout).toMatch(/5 +kambar shahdadkot +Kambar Shahdad Kot \(PK709, district, Sindh\)/);
    expect(res.stdout).toMatch(/Declared event [0-9a-f-]{36} "Monsoon floods, upper Sindh" \(flood, jurisdiction PK7\): 2 areas\./);

    const listed = await runCli(['events', 'list'], target.env);
    expect(listed.code).toBe(0);
    expect(listed.stdout).toMatch(/Monsoon floods, upper Sindh +flood +declared +PK7 +2/);
  });

  it('reads a CSV with a pcode column and stores a draft', async () => {
    const csv = file('notified.csv', 'pcode,name\nPK607,D.G. Khan\nPK623,Muzaffargarh\n');
    const res = await runCli(['events', 'declare', '--name', 'Hill torrents', '--hazard', 'flash_flood', '--areas', csv, '--draft'], target.env);
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(/Drafted event .* \(flash_flood, jurisdiction PK6\): 2 areas\./);
  });

  it('lists each line that does not resolve with suggestions, exits non-zero and stores nothing', async () => {
    const before = await countEvents();
    const list = file('typo.txt', 'Dadu\nDodu\nLarkana\n');
    const res = await runCli(['events', 'declare', '--name', 'Typo', '--hazard', 'flood', '--areas', list], target.env);
    expect(res.code).toBe(1);
    expect(res.stderr).toContain(`${list}:2: "Dodu" matches no area in the gazetteer. Did you mean: Dadu (PK703, district, Sindh)`);
    expect(res.stderr).toContain('1 of 3 lines did not resolve; nothing was stored.');
    expect(res.stdout).toBe('');
    expect(await countEvents()).toBe(before);
  });

  it('refuses a CSV without a pcode or name column', async () => {
    const res = await runCli(['events', 'declare', '--name', 'Bad file', '--hazard', 'flood', '--areas', file('bad.csv', 'tehsil\nDadu\n')], target.env);
    expect(res.code).toBe(1);
    expect(res.stderr).toContain('needs a "pcode" or "name" column');
  });
});
