import { createRoute, z } from '@hono/zod-openapi';
import { DEFAULT_APPROVAL_POLICY, type ApprovalPolicy } from '../batches/approvals.ts';
import { signedIn } from '../http/guards.ts';
import { ctxOf, type RouteDeps } from '../http/deps.ts';
import { errorResponses, json } from '../http/openapi.ts';
import { newRouter } from '../http/router.ts';
import { inbox, INBOX_KINDS } from './inbox.ts';

const kind = z.enum(INBOX_KINDS);

export const inboxItemSchema = z
  .object({
    kind: kind.openapi({ description: 'approve a submitted batch, release an approved share, decide a request to pay a line again' }),
    reason: z.string().openapi({ example: 'batch:3f2a9c01-…:approve:round 1', description: 'What waits, stable while it waits' }),
    batchId: z.uuid(),
    reissueId: z.uuid().nullable(),
    rule: z.object({ id: z.string(), version: z.string() }),
    programme: z.string(),
    totalPkr: z.number().int().openapi({ description: 'The money the decision moves (for a release: your payers\u2019 unreleased share)' }),
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
    counts: z.object(Object.fromEntries(INBOX_KINDS.map((k) => [k, z.number().int()])) as Record<(typeof INBOX_KINDS)[number], z.ZodNumber>),
    total: z.number().int(),
  })
  .openapi('Inbox');

/** What waits for the caller to decide: computed from the batches' state on every request. */
export function inboxRoutes(deps: RouteDeps, policy: ApprovalPolicy = DEFAULT_APPROVAL_POLICY) {
  return newRouter().openapi(
    createRoute({
      method: 'get',
      path: '/api/inbox',
      tags: ['Inbox'],
      summary: 'What waits for you: batches to approve or release, requests to pay again to decide; overdue first, then the oldest',
      middleware: [signedIn],
      responses: { 200: json(inboxSchema, 'Your inbox, with counts by kind'), ...errorResponses },
    }),
    async (c) => c.json(inboxSchema.parse(await inbox(ctxOf(c, deps), policy)), 200),
  );
}
