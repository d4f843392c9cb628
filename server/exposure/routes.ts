import { createRoute, z } from '@hono/zod-openapi';
import { signedIn } from '../http/guards.ts';
import type { RouteDeps } from '../http/deps.ts';
import { errorResponses, json, tooLargeResponse } from '../http/openapi.ts';
import { newRouter } from '../http/router.ts';
import { areaGeometrySchema, pcodeSchema } from '../http/schemas.ts';

export const affectedAreaSchema = z
  .object({
    codes: z.array(pcodeSchema).max(2000).optional(),
    geometry: areaGeometrySchema.optional(),
  })
  .refine((a) => (a.codes?.length ?? 0) > 0 || a.geometry, { message: 'give area codes, a geometry, or both' })
  .openapi('AffectedArea');

export const exposureRequestSchema = z.object({ area: affectedAreaSchema, pmtCutoff: z.number().min(0).max(100).default(32) }).openapi('ExposureRequest');

/** A count of households in one area; `unknown` for households the gazetteer could not place. */
const count = z.object({ code: z.string(), households: z.number().int() });

export const exposureSchema = z
  .object({
    households: z.number().int(),
    members: z.number().int(),
    pmtCutoff: z.number(),
    atOrUnderCutoff: z.number().int(),
    byPmtBand: z.array(z.object({ band: z.string(), households: z.number().int() })),
    byProvince: z.array(count),
    byDistrict: z.array(count),
    byTehsil: z.array(count),
    registrySize: z.number().int(),
    milliseconds: z.number(),
  })
  .openapi('Exposure');
export type ExposureRequest = z.input<typeof exposureRequestSchema>;
export type Exposure = z.infer<typeof exposureSchema>;
export type AreaCount = z.infer<typeof count>;

/** Counts only: exposure carries no identity, so every signed-in role may ask. */
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
      responses: { 200: json(exposureSchema, 'Exposure'), ...errorResponses, 413: tooLargeResponse },
    }),
    async (c) => {
      const { area, pmtCutoff } = c.req.valid('json');
      const index = await deps.registry.get();
      const started = performance.now();
      const rows = index.select({ codes: area.codes, geometry: area.geometry });
      const exposure = index.exposure(rows, pmtCutoff);
      return c.json(exposureSchema.parse({ ...exposure, registrySize: index.count, milliseconds: Math.round(performance.now() - started) }), 200);
    },
  );
}
