import { createRoute, z } from '@hono/zod-openapi';
import type { Geometry } from 'geojson';
import { AreaInputError } from '../../geodata/area-input.ts';
import { signedIn } from '../access/middleware.ts';
import { ValidationError } from '../errors.ts';
import type { RouteDeps } from '../http/deps.ts';
import { errorResponses } from '../http/openapi.ts';
import { newRouter } from '../http/router.ts';

export const affectedAreaSchema = z
  .object({
    codes: z.array(z.string().regex(/^PK\d*$/i, 'expected P-codes such as PK7 or PK703')).max(2000).optional(),
    geometry: z.record(z.string(), z.unknown()).optional().openapi({ description: 'GeoJSON Polygon, MultiPolygon, Feature or FeatureCollection of them, in [lon, lat]' }),
  })
  .refine((a) => (a.codes?.length ?? 0) > 0 || a.geometry, { message: 'give area codes, a geometry, or both' })
  .openapi('AffectedArea');

const count = z.object({ code: z.string(), households: z.number().int() });

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
        body: {
          content: { 'application/json': { schema: z.object({ area: affectedAreaSchema, pmtCutoff: z.number().min(0).max(100).default(32) }) } },
          required: true,
        },
      },
      responses: {
        200: {
          description: 'Exposure',
          content: {
            'application/json': {
              schema: z.object({
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
              }),
            },
          },
        },
        ...errorResponses,
      },
    }),
    async (c) => {
      const { area, pmtCutoff } = c.req.valid('json');
      const index = await deps.registry.get();
      const started = performance.now();
      let rows;
      try {
        rows = index.select({ codes: area.codes, geometry: area.geometry as Geometry | undefined });
      } catch (err) {
        if (err instanceof AreaInputError) throw new ValidationError(`The area geometry is not usable: ${err.message}`, [{ field: 'json.area.geometry', message: err.message }]);
        throw err;
      }
      const exposure = index.exposure(rows, pmtCutoff);
      return c.json({ ...exposure, registrySize: index.count, milliseconds: Math.round(performance.now() - started) }, 200);
    },
  );
}
