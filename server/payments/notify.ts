import { and, eq, isNotNull, isNull, sql } from 'drizzle-orm';
import nodemailer from 'nodemailer';
import { userPrincipal } from '../access/credentials.ts';
import { DEFAULT_APPROVAL_POLICY, type ApprovalPolicy } from '../batches/approvals.ts';
import type { Ctx } from '../context.ts';
import { queryRows } from '../db/client.ts';
import { notifications, users } from '../db/schema/index.ts';
import { inboxFor, type InboxItem } from './inbox.ts';

export interface NotifyOptions {
  /** Where mail goes out, e.g. `smtp://mail.bisp.gov.pk:587` or `smtps://user:pass@host:465` (SMTP_URL). */
  smtpUrl: string;
  /** The sender, e.g. `Madad <madad@ndma.gov.pk>`. */
  from: string;
  /** Put before a link path (`https://madad.ndma.gov.pk`), so the mail holds a link one can click. */
  baseUrl?: string | undefined;
  policy?: ApprovalPolicy;
}

export interface NotifyReport {
  /** Enabled users with an email. */
  users: number;
  /** Items waiting for them. */
  waiting: number;
  sent: number;
  failed: number;
}

/** A failed send is tried again on later runs for this long; after it, the row keeps its error. */
const RETRY_FOR_MS = 24 * 3600_000;

const SUBJECTS: Record<InboxItem['kind'], (i: InboxItem) => string> = {
  approve: (i) => `Madad: batch ${i.batchId.slice(0, 8)} waits for your approval (${i.rule.id}, ${i.programme})`,
  release: (i) => `Madad: batch ${i.batchId.slice(0, 8)} is approved and waits for release (${i.rule.id}, ${i.programme})`,
  reissue: (i) => `Madad: a request to pay a line of batch ${i.batchId.slice(0, 8)} again waits for your decision`,
};

function bodyOf(name: string, item: InboxItem, baseUrl: string | undefined): string {
  return [
    `Dear ${name},`,
    '',
    item.summary,
    '',
    `Batch: ${item.batchId}`,
    `Rule: ${item.rule.id} (version ${item.rule.version}), programme ${item.programme}`,
    `Amount: PKR ${item.totalPkr.toLocaleString('en-US')}`,
    `Waiting since: ${item.since}; due ${item.dueAt}${item.overdue ? ' (overdue)' : ''}`,
    '',
    `Open it in Madad: ${baseUrl ? baseUrl.replace(/\/$/, '') : ''}${item.link}`,
    '',
    'You get one mail for each decision that waits for you. Your inbox in Madad (GET /api/inbox) shows all of them.',
  ].join('\n');
}

/**
 * Mails every enabled user with an email what waits in their inbox, one mail per (user, reason), once: the
 * row in `notifications` is written (and committed) before the mail is sent, then marked sent or failed. A
 * run that dies between the two leaves a row neither sent nor failed, which no later run mails again; a
 * failed send (the server refused or could not be reached) is tried again by later runs for a day. Items
 * that no longer wait are not mailed. Run outside a transaction (a job): each row commits on its own.
 */
export async function notifyOfficials(ctx: Ctx, options: NotifyOptions): Promise<NotifyReport> {
  const report: NotifyReport = { users: 0, waiting: 0, sent: 0, failed: 0 };
  const people = await ctx.db
    .select()
    .from(users)
    .where(and(isNull(users.disabledAt), isNotNull(users.email)));
  report.users = people.length;
  if (people.length === 0) return report;
  const transport = nodemailer.createTransport(options.smtpUrl);
  try {
    for (const u of people) {
      const { items } = await inboxFor(ctx.db, userPrincipal(u), ctx.now, options.policy ?? DEFAULT_APPROVAL_POLICY);
      report.waiting += items.length;
      for (const item of items) {
        const subject = SUBJECTS[item.kind](item);
        // A new row, or a failed one taken back for another try (one runner wins it): the claim is the row.
        const [claimed] = await queryRows<{ id: string }>(
          ctx.db,
          sql`insert into notifications (username, email, reason, subject, created_at)
              values (${u.username}, ${u.email}, ${item.reason}, ${subject}, ${ctx.now.toISOString()}::timestamptz)
              on conflict (username, reason) do update set error = null, email = excluded.email
                where notifications.sent_at is null and notifications.error is not null
                  and notifications.created_at > ${new Date(ctx.now.getTime() - RETRY_FOR_MS).toISOString()}::timestamptz
              returning id::text`,
        );
        if (!claimed) continue;
        try {
          await transport.sendMail({ from: options.from, to: u.email!, subject, text: bodyOf(u.displayName, item, options.baseUrl) });
          await ctx.db.update(notifications).set({ sentAt: ctx.now }).where(eq(notifications.id, claimed.id));
          report.sent++;
        } catch (err) {
          const message = (err instanceof Error ? err.message : String(err)).slice(0, 500);
          await ctx.db.update(notifications).set({ error: message }).where(eq(notifications.id, claimed.id));
          report.failed++;
        }
      }
    }
  } finally {
    transport.close();
  }
  return report;
}
