import { createRoute, z } from '@hono/zod-openapi';
import { signedIn } from '../http/guards.ts';
import { ctxOf, type RouteDeps } from '../http/deps.ts';
import { errorResponses } from '../http/openapi.ts';
import { newRouter } from '../http/router.ts';
import { pcodeSchema } from '../http/schemas.ts';
import { areaCollectionSchema, areaDetailSchema, areaListQuery, tolerance } from './schema.ts';
import { getArea, listAreas } from './service.ts';

const tags = ['Areas'];
const geojson = <T extends z.ZodType>(schema: T, description: string) => ({ description, content: { 'application/geo+json': { schema } } });

export function areaRoutes(deps: RouteDeps) {
  return newRouter()
    .openapi(
      createRoute({
        method: 'get',
        path: '/api/areas',
        tags,
        summary: 'Current administrative areas as a GeoJSON FeatureCollection',
        middleware: [signedIn],
        request: { query: areaListQuery },
        responses: { 200: geojson(areaCollectionSchema, 'Areas'), ...errorResponses },
      }),
      async (c) => c.json(areaCollectionSchema.parse(await listAreas(ctxOf(c, deps), c.req.valid('query'))), 200),
    )
    .openapi(
      createRoute({
        method: 'get',
        path: '/api/areas/{code}',
        tags,
        summary: 'One area with its boundary versions',
        middleware: [signedIn],
        request: { params: z.object({ code: pcodeSchema }), query: z.object({ tolerance }) },
        responses: { 200: geojson(areaDetailSchema, 'The area'), ...errorResponses },
      }),
      async (c) => c.json(areaDetailSchema.parse(await getArea(ctxOf(c, deps), { code: c.req.valid('param').code, tolerance: c.req.valid('query').tolerance })), 200),
    );
}
