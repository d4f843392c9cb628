import { createRoute, z } from '@hono/zod-openapi';
import { signedIn } from '../access/middleware.ts';
import type { RouteDeps } from '../http/deps.ts';
import { errorResponses } from '../http/openapi.ts';
import { newRouter } from '../http/router.ts';
import { getArea, listAreas } from './service.ts';

const tags = ['Areas'];
const geojson = z.record(z.string(), z.unknown()).openapi('GeoJSON');
const tolerance = z.coerce.number().min(0).max(1).optional().openapi({ description: 'Simplify geometry to this tolerance in degrees (e.g. 0.01 for maps)' });

export function areaRoutes(deps: RouteDeps) {
  return newRouter()
    .openapi(
      createRoute({
        method: 'get',
        path: '/api/areas',
        tags,
        summary: 'Current administrative areas as a GeoJSON FeatureCollection',
        middleware: [signedIn],
        request: {
          query: z.object({
            level: z.coerce.number().int().min(0).max(4).optional(),
            parent: z.string().regex(/^PK\d*$/, 'expected a P-code such as PK7').optional(),
            q: z.string().min(1).max(100).optional().openapi({ description: 'Name or code; forgives case, punctuation and common variants' }),
            tolerance,
          }),
        },
        responses: { 200: { description: 'Areas', content: { 'application/geo+json': { schema: geojson } } }, ...errorResponses },
      }),
      async (c) => c.json(await listAreas(deps.database.db, c.req.valid('query')), 200),
    )
    .openapi(
      createRoute({
        method: 'get',
        path: '/api/areas/{code}',
        tags,
        summary: 'One area with its boundary versions',
        middleware: [signedIn],
        request: { params: z.object({ code: z.string().regex(/^PK\d*$/i, 'expected a P-code such as PK703') }), query: z.object({ tolerance }) },
        responses: { 200: { description: 'The area', content: { 'application/geo+json': { schema: geojson } } }, ...errorResponses },
      }),
      async (c) => c.json(await getArea(deps.database.db, c.req.valid('param').code, c.req.valid('query').tolerance), 200),
    );
}
