import cron, { type ScheduledTask } from 'node-cron';
import type { Logger } from 'pino';
import type { Database } from '../db/client.ts';
import { withAdvisoryLock } from '../db/locks.ts';

export interface Job {
  /** Unique name; also the advisory lock key, so replicas never run the same job at once. */
  name: string;
  /** node-cron expression (seconds field optional). */
  schedule: string;
  run(now: Date): Promise<void>;
}

/** Runs scheduled jobs under node-cron, each under its advisory lock; `stop` waits for running jobs. */
export class Scheduler {
  private tasks: ScheduledTask[] = [];
  private running = new Set<Promise<unknown>>();

  constructor(
    private readonly database: Database,
    private readonly log: Logger,
  ) {}

  add(job: Job): void {
    if (!cron.validate(job.schedule)) throw new Error(`Job ${job.name}: invalid schedule ${JSON.stringify(job.schedule)}`);
    const task = cron.schedule(job.schedule, () => this.runNow(job).then(() => undefined), { name: job.name, noOverlap: true });
    this.tasks.push(task);
  }

  /** Runs one job now, if no other process holds its lock. Returns whether it ran. */
  runNow(job: Job): Promise<boolean> {
    const started = performance.now();
    const run = withAdvisoryLock(this.database, `job:${job.name}`, () => job.run(new Date()))
      .then((ran) => {
        if (ran) this.log.debug({ job: job.name, ms: Math.round(performance.now() - started) }, 'job ran');
        return ran;
      })
      .catch((err: unknown) => {
        this.log.error({ err, job: job.name }, 'job failed');
        return false;
      });
    this.running.add(run);
    void run.finally(() => this.running.delete(run));
    return run;
  }

  async stop(): Promise<void> {
    for (const task of this.tasks) await task.stop();
    this.tasks = [];
    await Promise.allSettled([...this.running]);
  }
}
