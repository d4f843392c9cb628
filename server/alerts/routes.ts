import { createRoute, z } from '@hono/zod-openapi';
import { allow, signedIn } from '../access/middleware.ts';
import { actorOf, requirePrincipal } from '../access/principal.ts';
import { HAZARDS } from '../../triggers/subject.ts';
import { ValidationError } from '../errors.ts';
import type { RouteDeps } from '../http/deps.ts';
import { errorResponses } from '../http/openapi.ts';
import { newRouter } from '../http/router.ts';
import { idParam, pageQuery } from '../http/schemas.ts';
import { getAlert, listAlerts } from './service.ts';
import { ingestBody } from './store.ts';

const tags = ['Alerts'];

const ingestItemSchema = z.object({
  result: z.enum(['created', 'updated', 'unchanged', 'rejected']),
  sender: z.string().optional(),
  identifier: z.string().optional(),
  id: z.string().optional(),
  state: z.string().optional(),
  reason: z.string().optional(),
  warnings: z.array(z.string()),
  unresolved: z.array(z.object({ valueName: z.string(), value: z.string() })).optional(),
});

const alertSchema = z.record(z.string(), z.unknown()).openapi('Alert');

export function alertRoutes(deps: RouteDeps) {
  return newRouter()
    .openapi(
      createRoute({
        method: 'post',
        path: '/api/alerts',
        tags,
        summary: 'Push alerts: CAP 1.0/1.1/1.2 (also in Atom/RSS or an <alerts> wrapper), GDACS RSS or JSON, USGS GeoJSON, Madad JSON',
        middleware: [allow('feed', 'dma_officer', 'admin')],
        request: {
          body: {
            content: {
              'application/cap+xml': { schema: z.string() },
              'application/xml': { schema: z.string() },
              'application/json': { schema: z.unknown() },
              'application/geo+json': { schema: z.unknown() },
            },
            required: true,
          },
        },
        responses: {
          200: {
            description: 'What happened to each message in the body',
            content: { 'application/json': { schema: z.object({ format: z.string(), items: z.array(ingestItemSchema) }) } },
          },
          ...errorResponses,
          413: errorResponses[400],
        },
      }),
      async (c) => {
        const body = new Uint8Array(await c.req.arrayBuffer());
        if (body.length === 0) throw new ValidationError('The body is empty: send a CAP, GDACS, USGS or Madad JSON alert.');
        const report = await ingestBody(
          { database: deps.database, bus: deps.bus, now: deps.clock(), via: actorOf(requirePrincipal(c.get('principal'))) },
          body,
          c.req.header('content-type'),
        );
        if (report.items.every((i) => i.result === 'rejected')) {
          throw new ValidationError(
            `No message in the body could be accepted: ${report.items.map((i) => `${i.identifier ?? 'a message'}: ${i.reason}`).join('; ')}`,
            report.items.map((i, n) => ({ field: `messages.${n}${i.identifier ? ` (${i.identifier})` : ''}`, message: i.reason ?? 'rejected' })),
          );
        }
        return c.json(report, 200);
      },
    )
    .openapi(
      createRoute({
        method: 'get',
        path: '/api/alerts',
        tags,
        summary: 'Alerts, newest first',
        middleware: [signedIn],
        request: {
          query: z.object({
            active: z.enum(['true', 'false']).optional(),
            hazard: z.enum(HAZARDS).optional(),
            area: z.string().regex(/^PK\d*$/, 'expected a P-code prefix such as PK7').optional(),
            since: z.iso.datetime({ offset: true }).optional(),
            ...pageQuery,
          }),
        },
        responses: {
          200: { description: 'Alerts', content: { 'application/json': { schema: z.object({ total: z.number(), items: z.array(alertSchema) }) } } },
          ...errorResponses,
        },
      }),
      async (c) => {
        const q = c.req.valid('query');
        const result = await listAlerts(
          deps.database.db,
          { ...q, active: q.active === undefined ? undefined : q.active === 'true', since: q.since ? new Date(q.since) : undefined },
          deps.clock(),
        );
        return c.json(result, 200);
      },
    )
    .openapi(
      createRoute({
        method: 'get',
        path: '/api/alerts/{id}',
        tags,
        summary: 'One alert with all its languages and its chain of versions',
        middleware: [signedIn],
        request: { params: idParam },
        responses: { 200: { description: 'The alert', content: { 'application/json': { schema: alertSchema } } }, ...errorResponses },
      }),
      async (c) => c.json(await getAlert(deps.database.db, c.req.valid('param').id, deps.clock()), 200),
    );
}
