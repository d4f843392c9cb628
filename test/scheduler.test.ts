import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withAdvisoryLock } from '../server/db/locks.ts';
import { Scheduler } from '../server/jobs/scheduler.ts';
import { silentLog } from './harness/app.ts';
import { createTestDatabase, drivers, type TestDatabase } from './harness/databases.ts';

describe.each(drivers)('scheduled jobs on %s', (driver) => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase(driver);
  });
  afterAll(() => database.drop());

  it('runs a job under its lock and waits for it on stop', async () => {
    const scheduler = new Scheduler(database, silentLog);
    const seen: string[] = [];
    const job = {
      name: 'probe',
      schedule: '0 0 1 1 *',
      run: async () => {
        await new Promise((r) => setTimeout(r, 50));
        seen.push('done');
      },
    };
    scheduler.add(job);
    const ran = scheduler.runNow(job);
    await scheduler.stop();
    expect(seen).toEqual(['done']);
    expect(await ran).toBe(true);
  });

  it('refuses a schedule node-cron cannot read', () => {
    const scheduler = new Scheduler(database, silentLog);
    expect(() => scheduler.add({ name: 'bad', schedule: 'every minute', run: async () => {} })).toThrow(/invalid schedule/);
  });

  it.runIf(driver === 'postgres')('lets only one replica hold a job lock at a time', async () => {
    let inner: boolean | undefined;
    const outer = await withAdvisoryLock(database, 'job:feed-poll', async () => {
      inner = await withAdvisoryLock(database, 'job:feed-poll', async () => {});
    });
    expect(outer).toBe(true);
    expect(inner).toBe(false);
  });
});
