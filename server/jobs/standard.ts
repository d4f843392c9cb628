import { expireAlerts } from '../alerts/store.ts';
import { purgeExpiredSessions } from '../auth/service.ts';
import { systemCtx } from '../context.ts';
import type { Database } from '../db/client.ts';
import type { PrivateAddressPolicy } from '../feeds/address.ts';
import { pollDueFeeds } from '../feeds/poller.ts';
import type { OutboxDrainer } from '../outbox/drainer.ts';
import { notifyOfficials } from '../payments/notify.ts';
import type { Job } from './scheduler.ts';

/** Mail to officials about what waits for them: only when an SMTP server is configured. */
export interface MailSettings {
  smtpUrl?: string | undefined;
  from: string;
  baseUrl?: string | undefined;
  approvalHours: number;
}

/** The jobs every server runs (each under its advisory lock, so replicas never run one twice). */
export function standardJobs(database: Database, drainer: OutboxDrainer, feeds: { allowPrivate?: PrivateAddressPolicy } = {}, mail?: MailSettings): Job[] {
  const ctx = (name: string, now: Date) => systemCtx(database.db, name, now, `job:${name}:${now.toISOString()}`);
  return [
    { name: 'alerts-expire', schedule: '*/30 * * * * *', run: (now) => expireAlerts(ctx('alerts-expire', now)).then(() => undefined) },
    { name: 'feeds-poll', schedule: '*/30 * * * * *', run: (now) => pollDueFeeds(ctx('feeds-poll', now), { database, allowPrivate: feeds.allowPrivate }).then(() => undefined) },
    { name: 'sessions-purge', schedule: '17 * * * *', run: (now) => purgeExpiredSessions(database.db, now) },
    // NOTIFY wakes the drain at once; this catches what it missed (a notification lost with a connection,
    // rows that became due for a retry, rows written while no server ran).
    { name: 'outbox-drain', schedule: '*/5 * * * * *', run: () => drainer.poll() },
    // What waits for an official (a batch to sign or release, a request to pay again), mailed once per reason.
    ...(mail?.smtpUrl
      ? [
          {
            name: 'officials-notify',
            schedule: '0 * * * * *',
            run: (now: Date) =>
              notifyOfficials(ctx('officials-notify', now), { smtpUrl: mail.smtpUrl!, from: mail.from, baseUrl: mail.baseUrl, policy: { stepHours: mail.approvalHours } }).then(() => undefined),
          },
        ]
      : []),
  ];
}
