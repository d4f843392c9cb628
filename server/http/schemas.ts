import { z } from '@hono/zod-openapi';
import type { Feature, FeatureCollection, Geometry, MultiPolygon, Polygon } from 'geojson';
import { AreaInputError, readAreaPolygons } from '../../geodata/area-input.ts';

/** Timestamps leave the API as ISO 8601 strings in UTC; the web shows them in Pakistan time. */
export const isoDate = z.iso.datetime().openapi({ example: '2026-08-26T04:00:00.000Z' });

export const iso = (d: Date | null | undefined): string | null => (d ? d.toISOString() : null);

export const idParam = z.object({ id: z.uuid({ error: 'expected an id (UUID)' }) });

export const pageQuery = {
  page: z.coerce.number().int().min(1).default(1),
  pageSize: z.coerce.number().int().min(1).max(500).default(50),
};

/**
 * A P-code at any level, `PK` (country) to `PK70301` (a tehsil), upper-cased as the gazetteer stores it.
 * Case is spelled out in the pattern, not as a regex flag, because OpenAPI's `pattern` carries no flags.
 */
export const pcodeSchema = z
  .string()
  .regex(/^[Pp][Kk]\d*$/, 'expected a P-code such as PK7 or PK703')
  .toUpperCase()
  .openapi({ example: 'PK703' });

/** A jurisdiction is a P-code prefix: `PK` federal, `PK7` Sindh, `PK701` one district. */
export const jurisdictionSchema = z
  .string()
  .regex(/^PK\d{0,7}$/, 'expected a P-code prefix such as PK (federal), PK7 (Sindh) or PK701 (a district)');

export const INSTANT_YEARS = { min: 1900, max: 2200 } as const;

/**
 * A moment as a request may give it: ISO 8601 with `Z` or an offset such as `+05:00`, in the years 1900 to
 * 2200. Nothing Madad holds lies outside them, and the bound keeps out what PostgreSQL refuses (year 0000,
 * which ISO 8601 allows and timestamptz has no room for) before it reaches a query as a 500.
 */
export const isoInstant = z.iso
  // `abort`: text that is no datetime at all is told only that, not also that its year is out of range.
  .datetime({ offset: true, abort: true })
  .refine(
    (text) => {
      const year = Number(text.slice(0, 4));
      return year >= INSTANT_YEARS.min && year <= INSTANT_YEARS.max && !Number.isNaN(Date.parse(text));
    },
    { message: `expected a moment in the years ${INSTANT_YEARS.min} to ${INSTANT_YEARS.max}, such as 2026-08-26T09:00:00+05:00` },
  )
  .openapi({ example: '2026-08-26T09:00:00+05:00' });

/**
 * Marks the zod issue of an area that cannot be read, so the one error mapper answers `invalid_area`
 * with the body path of the area (server/http/problem.ts).
 */
export const AREA_ISSUE = 'invalid_area';

/** An affected area once read: the polygons as given, or a Feature's or FeatureCollection's as one MultiPolygon. */
export type AreaGeometry = Polygon | MultiPolygon;

/**
 * An affected area as a caller may write it: a GeoJSON Polygon, MultiPolygon, Feature or FeatureCollection
 * of those, in [lon, lat] (RFC 7946 §3.1.1). It is read at the door with the core's own reader
 * (geodata/area-input.ts), so an unclosed ring is refused before any work, naming the body path, and every
 * route agrees on what an area is. A FeatureCollection means "inside any of its polygons", so it becomes
 * one MultiPolygon.
 */
export const areaGeometrySchema = z
  .custom<Polygon | MultiPolygon | Feature | FeatureCollection>()
  .transform((input, ctx): AreaGeometry => {
    let polygons: ReturnType<typeof readAreaPolygons>;
    try {
      polygons = readAreaPolygons(input);
    } catch (err) {
      if (!(err instanceof AreaInputError)) throw err;
      ctx.addIssue({ code: 'custom', message: err.message, params: { problem: AREA_ISSUE } });
      return z.NEVER;
    }
    return input.type === 'Polygon' || input.type === 'MultiPolygon' ? input : { type: 'MultiPolygon', coordinates: polygons };
  })
  .openapi({
    type: 'object',
    description: 'A GeoJSON Polygon, MultiPolygon, Feature or FeatureCollection of them, in [lon, lat]; each ring closed',
    example: { type: 'Polygon', coordinates: [[[67.5, 25.0], [68.5, 25.0], [68.5, 26.0], [67.5, 26.0], [67.5, 25.0]]] },
  });

const GEOMETRY_TYPES = ['Point', 'MultiPoint', 'LineString', 'MultiLineString', 'Polygon', 'MultiPolygon', 'GeometryCollection'];

/**
 * A GeoJSON geometry on its way out (an alert's footprint may be a USGS epicentre Point). Only its `type`
 * is checked: what goes out was read by a parser or by `areaGeometrySchema` first.
 */
export const geometrySchema = z
  .custom<Geometry>((g) => typeof g === 'object' && g !== null && GEOMETRY_TYPES.includes((g as { type?: string }).type ?? ''), 'expected a GeoJSON geometry')
  .openapi({ type: 'object', description: 'A GeoJSON geometry (RFC 7946 §3.1) in [lon, lat]', required: ['type'], properties: { type: { type: 'string', enum: GEOMETRY_TYPES } } });

/** A boundary on its way out: a GeoJSON Polygon or MultiPolygon in [lon, lat]. */
export const polygonsSchema = z
  .custom<Polygon | MultiPolygon>((g) => typeof g === 'object' && g !== null && ['Polygon', 'MultiPolygon'].includes((g as { type?: string }).type ?? ''), 'expected a GeoJSON Polygon or MultiPolygon')
  .openapi({ type: 'object', description: 'A GeoJSON Polygon or MultiPolygon in [lon, lat]', required: ['type', 'coordinates'], properties: { type: { type: 'string', enum: ['Polygon', 'MultiPolygon'] } } });
