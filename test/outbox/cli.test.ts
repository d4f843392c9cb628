import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import { afterAll, describe, expect, it } from 'vitest';
import { openDatabase, queryRows, type Database } from '../../server/db/client.ts';
import { parseEnv } from '../../server/env.ts';
import { startServer } from '../../server/serve.ts';
import { silentLog } from '../harness/app.ts';
import { madadAlert, STRONG_QUAKE } from '../harness/cap.ts';
import { runCli } from '../harness/cli.ts';
import { createTestDatabase, drivers } from '../harness/databases.ts';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
const tempDir = () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'madad-outbox-cli-'));
  dirs.push(dir);
  return dir;
};

/** A strong quake over Sindh in Madad JSON, written to a file the CLI ingests. */
function quakeFile(dir: string): { file: string; identifier: string } {
  const identifier = `EQ-CLI-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  const file = path.join(dir, `${identifier}.json`);
  writeFileSync(file, JSON.stringify(madadAlert({ identifier, sent: new Date().toISOString(), ...STRONG_QUAKE })));
  return { file, identifier };
}

const evaluationsOf = async (database: Database, identifier: string) =>
  (
    await queryRows<{ rule_id: string; cause: string }>(
      database.db,
      sql`select e.rule_id, e.cause from evaluations e join alerts a on a.id = e.subject_id where a.identifier = ${identifier}`,
    )
  ).map((r) => `${r.rule_id} ${r.cause}`);

describe('alerts ingested by the CLI are evaluated', () => {
  it('by `madad outbox drain` when no server runs (embedded database)', async () => {
    const dir = tempDir();
    const env = { MADAD_DATA_DIR: path.join(dir, 'data'), DATABASE_URL: undefined };
    expect((await runCli(['rules', 'load'], env)).code).toBe(0);
    const { file, identifier } = quakeFile(dir);
    const ingested = await runCli(['alerts', 'ingest', file], env);
    expect(ingested.stdout).toMatch(new RegExp(`created\\s+${identifier}`));

    const waiting = await runCli(['outbox', 'status'], env);
    expect(waiting.stdout).toContain('1 pending');
    const drained = await runCli(['outbox', 'drain'], env);
    expect(drained.stderr).toBe('');
    expect(drained.code).toBe(0);
    expect(drained.stdout).toContain('Outbox drained: 1 handled, 0 failed.');
    expect((await runCli(['outbox', 'status'], env)).stdout).toContain('0 pending');

    const database = await openDatabase({ dataDir: env.MADAD_DATA_DIR });
    try {
      expect(await evaluationsOf(database, identifier)).toEqual(['earthquake alert.created']);
    } finally {
      await database.close();
    }
  });

  it.runIf(drivers.includes('postgres'))('by a running server at once, woken by the commit (PostgreSQL)', async () => {
    const db = await createTestDatabase('postgres');
    const url = new URL(process.env.TEST_DATABASE_URL!);
    url.pathname = new URL(db.location).pathname;
    const running = await startServer(
      parseEnv({ DATABASE_URL: url.toString(), PORT: '0', MADAD_DEMO: '0', MADAD_JOBS: '1', LOG_LEVEL: 'silent', MADAD_DATA_DIR: tempDir() }),
      silentLog,
    );
    try {
      const { file, identifier } = quakeFile(tempDir());
      const ingested = await runCli(['alerts', 'ingest', file], { DATABASE_URL: url.toString() });
      expect(ingested.code).toBe(0);
      // The server's drainer hears the NOTIFY of the CLI's commit; its 5-second poll is the fallback.
      let found: string[] = [];
      for (let waited = 0; waited < 15_000 && found.length === 0; waited += 100) {
        found = await evaluationsOf(db, identifier);
        if (found.length === 0) await new Promise((r) => setTimeout(r, 100));
      }
      expect(found).toEqual(['earthquake alert.created']);
    } finally {
      await running.shutdown('test');
      await db.drop();
    }
  });
});
