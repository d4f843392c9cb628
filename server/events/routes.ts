import { createRoute, z } from '@hono/zod-openapi';
import { allow, signedIn } from '../http/guards.ts';
import { ctxOf, type RouteDeps } from '../http/deps.ts';
import { conflictResponse, errorResponses, json, tooLargeResponse } from '../http/openapi.ts';
import { newRouter } from '../http/router.ts';
import { idParam, pageQuery } from '../http/schemas.ts';
import { eventListQuery, eventSchema, newEventSchema, previewBody, previewSchema, toEvent } from './schema.ts';
import { closeEvent, createEvent, declareEvent, getEvent, listEvents, previewNotification } from './service.ts';

const tags = ['Events'];
/** Declaring or closing an event in a status that does not allow it. */
const conflict = { 409: conflictResponse };

export function eventRoutes(deps: RouteDeps) {
  return newRouter()
    .openapi(
      createRoute({
        method: 'post',
        path: '/api/events/resolve',
        tags,
        summary: 'What each line of a notification (text or CSV) resolves to, with the candidates of an ambiguous line and suggestions for an unknown one; nothing is stored',
        middleware: [allow('dma_officer', 'admin')],
        request: { body: { content: { 'application/json': { schema: previewBody } }, required: true } },
        responses: { 200: json(previewSchema, 'Each line and what it resolved to'), ...errorResponses, 413: tooLargeResponse },
      }),
      async (c) => c.json(previewSchema.parse({ lines: await previewNotification(ctxOf(c, deps), c.req.valid('json')) }), 200),
    )
    .openapi(
      createRoute({
        method: 'post',
        path: '/api/events',
        tags,
        summary: 'Declare (or draft) an event from a notification list of P-codes or area names; refused whole if any line does not resolve',
        middleware: [allow('dma_officer', 'admin')],
        request: { body: { content: { 'application/json': { schema: newEventSchema } }, required: true } },
        responses: { 201: json(eventSchema, 'The event, with each notification line and what it resolved to'), ...errorResponses, 413: tooLargeResponse },
      }),
      async (c) => c.json(toEvent(await createEvent(ctxOf(c, deps), c.req.valid('json'))), 201),
    )
    .openapi(
      createRoute({
        method: 'get',
        path: '/api/events',
        tags,
        summary: 'Events touching your jurisdiction, newest first',
        middleware: [signedIn],
        request: { query: eventListQuery.extend(pageQuery) },
        responses: { 200: json(z.object({ total: z.number().int(), items: z.array(eventSchema) }), 'Events'), ...errorResponses },
      }),
      async (c) => {
        const { total, items } = await listEvents(ctxOf(c, deps), c.req.valid('query'));
        return c.json({ total, items: items.map(toEvent) }, 200);
      },
    )
    .openapi(
      createRoute({
        method: 'get',
        path: '/api/events/{id}',
        tags,
        summary: 'One event',
        middleware: [signedIn],
        request: { params: idParam },
        responses: { 200: json(eventSchema, 'The event'), ...errorResponses },
      }),
      async (c) => {
        return c.json(toEvent(await getEvent(ctxOf(c, deps), c.req.valid('param').id)), 200);
      },
    )
    .openapi(
      createRoute({
        method: 'post',
        path: '/api/events/{id}/declare',
        tags,
        summary: 'Declare a draft event',
        middleware: [allow('dma_officer', 'admin')],
        request: { params: idParam },
        responses: { 200: json(eventSchema, 'The declared event'), ...errorResponses, ...conflict },
      }),
      async (c) => c.json(toEvent(await declareEvent(ctxOf(c, deps), c.req.valid('param').id)), 200),
    )
    .openapi(
      createRoute({
        method: 'post',
        path: '/api/events/{id}/close',
        tags,
        summary: 'Close a draft or declared event',
        middleware: [allow('dma_officer', 'admin')],
        request: { params: idParam },
        responses: { 200: json(eventSchema, 'The closed event'), ...errorResponses, ...conflict },
      }),
      async (c) => c.json(toEvent(await closeEvent(ctxOf(c, deps), c.req.valid('param').id)), 200),
    );
}
