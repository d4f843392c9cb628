import { createRoute, z } from '@hono/zod-openapi';
import { allow } from '../http/guards.ts';
import { ctxOf, type RouteDeps } from '../http/deps.ts';
import { errorResponses, json } from '../http/openapi.ts';
import { newRouter } from '../http/router.ts';
import { isoDate } from '../http/schemas.ts';
import { outboxStatus, retryFailed } from './drain.ts';

const tags = ['System'];

export const outboxStatusSchema = z
  .object({
    pending: z.number().int().openapi({ description: 'Rows not yet handled, retries included' }),
    late: z.number().int().openapi({ description: 'Pending rows never tried and due for over a minute: no drainer is keeping up' }),
    retrying: z.number().int(),
    failed: z.number().int().openapi({ description: 'Rows given up after repeated failures; kept until retried' }),
    oldestPendingAt: isoDate.nullable(),
    failures: z.array(
      z.object({ id: z.number().int(), topic: z.string(), attempts: z.number().int(), lastError: z.string().nullable(), failedAt: isoDate.nullable(), createdAt: isoDate }),
    ),
  })
  .openapi('OutboxStatus');
export type OutboxStatusView = z.infer<typeof outboxStatusSchema>;

export function outboxRoutes(deps: RouteDeps) {
  return newRouter()
    .openapi(
      createRoute({
        method: 'get',
        path: '/api/system/outbox',
        tags,
        summary: 'Changes waiting for their reactions (trigger evaluation), those being retried, and those given up',
        middleware: [allow('admin', 'auditor')],
        responses: { 200: json(outboxStatusSchema, 'The outbox'), ...errorResponses },
      }),
      async (c) => c.json(outboxStatusSchema.parse(await outboxStatus(deps.database.db, deps.clock())), 200),
    )
    .openapi(
      createRoute({
        method: 'post',
        path: '/api/system/outbox/retry',
        tags,
        summary: 'Put the given-up rows back in the queue, once their cause is fixed',
        middleware: [allow('admin')],
        responses: { 200: json(z.object({ retried: z.number().int() }), 'How many rows were put back'), ...errorResponses },
      }),
      async (c) => c.json({ retried: await retryFailed(ctxOf(c, deps)) }, 200),
    );
}
