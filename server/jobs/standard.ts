import { expireAlerts } from '../alerts/store.ts';
import { purgeExpiredSessions } from '../auth/service.ts';
import { systemCtx } from '../context.ts';
import type { Database } from '../db/client.ts';
import type { PrivateAddressPolicy } from '../feeds/address.ts';
import { pollDueFeeds } from '../feeds/poller.ts';
import type { OutboxDrainer } from '../outbox/drainer.ts';
import type { Job } from './scheduler.ts';

/** The jobs every server runs (each under its advisory lock, so replicas never run one twice). */
export function standardJobs(database: Database, drainer: OutboxDrainer, feeds: { allowPrivate?: PrivateAddressPolicy } = {}): Job[] {
  const ctx = (name: string, now: Date) => systemCtx(database.db, name, now, `job:${name}:${now.toISOString()}`);
  return [
    { name: 'alerts-expire', schedule: '*/30 * * * * *', run: (now) => expireAlerts(ctx('alerts-expire', now)).then(() => undefined) },
    { name: 'feeds-poll', schedule: '*/30 * * * * *', run: (now) => pollDueFeeds(ctx('feeds-poll', now), { database, allowPrivate: feeds.allowPrivate }).then(() => undefined) },
    { name: 'sessions-purge', schedule: '17 * * * *', run: (now) => purgeExpiredSessions(database.db, now) },
    // NOTIFY wakes the drain at once; this catches what it missed (a notification lost with a connection,
    // rows that became due for a retry, rows written while no server ran).
    { name: 'outbox-drain', schedule: '*/5 * * * * *', run: () => drainer.poll() },
  ];
}
