import { createRoute, z } from '@hono/zod-openapi';
import { allow } from '../http/guards.ts';
import { ctxOf, type RouteDeps } from '../http/deps.ts';
import { errorResponses } from '../http/openapi.ts';
import { newRouter } from '../http/router.ts';
import { isoDate, isoInstant, pageQuery, pcodeSchema } from '../http/schemas.ts';
import { listAudit } from './service.ts';

const entrySchema = z
  .object({
    seq: z.number().int(),
    at: isoDate,
    actor: z.string(),
    action: z.string(),
    subject: z.string(),
    jurisdiction: pcodeSchema,
    summary: z.unknown(),
    requestId: z.string().nullable(),
    prevHash: z.string(),
    hash: z.string(),
  })
  .openapi('AuditEntry');
export type AuditEntry = z.infer<typeof entrySchema>;

export function auditRoutes(deps: RouteDeps) {
  return newRouter().openapi(
    createRoute({
      method: 'get',
      path: '/api/audit',
      tags: ['Audit'],
      summary: 'The audit trail within your jurisdiction, newest first',
      middleware: [allow('auditor', 'admin')],
      request: {
        query: z.object({
          action: z.string().optional().openapi({ example: 'user.create' }),
          actor: z.string().optional().openapi({ example: 'user:amina' }),
          subject: z.string().optional(),
          from: isoInstant.optional(),
          to: isoInstant.optional(),
          ...pageQuery,
        }),
      },
      responses: {
        200: {
          description: 'Entries',
          content: { 'application/json': { schema: z.object({ total: z.number().int(), page: z.number().int(), items: z.array(entrySchema) }) } },
        },
        ...errorResponses,
      },
    }),
    async (c) => {
      const { db, actor } = ctxOf(c, deps);
      const q = c.req.valid('query');
      const result = await listAudit(db, actor, {
        ...q,
        from: q.from ? new Date(q.from) : undefined,
        to: q.to ? new Date(q.to) : undefined,
      });
      return c.json({ total: result.total, page: q.page, items: result.items.map((e) => entrySchema.parse(e)) }, 200);
    },
  );
}
