import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import { sql } from 'drizzle-orm';
import type { Registry } from 'prom-client';
import { queryRows, type Database } from '../db/client.ts';
import { UnavailableError } from '../errors.ts';
import type { AppEnv } from '../http/context.ts';
import { problemSchema } from '../http/openapi.ts';
import { outboxStatus } from '../outbox/drain.ts';

const health = createRoute({
  method: 'get',
  path: '/healthz',
  tags: ['System'],
  summary: 'The process is up',
  responses: {
    200: { description: 'Alive', content: { 'application/json': { schema: z.object({ status: z.literal('ok') }) } } },
  },
});

const readiness = createRoute({
  method: 'get',
  path: '/readyz',
  tags: ['System'],
  summary: 'The database answers and migrations are applied',
  responses: {
    200: {
      description: 'Ready',
      content: {
        'application/json': {
          schema: z.object({
            status: z.literal('ready'),
            database: z.object({ driver: z.enum(['pglite', 'postgres']), migrations: z.number().int() }),
            outbox: z.object({ pending: z.number().int(), late: z.number().int(), failed: z.number().int() }).openapi({
              description: 'Changes waiting for their reactions; late or failed rows need an operator (GET /api/system/outbox)',
            }),
          }),
        },
      },
    },
    503: { description: 'Not ready', content: { 'application/problem+json': { schema: problemSchema } } },
  },
});

const metrics = createRoute({
  method: 'get',
  path: '/metrics',
  tags: ['System'],
  summary: 'Prometheus metrics',
  responses: { 200: { description: 'Prometheus text exposition format', content: { 'text/plain': { schema: z.string() } } } },
});

export function systemRoutes(database: Database, registry: Registry) {
  return new OpenAPIHono<AppEnv>()
    .openapi(health, (c) => c.json({ status: 'ok' as const }, 200))
    .openapi(readiness, async (c) => {
      try {
        const [row] = await queryRows<{ n: number }>(database.db, sql`select count(*)::int as n from drizzle.__drizzle_migrations`);
        const { pending, late, failed } = await outboxStatus(database.db, new Date());
        return c.json({ status: 'ready' as const, database: { driver: database.driver, migrations: row?.n ?? 0 }, outbox: { pending, late, failed } }, 200);
      } catch (err) {
        c.get('log').warn({ err }, 'readiness check failed');
        throw new UnavailableError('The database does not answer or has no migrations applied.');
      }
    })
    .openapi(metrics, async (c) => c.text(await registry.metrics(), 200, { 'content-type': registry.contentType }));
}
