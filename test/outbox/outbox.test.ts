import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, queryRows, type Database } from '../../server/db/client.ts';
import { reactions } from '../../server/jobs/reactions.ts';
import { drainOutbox } from '../../server/outbox/drain.ts';
import { drain, testApp, testBatchDeps } from '../harness/app.ts';
import { createTestDatabase, drivers, type TestDatabase } from '../harness/databases.ts';
import { bearer } from '../harness/factories.ts';
import { loadShippedRules, quake, seedAreas } from '../rules/setup.ts';

describe.each(drivers)('the outbox: changes delivered to their reactions, on %s', (driver) => {
  let db: TestDatabase;
  let app: ReturnType<typeof testApp>;
  let feed: string;
  let admin: string;
  const now = new Date('2026-08-26T05:00:00Z');

  beforeAll(async () => {
    db = await createTestDatabase(driver);
    await seedAreas(db.db);
    await loadShippedRules(db);
    app = testApp(db, { clock: () => now });
    feed = (await bearer(db.db, 'feed', 'PK')).authorization;
    admin = (await bearer(db.db, 'admin', 'PK')).authorization;
  });
  afterAll(() => db.drop());

  const postQuake = async () => {
    const res = await app.request('/api/alerts', { method: 'POST', headers: { authorization: feed, 'content-type': 'application/json' }, body: JSON.stringify(quake()) });
    expect(res.status).toBe(200);
    return (await res.json()).items[0].id as string;
  };
  const evaluationsOf = async (alertId: string) =>
    (await queryRows<{ n: number }>(db.db, sql`select count(*)::int as n from evaluations where subject_id = ${alertId}`))[0]!.n;
  const outboxOf = async (alertId: string) =>
    queryRows<{ attempts: number; done: boolean; failed: boolean; last_error: string | null }>(
      db.db,
      sql`select attempts, done_at is not null as done, failed_at is not null as failed, last_error from outbox where payload->>'alertId' = ${alertId}`,
    );
  const getJson = async (path: string) => (await app.request(path, { headers: { authorization: admin } })).json();
  /** A real fault: the table evaluations write to is gone, as in a half-applied migration, then back. */
  const breakEvaluations = () => db.db.execute(sql`alter table evaluations rename to evaluations_away`);
  const mendEvaluations = () => db.db.execute(sql`alter table evaluations_away rename to evaluations`);

  it('writes the change with the alert and delivers it once: the evaluation follows the drain, not the request', async () => {
    const alertId = await postQuake();
    expect(await evaluationsOf(alertId)).toBe(0);
    expect(await outboxOf(alertId)).toEqual([{ attempts: 0, done: false, failed: false, last_error: null }]);
    expect((await getJson('/readyz')).outbox.pending).toBeGreaterThanOrEqual(1);

    expect((await drain(db.db)).handled).toBeGreaterThanOrEqual(1);
    expect(await evaluationsOf(alertId)).toBe(1);
    expect(await outboxOf(alertId)).toEqual([{ attempts: 1, done: true, failed: false, last_error: null }]);
    // Drained again, nothing is delivered twice.
    expect(await drain(db.db)).toMatchObject({ handled: 0, failed: 0 });
    expect(await evaluationsOf(alertId)).toBe(1);
  });

  it('rolls a failed reaction back, retries it after a backoff, and delivers it once the fault is mended', async () => {
    const alertId = await postQuake();
    await breakEvaluations();
    try {
      const t0 = new Date();
      expect(await drain(db.db, t0)).toMatchObject({ handled: 0, failed: 1 });
      const [row] = await outboxOf(alertId);
      expect(row).toMatchObject({ attempts: 1, done: false, failed: false });
      expect(row!.last_error).toMatch(/evaluations/);
      // Not due again at once: the backoff holds it.
      expect(await drain(db.db, new Date(t0.getTime() + 500))).toMatchObject({ handled: 0, failed: 0 });
    } finally {
      await mendEvaluations();
    }
    // Delivered now, with what its evaluation wrote in turn (the activations' batch builds).
    expect(await drain(db.db, new Date(Date.now() + 60_000))).toMatchObject({ failed: 0 });
    expect(await evaluationsOf(alertId)).toBe(1);
    expect(await outboxOf(alertId)).toMatchObject([{ attempts: 2, done: true }]);
  });

  it('keeps a row that keeps failing, shows it to operators, and delivers it when put back', async () => {
    const alertId = await postQuake();
    await breakEvaluations();
    let t = Date.now();
    try {
      for (let attempt = 0; attempt < 3; attempt++) {
        t += 3_600_000;
        await drainOutbox(db.db, reactions(testBatchDeps(db.db)), { owner: 'test', now: () => new Date(t), maxAttempts: 3 });
      }
    } finally {
      await mendEvaluations();
    }
    expect(await outboxOf(alertId)).toMatchObject([{ attempts: 3, done: false, failed: true }]);
    // Given up: no drain picks it up again on its own.
    expect(await drain(db.db, new Date(t + 86_400_000))).toMatchObject({ handled: 0 });

    const status = await getJson('/api/system/outbox');
    expect(status.failed).toBe(1);
    expect(status.failures).toEqual([expect.objectContaining({ topic: 'alert.changed', attempts: 3, lastError: expect.stringMatching(/evaluations/) })]);
    expect((await getJson('/readyz')).outbox.failed).toBe(1);
    const metrics = await (await app.request('/metrics')).text();
    expect(metrics).toMatch(/madad_outbox_rows\{state="failed"\} 1/);

    const retried = await app.request('/api/system/outbox/retry', { method: 'POST', headers: { authorization: admin } });
    expect(await retried.json()).toEqual({ retried: 1 });
    expect(await drain(db.db, new Date(t + 86_400_000))).toMatchObject({ failed: 0 });
    expect(await outboxOf(alertId)).toMatchObject([{ done: true, failed: false }]);
    expect(await evaluationsOf(alertId)).toBe(1);
    expect((await getJson('/api/system/outbox')).failed).toBe(0);
    const trail = await getJson('/api/audit?action=outbox.retry');
    expect(trail.items).toHaveLength(1);
  });
});

