import { z } from '@hono/zod-openapi';
import { pcodeSchema, polygonsSchema } from '../http/schemas.ts';

/** A calendar day, `YYYY-MM-DD`: boundary versions are valid from one day to another. */
const day = z.iso.date().openapi({ example: '2026-08-26' });

/** What a boundary says about its area. */
export const areaPropertiesSchema = z
  .object({
    code: pcodeSchema,
    name: z.string(),
    nameUr: z.string().nullable().openapi({ description: 'The name in Urdu where the gazetteer has one (the default provinces); null otherwise' }),
    level: z.number().int().min(0).max(4).openapi({ description: '0 country, 1 province, 2 district, 3 tehsil, 4 union council' }),
    parentCode: pcodeSchema.nullable(),
    population: z.number().int().nullable(),
    source: z.string(),
    validFrom: day,
    validTo: day.nullable(),
  })
  .openapi('AreaProperties');

/** One area's current boundary as a GeoJSON Feature (RFC 7946 §3.2), its id the P-code. */
export const areaFeatureSchema = z
  .object({
    type: z.literal('Feature'),
    id: z.string(),
    bbox: z.tuple([z.number(), z.number(), z.number(), z.number()]).openapi({ description: '[west, south, east, north]' }),
    geometry: polygonsSchema,
    properties: areaPropertiesSchema,
  })
  .openapi('AreaFeature');

export const areaCollectionSchema = z.object({ type: z.literal('FeatureCollection'), features: z.array(areaFeatureSchema) }).openapi('AreaCollection');

/** Every boundary version of an area, oldest first; the current one has no `validTo`. */
export const areaVersionSchema = z.object({ validFrom: day, validTo: day.nullable(), source: z.string(), geometryHash: z.string() });

export const areaDetailSchema = areaFeatureSchema.extend({ versions: z.array(areaVersionSchema) }).openapi('AreaDetail');

export const tolerance = z.coerce
  .number()
  .min(0)
  .max(1)
  .optional()
  .openapi({ description: 'Simplify geometry to this tolerance in degrees (e.g. 0.01 for maps)' });

export const areaListQuery = z.object({
  level: z.coerce.number().int().min(0).max(4).optional(),
  parent: pcodeSchema.optional(),
  q: z.string().min(1).max(100).optional().openapi({ description: 'Name or code; forgives case, punctuation and common variants' }),
  tolerance,
});

export type AreaProperties = z.infer<typeof areaPropertiesSchema>;
export type AreaFeature = z.infer<typeof areaFeatureSchema>;
export type AreaCollection = z.infer<typeof areaCollectionSchema>;
export type AreaDetail = z.infer<typeof areaDetailSchema>;
export type AreaListQuery = z.input<typeof areaListQuery>;
