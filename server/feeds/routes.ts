import { createRoute, z } from '@hono/zod-openapi';
import { allow } from '../http/guards.ts';
import { ctxOf, type RouteDeps } from '../http/deps.ts';
import { conflictResponse, errorResponses, json, tooLargeResponse } from '../http/openapi.ts';
import { newRouter } from '../http/router.ts';
import { idParam } from '../http/schemas.ts';
import { feedSchema, newFeedSchema, toFeed } from './schema.ts';
import { addFeed, getFeed, listFeeds } from './service.ts';

const tags = ['Feeds'];

/** Feeds Madad polls for alerts; officers see whether they are healthy, admins add them. */
export function feedRoutes(deps: RouteDeps) {
  return newRouter()
    .openapi(
      createRoute({
        method: 'get',
        path: '/api/feeds',
        tags,
        summary: 'Polled feeds with their status: last success, last error, items seen, next poll',
        middleware: [allow('admin', 'dma_officer')],
        responses: { 200: json(z.object({ items: z.array(feedSchema) }), 'Feeds'), ...errorResponses },
      }),
      async (c) => c.json({ items: (await listFeeds(ctxOf(c, deps))).map(toFeed) }, 200),
    )
    .openapi(
      createRoute({
        method: 'post',
        path: '/api/feeds',
        tags,
        summary: 'Add a feed to poll (CAP RSS/Atom, GDACS RSS or API, USGS GeoJSON); it is polled at once',
        middleware: [allow('admin')],
        request: { body: { content: { 'application/json': { schema: newFeedSchema } }, required: true } },
        responses: { 201: json(feedSchema, 'Added'), ...errorResponses, 409: { ...conflictResponse, description: 'A feed with this URL exists already' }, 413: tooLargeResponse },
      }),
      async (c) => c.json(toFeed(await addFeed(ctxOf(c, deps), c.req.valid('json'))), 201),
    )
    .openapi(
      createRoute({
        method: 'get',
        path: '/api/feeds/{id}',
        tags,
        summary: 'One feed and its status',
        middleware: [allow('admin', 'dma_officer')],
        request: { params: idParam },
        responses: { 200: json(feedSchema, 'The feed'), ...errorResponses },
      }),
      async (c) => c.json(toFeed(await getFeed(ctxOf(c, deps), c.req.valid('param').id)), 200),
    );
}
