import { createRoute, z } from '@hono/zod-openapi';
import { allow, signedIn } from '../http/guards.ts';
import { publisherFor } from '../access/senders.ts';
import { ValidationError } from '../errors.ts';
import { ctxOf, type RouteDeps } from '../http/deps.ts';
import { errorResponses, json, tooLargeResponse } from '../http/openapi.ts';
import { newRouter } from '../http/router.ts';
import { idParam } from '../http/schemas.ts';
import { alertDetailSchema, alertListQuery, alertListSchema, ingestReportSchema } from './schema.ts';
import { getAlert, listAlerts } from './service.ts';
import { ingestBody } from './store.ts';

const tags = ['Alerts'];

export function alertRoutes(deps: RouteDeps) {
  return newRouter()
    .openapi(
      createRoute({
        method: 'post',
        path: '/api/alerts',
        tags,
        summary: 'Push alerts: CAP 1.0/1.1/1.2 (also in Atom/RSS or an <alerts> wrapper), GDACS RSS or JSON, USGS GeoJSON, Madad JSON',
        description:
          'Each message must carry a sender your token or account is bound to, and an area that lies within your jurisdiction; an Update or Cancel acts only on alerts of its own sender (CAP 1.2 §3.2.1). A message that does not is a rejected item saying why; a body whose every message is rejected is a 400.',
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
        responses: { 200: json(ingestReportSchema, 'What happened to each message in the body'), ...errorResponses, 413: tooLargeResponse },
      }),
      async (c) => {
        const body = new Uint8Array(await c.req.arrayBuffer());
        if (body.length === 0) throw new ValidationError('The body is empty: send a CAP, GDACS, USGS or Madad JSON alert.');
        const ctx = ctxOf(c, deps);
        // A pusher publishes only as the senders it is bound to, over its own jurisdiction.
        const report = await ingestBody(ctx, { body, contentType: c.req.header('content-type'), publisher: await publisherFor(ctx.db, ctx.actor) });
        if (report.items.every((i) => i.result === 'rejected')) {
          throw new ValidationError(
            `No message in the body could be accepted: ${report.items.map((i) => `${i.identifier ?? 'a message'}: ${i.reason}`).join('; ')}`,
            report.items.map((i, n) => ({ field: `messages.${n}${i.identifier ? ` (${i.identifier})` : ''}`, message: i.reason ?? 'rejected' })),
          );
        }
        return c.json(ingestReportSchema.parse(report), 200);
      },
    )
    .openapi(
      createRoute({
        method: 'get',
        path: '/api/alerts',
        tags,
        summary: 'Alerts, newest first',
        middleware: [signedIn],
        request: { query: alertListQuery },
        responses: { 200: json(alertListSchema, 'Alerts'), ...errorResponses },
      }),
      async (c) => {
        const q = c.req.valid('query');
        const result = await listAlerts(ctxOf(c, deps), {
          ...q,
          active: q.active === undefined ? undefined : q.active === 'true',
          since: q.since ? new Date(q.since) : undefined,
        });
        return c.json(alertListSchema.parse(result), 200);
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
        responses: { 200: json(alertDetailSchema, 'The alert'), ...errorResponses },
      }),
      async (c) => c.json(alertDetailSchema.parse(await getAlert(ctxOf(c, deps), c.req.valid('param').id)), 200),
    );
}
