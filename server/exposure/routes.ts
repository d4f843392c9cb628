import { createRoute, z } from '@hono/zod-openapi';
import { canSeeIdentity } from '../access/principal.ts';
import { signedIn } from '../http/guards.ts';
import { ctxOf, type RouteDeps } from '../http/deps.ts';
import { errorResponses, json, problemSchema, tooLargeResponse } from '../http/openapi.ts';
import { newRouter } from '../http/router.ts';
import { areaGeometrySchema, pcodeSchema } from '../http/schemas.ts';
import { disclosureFor, protectExposure } from '../registry/disclosure.ts';

export const affectedAreaSchema = z
  .object({
    codes: z.array(pcodeSchema).max(2000).optional(),
    geometry: areaGeometrySchema.optional(),
  })
  .refine((a) => (a.codes?.length ?? 0) > 0 || a.geometry, { message: 'give area codes, a geometry, or both' })
  .openapi('AffectedArea');

export const exposureRequestSchema = z.object({ area: affectedAreaSchema, pmtCutoff: z.number().min(0).max(100).default(32) }).openapi('ExposureRequest');

/** A count of households; null when fewer than `disclosure.minCell` (roles without identity access only). */
export const protectedCount = z
  .number()
  .int()
  .nullable()
  .openapi({ description: 'Households; null when fewer than disclosure.minCell, and a multiple of disclosure.roundedTo, for roles without identity access' });

/** How the figures were protected: null when they are exact (programme managers, finance officers). */
export const disclosureSchema = z
  .object({ minCell: z.number().int(), roundedTo: z.number().int() })
  .nullable()
  .openapi('Disclosure', { description: 'Counts under minCell are null and the others rounded to a multiple of roundedTo; null when figures are exact' });

/** A count of households in one area; `unknown` for households the gazetteer could not place. */
const count = z.object({ code: z.string(), households: protectedCount });

export const exposureSchema = z
  .object({
    households: protectedCount,
    members: z.number().int().nullable(),
    pmtCutoff: z.number(),
    atOrUnderCutoff: protectedCount,
    byPmtBand: z.array(z.object({ band: z.string(), households: protectedCount })),
    byProvince: z.array(count),
    byDistrict: z.array(count),
    byTehsil: z.array(count),
    disclosure: disclosureSchema,
    registrySize: z.number().int(),
    milliseconds: z.number(),
  })
  .openapi('Exposure');
export type ExposureRequest = z.input<typeof exposureRequestSchema>;
export type Exposure = z.infer<typeof exposureSchema>;
export type AreaCount = z.infer<typeof count>;

const problem = (description: string) => ({ description, content: { 'application/problem+json': { schema: problemSchema } } });

/**
 * 503 on an area route: the question ran past MADAD_SPATIAL_BUDGET_MS (simplify the area), or too many wait.
 * An area with more positions than MADAD_MAX_POLYGON_VERTICES is a 413, whose detail names that limit.
 */
export const areaTooComplexResponse = problem('The area is too complex to answer within MADAD_SPATIAL_BUDGET_MS, or too many area questions are waiting');

/**
 * Counts only: exposure carries no identity, so every signed-in role may ask. The counting runs in a
 * spatial worker within the time budget (server/registry/spatial-pool.ts), and roles without identity
 * access get small cells suppressed and counts rounded (server/registry/disclosure.ts).
 */
export function exposureRoutes(deps: RouteDeps) {
  return newRouter().openapi(
    createRoute({
      method: 'post',
      path: '/api/exposure',
      tags: ['Registry'],
      summary: 'Households inside an area, by province, district, tehsil and PMT band, and how many are at or under a PMT cut-off',
      middleware: [signedIn],
      request: {
        body: { content: { 'application/json': { schema: exposureRequestSchema } }, required: true },
      },
      responses: { 200: json(exposureSchema, 'Exposure'), ...errorResponses, 413: tooLargeResponse, 503: areaTooComplexResponse },
    }),
    async (c) => {
      const { area, pmtCutoff } = c.req.valid('json');
      const { actor } = ctxOf(c, deps);
      const started = performance.now();
      const geometry = deps.registry.requestArea(area.geometry);
      // Only the caller's households are counted, as they are listed (server/access/scope.ts householdScope).
      const { index, counts } = await deps.registry.exposure({ ...(area.codes ? { codes: area.codes } : {}), geometry }, pmtCutoff, actor.jurisdiction);
      const shown = protectExposure(counts, disclosureFor(canSeeIdentity(actor), deps.registry.policy.minCell));
      return c.json(exposureSchema.parse({ ...shown, registrySize: index.count, milliseconds: Math.round(performance.now() - started) }), 200);
    },
  );
}
