import { createRoute, z } from '@hono/zod-openapi';
import { DEFAULT_APPROVAL_POLICY, type ApprovalPolicy } from '../batches/approvals.ts';
import { signedIn } from '../http/guards.ts';
import { ctxOf, type RouteDeps } from '../http/deps.ts';
import { errorResponses, json } from '../http/openapi.ts';
import { newRouter } from '../http/router.ts';
import { inboxFor, INBOX_KINDS, type InboxItem as PaymentItem } from '../payments/inbox.ts';
import { planInboxFor, type PlanInboxItem } from '../plan/inbox.ts';

/** What waits: the payments' decisions (approve, release, reissue) and plan actions to accept. */
export const ALL_INBOX_KINDS = [...INBOX_KINDS, 'plan'] as const;
export type InboxKind = (typeof ALL_INBOX_KINDS)[number];

export const inboxItemSchema = z
  .object({
    kind: z.enum(ALL_INBOX_KINDS).openapi({ description: 'approve a submitted batch, release an approved share, decide a request to pay a line again, accept a plan action assigned to your agency' }),
    reason: z.string().openapi({ example: 'batch:3f2a9c01-…:approve:round 1', description: 'What waits, stable while it waits' }),
    batchId: z.uuid().nullable().openapi({ description: 'Null for a plan action' }),
    reissueId: z.uuid().nullable(),
    actionId: z.uuid().nullable().openapi({ description: 'The plan action to accept (kind plan)' }),
    incident: z.string().nullable(),
    rule: z.object({ id: z.string(), version: z.string() }).nullable(),
    programme: z.string().openapi({ description: 'The paying programme, or the lead agency of a plan action' }),
    totalPkr: z.number().int().openapi({ description: 'The money the decision moves (for a release: your payers\u2019 unreleased share; for a plan action: its budget)' }),
    since: z.string(),
    dueAt: z.string(),
    overdue: z.boolean(),
    link: z.string().openapi({ example: '/batches/3f2a9c01-…' }),
    summary: z.string(),
  })
  .openapi('InboxItem');

export const inboxSchema = z
  .object({
    items: z.array(inboxItemSchema),
    counts: z.object(Object.fromEntries(ALL_INBOX_KINDS.map((k) => [k, z.number().int()])) as Record<InboxKind, z.ZodNumber>),
    total: z.number().int(),
  })
  .openapi('Inbox');

export type InboxItem = z.infer<typeof inboxItemSchema>;
export type Inbox = z.infer<typeof inboxSchema>;

const fromPayments = (i: PaymentItem): InboxItem => ({ ...i, actionId: null, incident: null });
const fromPlan = (i: PlanInboxItem): InboxItem => ({
  kind: 'plan',
  reason: i.reason,
  batchId: null,
  reissueId: null,
  actionId: i.actionId,
  incident: i.incident,
  rule: null,
  programme: i.leadAgency,
  totalPkr: i.totalPkr,
  since: i.since,
  dueAt: i.dueAt,
  overdue: i.overdue,
  link: i.link,
  summary: i.summary,
});

/** What waits for the caller to decide, computed from state on every request: overdue first, then the oldest. */
export function inboxRoutes(deps: RouteDeps, policy: ApprovalPolicy = DEFAULT_APPROVAL_POLICY) {
  return newRouter().openapi(
    createRoute({
      method: 'get',
      path: '/api/inbox',
      tags: ['Inbox'],
      summary: 'What waits for you: batches to approve or release, requests to pay again to decide, plan actions to accept; overdue first, then the oldest',
      middleware: [signedIn],
      responses: { 200: json(inboxSchema, 'Your inbox, with counts by kind'), ...errorResponses },
    }),
    async (c) => {
      const ctx = ctxOf(c, deps);
      const payments = await inboxFor(ctx.db, ctx.actor, ctx.now, policy);
      const plan = await planInboxFor(ctx.db, ctx.actor, ctx.now);
      const items = [...payments.items.map(fromPayments), ...plan.map(fromPlan)].sort(
        (a, b) => Number(b.overdue) - Number(a.overdue) || a.since.localeCompare(b.since) || a.reason.localeCompare(b.reason),
      );
      const counts = Object.fromEntries(ALL_INBOX_KINDS.map((k) => [k, items.filter((i) => i.kind === k).length])) as Record<InboxKind, number>;
      return c.json(inboxSchema.parse({ items, counts, total: items.length }), 200);
    },
  );
}
