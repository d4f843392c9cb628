import { expireAlerts } from '../alerts/store.ts';
import { purgeExpiredSessions } from '../auth/service.ts';
import type { Database } from '../db/client.ts';
import type { Bus } from '../bus.ts';
import { pollDueFeeds } from '../feeds/poller.ts';
import type { Job } from './scheduler.ts';

/** The jobs every server runs (each under its advisory lock, so replicas never run one twice). */
export function standardJobs(database: Database, bus: Bus): Job[] {
  return [
    { name: 'alerts-expire', schedule: '*/30 * * * * *', run: (now) => expireAlerts(database, bus, now).then(() => undefined) },
    { name: 'feeds-poll', schedule: '*/30 * * * * *', run: (now) => pollDueFeeds({ database, bus, now }).then(() => undefined) },
    { name: 'sessions-purge', schedule: '17 * * * *', run: (now) => purgeExpiredSessions(database.db, now) },
  ];
}
