import { hostname } from 'node:os';
import type { Logger } from 'pino';
import type { Database } from '../db/client.ts';
import { withAdvisoryLock } from '../db/locks.ts';
import { drainOutbox, type DrainOptions, type DrainReport, type Reactions } from './drain.ts';
import { OUTBOX_CHANNEL } from './enqueue.ts';

/** The lock every drainer of one database takes, so replicas drain one at a time (rows are guarded anyway). */
export const DRAIN_LOCK = 'outbox:drain';

/** This process as a lease owner. */
export const processOwner = () => `${hostname()}:${process.pid}`;

/**
 * Drains the outbox in a server process: woken by NOTIFY from any process that commits a change (the CLI
 * included, on PostgreSQL), and by `poll()` from the scheduler as the fallback. Wakes that come while a
 * drain runs are folded into one more pass.
 */
export class OutboxDrainer {
  private running?: Promise<void>;
  private again = false;
  private unlisten?: () => Promise<void>;
  private stopped = false;

  constructor(
    private readonly database: Database,
    private readonly reactions: Reactions,
    private readonly log: Logger,
    private readonly options: Partial<DrainOptions> = {},
  ) {}

  /** Subscribes to the database's notifications; without them the scheduled poll still delivers. */
  async listen(): Promise<void> {
    const wake = () => this.wake();
    if (this.database.sql) {
      const sub = await this.database.sql.listen(OUTBOX_CHANNEL, wake);
      this.unlisten = () => sub.unlisten();
    } else if (this.database.pglite) {
      this.unlisten = await this.database.pglite.listen(OUTBOX_CHANNEL, wake);
    }
  }

  /** Starts a drain now, or one more pass after the running one. */
  wake(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.loop().finally(() => (this.running = undefined));
  }

  /** One drain, for the scheduled job: resolves when it and any pass it triggered are done. */
  async poll(): Promise<void> {
    this.wake();
    await this.settled();
  }

  async settled(): Promise<void> {
    while (this.running) await this.running;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.unlisten?.().catch(() => undefined);
    await this.settled();
  }

  private async loop(): Promise<void> {
    do {
      this.again = false;
      try {
        let report: DrainReport | undefined;
        await withAdvisoryLock(this.database, DRAIN_LOCK, async () => {
          report = await drainOutbox(this.database.db, this.reactions, { owner: processOwner(), ...this.options });
        });
        if (report && (report.handled || report.failed)) this.log.info({ outbox: report }, 'outbox drained');
      } catch (err) {
        this.log.error({ err }, 'outbox drain failed');
      }
    } while (this.again && !this.stopped);
  }
}
