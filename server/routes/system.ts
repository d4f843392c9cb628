import { createHash, timingSafeEqual } from 'node:crypto';
import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import { sql } from 'drizzle-orm';
import type { Registry } from 'prom-client';
import { queryRows, type Database } from '../db/client.ts';
import { UnauthorizedError, UnavailableError } from '../errors.ts';
import type { AppEnv } from '../http/context.ts';
import { errorResponses, problemSchema } from '../http/openapi.ts';
import { outboxCounts } from '../outbox/drain.ts';

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
  summary: 'Prometheus metrics; with MADAD_METRICS_TOKEN set, only for `Authorization: Bearer <that token>`',
  responses: {
    200: { description: 'Prometheus text exposition format', content: { 'text/plain': { schema: z.string() } } },
    401: errorResponses[401],
  },
});

const digest = (text: string) => createHash('sha256').update(text).digest();

/**
 * Whether a request may read the metrics: anyone when no token is configured (a scraper on the loopback
 * address the server binds by default), else only a bearer of that token, compared in constant time (over
 * digests, so the lengths need not match either).
 */
function mayScrape(authorization: string | undefined, token: string | undefined): boolean {
  if (token === undefined) return true;
  const given = /^Bearer (\S+)$/i.exec(authorization ?? '')?.[1];
  return given !== undefined && timingSafeEqual(digest(given), digest(token));
}

export interface SystemOptions {
  /** MADAD_METRICS_TOKEN: when set, /metrics answers only a bearer of it. */
  metricsToken?: string;
}

export function systemRoutes(database: Database, registry: Registry, options: SystemOptions = {}) {
  return new OpenAPIHono<AppEnv>()
    .openapi(health, (c) => c.json({ status: 'ok' as const }, 200))
    .openapi(readiness, async (c) => {
      try {
        const [row] = await queryRows<{ n: number }>(database.db, sql`select count(*)::int as n from drizzle.__drizzle_migrations`);
        const { pending, late, failed } = await outboxCounts(database.db, new Date());
        return c.json({ status: 'ready' as const, database: { driver: database.driver, migrations: row?.n ?? 0 }, outbox: { pending, late, failed } }, 200);
      } catch (err) {
        c.get('log').warn({ err }, 'readiness check failed');
        throw new UnavailableError('The database does not answer or has no migrations applied.');
      }
    })
    .openapi(metrics, async (c) => {
      if (!mayScrape(c.req.header('authorization'), options.metricsToken)) {
        c.header('www-authenticate', 'Bearer realm="metrics"');
        throw new UnauthorizedError('The metrics need Authorization: Bearer <MADAD_METRICS_TOKEN>.');
      }
      return c.text(await registry.metrics(), 200, { 'content-type': registry.contentType });
    });
}
