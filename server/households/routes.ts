import { createRoute, z } from '@hono/zod-openapi';
import { signedIn } from '../http/guards.ts';
import { ctxOf, type RouteDeps } from '../http/deps.ts';
import { errorResponses, json, problemSchema } from '../http/openapi.ts';
import { newRouter } from '../http/router.ts';
import { pageQuery, pcodeSchema } from '../http/schemas.ts';
import { canSeeIdentity } from '../access/principal.ts';
import { disclosureFor, protectDensity } from '../registry/disclosure.ts';
import { densitySchema, householdListSchema } from './schema.ts';
import { listHouseholds } from './service.ts';

const tags = ['Registry'];

const densityBusyResponse = {
  description: 'The count ran past MADAD_SPATIAL_BUDGET_MS, or too many area questions are waiting',
  content: { 'application/problem+json': { schema: problemSchema } },
};

const bbox = z
  .string()
  .transform((s, ctx) => {
    const parts = s.split(',').map(Number);
    const [w, so, e, n] = parts;
    if (parts.length !== 4 || parts.some((p) => !Number.isFinite(p)) || w! >= e! || so! >= n! || so! < -90 || n! > 90 || w! < -180 || e! > 180) {
      ctx.addIssue({ code: 'custom', message: 'expected west,south,east,north in degrees, e.g. 66.5,23.5,71,28.5' });
      return z.NEVER;
    }
    return parts as [number, number, number, number];
  })
  .openapi({ type: 'string', example: '66.5,23.5,71,28.5' });

export function householdRoutes(deps: RouteDeps) {
  return newRouter()
    .openapi(
      createRoute({
        method: 'get',
        path: '/api/households',
        tags,
        summary: 'Households within your jurisdiction; identity only for programme managers and finance officers (audited), CNIC masked',
        middleware: [signedIn],
        request: {
          query: z.object({
            area: pcodeSchema.optional(),
            bbox: bbox.optional(),
            ...pageQuery,
            pageSize: z.coerce.number().int().min(1).max(2000).default(100),
          }),
        },
        responses: { 200: json(householdListSchema, 'Households'), ...errorResponses },
      }),
      async (c) => c.json(householdListSchema.parse(await listHouseholds(ctxOf(c, deps), c.req.valid('query'))), 200),
    )
    .openapi(
      createRoute({
        method: 'get',
        path: '/api/households/density',
        tags,
        summary: 'Households per H3 cell in a bbox, for the density map (counts only, no identity)',
        middleware: [signedIn],
        request: { query: z.object({ bbox, res: z.coerce.number().int().min(3).max(8).default(6) }) },
        responses: { 200: json(densitySchema, 'Cells'), ...errorResponses, 503: densityBusyResponse },
      }),
      async (c) => {
        const { bbox: box, res } = c.req.valid('query');
        const { actor } = ctxOf(c, deps);
        // Counted in a spatial worker: a country-wide box at 10 M households is seconds of H3 work.
        const { cells } = await deps.registry.density(box, res, actor.jurisdiction);
        const disclosure = disclosureFor(canSeeIdentity(actor), deps.registry.policy.minCell);
        return c.json(densitySchema.parse({ res, cells: protectDensity(cells, disclosure), disclosure }), 200);
      },
    );
}
