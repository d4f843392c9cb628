import { execFileSync, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { once } from 'node:events';
import { sql } from 'drizzle-orm';
import { afterAll, describe, expect, it } from 'vitest';
import { ensureDefaultAreas } from '../../server/areas/service.ts';
import { openDatabase, queryRows, type Database } from '../../server/db/client.ts';
import { synthCsv } from '../../server/registry/synth.ts';
import { loadRules, SHIPPED_RULES_DIR } from '../../server/rules/loader.ts';
import { madadAlert, STRONG_QUAKE } from '../harness/cap.ts';
import { runCli, serveProcess, spawnCli } from '../harness/cli.ts';
import { createTestDatabase, drivers, type TestDatabase } from '../harness/databases.ts';
import { bearer, makeHousehold, setupCtx } from '../harness/factories.ts';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
const tempDir = () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'madad-crash-'));
  dirs.push(dir);
  return dir;
};

/** Where a driver keeps its data: a PGlite folder, or a PostgreSQL database of the test's own. */
interface Place {
  env: Record<string, string | undefined>;
  open(): Promise<Database>;
  drop(): Promise<void>;
}

async function placeFor(driver: 'pglite' | 'postgres'): Promise<Place> {
  if (driver === 'pglite') {
    const dir = path.join(tempDir(), 'data');
    return { env: { MADAD_DATA_DIR: dir, DATABASE_URL: undefined }, open: async () => openDatabase({ dataDir: dir }), drop: async () => undefined };
  }
  const db: TestDatabase = await createTestDatabase('postgres');
  const url = new URL(process.env.TEST_DATABASE_URL!);
  url.pathname = new URL(db.location).pathname;
  await db.close();
  return { env: { DATABASE_URL: url.toString() }, open: async () => openDatabase({ url: url.toString(), max: 2 }), drop: () => db.drop() };
}

async function kill(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGKILL');
  await exited;
}

let serial = 0;
const quake = () => madadAlert({ identifier: `EQ-CRASH-${process.pid}-${++serial}`, sent: new Date().toISOString(), ...STRONG_QUAKE });

describe.each(drivers)('killed with SIGKILL and started again on the same data, on %s', (driver) => {
  it('starts, keeps an intact audit chain, leaves nothing half-written and loses no evaluation', async () => {
    const place = await placeFor(driver);
    try {
      // Before the first start: rules, boundaries, a registry of 1,000 households and two tokens.
      const setup = await place.open();
      await setup.migrate();
      await loadRules(setupCtx(setup.db), SHIPPED_RULES_DIR);
      await ensureDefaultAreas(setupCtx(setup.db));
      const base = await makeHousehold(setup, Array.from({ length: 1000 }, (_, i) => ({ id: `BASE-${i}`, lat: 25 + (i % 50) * 0.01, lon: 68 + Math.floor(i / 50) * 0.01 })));
      const feed = (await bearer(setup.db, 'feed', 'PK')).authorization;
      const officer = (await bearer(setup.db, 'dma_officer', 'PK7')).authorization;
      const admin = (await bearer(setup.db, 'admin', 'PK')).authorization;
      await setup.close();
      expect(base.added).toBe(1000);

      // 1. A burst of alerts and declarations, killed while requests are in flight.
      const first = await serveProcess(place.env);
      const post = (p: string, authorization: string, body: unknown) =>
        fetch(`${first.url}${p}`, { method: 'POST', headers: { authorization, 'content-type': 'application/json' }, body: JSON.stringify(body) }).then(
          (r) => r.status,
          () => 'cut' as const,
        );
      let answered = 0;
      const burst = [
        ...Array.from({ length: 80 }, () => post('/api/alerts', feed, quake())),
        ...Array.from({ length: 6 }, (_, i) => post('/api/events', officer, { name: `Crash test floods ${i}`, hazard: 'flood', areas: ['PK7'] })),
      ].map((p) => p.then((s) => (answered++, s)));
      while (answered < 10) await new Promise((r) => setTimeout(r, 5));
      await kill(first.child);
      const statuses = await Promise.all(burst);
      expect(statuses.filter((s) => s === 200 || s === 201).length, 'some requests were answered before the kill').toBeGreaterThanOrEqual(10);
      expect(statuses.filter((s) => s !== 200 && s !== 201 && s !== 'cut'), 'nothing else than success or a cut connection').toEqual([]);

      // 2. A re-import of the registry, killed while it waits for the rest of its file.
      const fifo = path.join(tempDir(), 'registry.csv');
      execFileSync('mkfifo', [fifo]);
      const importing = spawnCli(['registry', 'import', fifo], place.env);
      const writer = createWriteStream(fifo);
      writer.on('error', () => undefined);
      const lines = synthCsv({ households: 60_000, seed: 7 });
      for await (const chunk of lines) if (!writer.write(chunk)) await once(writer, 'drain');
      // Two full batches of new households are in by now; the file has not ended.
      await new Promise((r) => setTimeout(r, 8000));
      await kill(importing);
      writer.destroy();

      // 3. Started again: it delivers what the outbox holds.
      const second = await serveProcess(place.env);
      const get = async (p: string) => (await fetch(`${second.url}${p}`, { headers: { authorization: admin } })).json();
      for (let waited = 0; waited < 30_000; waited += 200) {
        const status = await get('/api/system/outbox');
        if (status.pending === 0) break;
        await new Promise((r) => setTimeout(r, 200));
      }
      const outbox = await get('/api/system/outbox');
      expect(outbox).toMatchObject({ pending: 0, failed: 0 });
      second.child.kill('SIGTERM');
      await once(second.child, 'exit');

      // 4. The trail is intact, and what is stored is whole.
      const verify = await runCli(['audit', 'verify'], place.env);
      expect(verify.stderr).toBe('');
      expect(verify.code).toBe(0);
      const after = await place.open();
      try {
        const [facts] = await queryRows<{
          households: number;
          alerts: number;
          alerts_unaudited: number;
          alerts_unevaluated: number;
          events: number;
          events_unevaluated: number;
          undelivered: number;
        }>(
          after.db,
          sql`select
                (select count(*)::int from households) as households,
                (select count(*)::int from alerts) as alerts,
                (select count(*)::int from alerts a where not exists (select 1 from audit_log l where l.action = 'alert.ingest' and l.subject = 'alert:' || a.id)) as alerts_unaudited,
                (select count(*)::int from alerts a where not exists (select 1 from evaluations e where e.subject_id = a.id)) as alerts_unevaluated,
                (select count(*)::int from events) as events,
                (select count(*)::int from events v where not exists (select 1 from evaluations e where e.subject_id = v.id)) as events_unevaluated,
                (select count(*)::int from outbox where done_at is null) as undelivered`,
        );
        expect(facts!.alerts, 'the alerts answered before the kill are stored').toBeGreaterThan(0);
        expect(facts).toMatchObject({ households: 1000, alerts_unaudited: 0, alerts_unevaluated: 0, events_unevaluated: 0, undelivered: 0 });
      } finally {
        await after.close();
      }
    } finally {
      await place.drop();
    }
  });
});