describe.runIf(drivers.includes('postgres'))('two drainers on one PostgreSQL, each with its own connections (as two server processes)', () => {
  let db: TestDatabase;
  let other: Database;

  beforeAll(async () => {
    db = await createTestDatabase('postgres');
    await seedAreas(db.db);
    await loadShippedRules(db);
    const url = new URL(process.env.TEST_DATABASE_URL!);
    url.pathname = new URL(db.location).pathname;
    other = await openDatabase({ url: url.toString(), max: 4 });
  });
  afterAll(async () => {
    await other.close();
    await db.drop();
  });

  it('never handles one row twice, even when every lease runs out at once', async () => {
    const app = testApp(db, { clock: () => new Date('2026-08-26T05:00:00Z') });
    const { authorization } = await bearer(db.db, 'feed', 'PK');
    const alerts = 40;
    for (let i = 0; i < alerts; i++) {
      const res = await app.request('/api/alerts', { method: 'POST', headers: { authorization, 'content-type': 'application/json' }, body: JSON.stringify(quake()) });
      expect(res.status).toBe(200);
    }
    // A lease of 1 ms runs out before the row is handled, so both drainers claim the same rows again and
    // again: only the row lock and the still-ours check stand between them and a double delivery.
    const options = { leaseMs: 1, batch: 3 };
    const reports = await Promise.all([
      drainOutbox(db.db, reactions(testBatchDeps(db.db)), { owner: 'server-a', ...options }),
      drainOutbox(other.db, reactions(testBatchDeps(other.db)), { owner: 'server-b', ...options }),
      drainOutbox(db.db, reactions(testBatchDeps(db.db)), { owner: 'server-a2', ...options }),
      drainOutbox(other.db, reactions(testBatchDeps(other.db)), { owner: 'server-b2', ...options }),
    ]);
    const [counts] = await queryRows<{ rows: number; once: number; alertRows: number; evaluations: number; subjects: number; activations: number; batches: number }>(
      db.db,
      sql`select (select count(*)::int from outbox) as rows,
                 (select count(*)::int from outbox where done_at is not null and attempts = 1) as once,
                 (select count(*)::int from outbox where topic = 'alert.changed') as "alertRows",
                 (select count(*)::int from evaluations) as evaluations,
                 (select count(distinct subject_id)::int from evaluations) as subjects,
                 (select count(*)::int from activations) as activations,
                 (select count(*)::int from batches) as batches`,
    );
    // Every row (the alerts', and the batch builds their activations wrote) handled once, on its first attempt.
    expect(reports.reduce((n, r) => n + r.handled, 0)).toBe(counts!.rows);
    expect(reports.filter((r) => r.handled > 0).length, 'the work was shared').toBeGreaterThan(1);
    // One earthquake rule in force: one evaluation per alert, one batch per activation.
    expect(counts).toEqual({ rows: counts!.rows, once: counts!.rows, alertRows: alerts, evaluations: alerts, subjects: alerts, activations: counts!.activations, batches: counts!.activations });
    expect(counts!.activations).toBeGreaterThan(0);
  });
});
