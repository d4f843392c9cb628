/**
 * Geometry shared by every adapter: rings checked and closed, coordinates checked against the WGS 84
 * range, and the pieces of a message's area joined into one GeoJSON geometry (RFC 7946, [lon, lat]).
 */
import type { Geometry, Point, Position } from 'geojson';
import { MessageRejected } from './error.ts';

export function inRange(lon: number, lat: number): boolean {
  return Number.isFinite(lon) && Number.isFinite(lat) && Math.abs(lat) <= 90 && Math.abs(lon) <= 180;
}

/** Rejects the message when a position lies outside the WGS 84 range. */
export function assertPositions(positions: Position[], where: string): void {
  for (const [lon, lat] of positions) {
    if (!inRange(lon ?? NaN, lat ?? NaN)) {
      throw new MessageRejected(`${where} has a coordinate out of range (lon ${lon}, lat ${lat}); latitude must be within ±90 and longitude within ±180.`);
    }
  }
}

/** Twice the signed planar area of a ring in square degrees; positive when counter-clockwise. */
function signedArea2(ring: Position[]): number {
  let sum = 0;
  for (let i = 0; i + 1 < ring.length; i++) {
    const [x1 = 0, y1 = 0] = ring[i]!;
    const [x2 = 0, y2 = 0] = ring[i + 1]!;
    sum += x1 * y2 - x2 * y1;
  }
  return sum;
}

/**
 * A usable exterior ring from positions: closed when the source left it open, wound counter-clockwise
 * (RFC 7946 §3.1.6). Undefined, with the reason, when it has fewer than four positions or no area.
 */
export function toRing(positions: Position[]): { ring?: Position[]; problem?: string } {
  if (positions.length === 0) return { problem: 'is empty' };
  const ring = positions.map((p) => [p[0]!, p[1]!]);
  const first = ring[0]!;
  const last = ring[ring.length - 1]!;
  if (first[0] !== last[0] || first[1] !== last[1]) ring.push([first[0]!, first[1]!]);
  if (ring.length < 4) return { problem: `has ${positions.length} position(s); a ring needs at least 4 after closing` };
  const area2 = signedArea2(ring);
  if (area2 === 0) return { problem: 'has no area (its points lie on a line)' };
  return { ring: area2 < 0 ? ring.reverse() : ring };
}

/** The parts of a message's area, joined: one polygon → Polygon, several → MultiPolygon, points alongside → GeometryCollection. */
export function joinGeometry(polygons: Position[][][], points: Position[]): Geometry | null {
  const unique = dedupe(polygons);
  const pts = dedupe(points);
  const polyGeom: Geometry | undefined =
    unique.length === 0 ? undefined : unique.length === 1 ? { type: 'Polygon', coordinates: unique[0]! } : { type: 'MultiPolygon', coordinates: unique };
  const pointGeoms: Point[] = pts.map((p) => ({ type: 'Point', coordinates: p }));
  if (polyGeom && pointGeoms.length === 0) return polyGeom;
  if (!polyGeom && pointGeoms.length === 1) return pointGeoms[0]!;
  if (!polyGeom && pointGeoms.length === 0) return null;
  return { type: 'GeometryCollection', geometries: [...(polyGeom ? [polyGeom] : []), ...pointGeoms] };
}

/** The same polygon given in two languages' <info> blocks is one polygon. */
function dedupe<T>(items: T[]): T[] {
  const seen = new Set<string>();
  return items.filter((item) => {
    const key = JSON.stringify(item);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

const DEPTH: Record<string, number> = { Point: 0, MultiPoint: 1, LineString: 1, MultiLineString: 2, Polygon: 2, MultiPolygon: 3 };

/**
 * Checks a GeoJSON geometry given by a feed (GDACS, USGS, Madad JSON): its shape (RFC 7946 §3.1: a type
 * and coordinates nested as that type nests them, each position 2 or 3 numbers) and every position's
 * range. Feeds are JSON anyone can write, so nothing about the value is assumed before this.
 */
export function assertGeometry(geometry: unknown, where: string): asserts geometry is Geometry {
  const g = geometry as { type?: unknown; coordinates?: unknown; geometries?: unknown } | null;
  const type = typeof g?.type === 'string' ? g.type : undefined;
  if (type === 'GeometryCollection') {
    if (!Array.isArray(g!.geometries)) throw new MessageRejected(`${where} is a GeometryCollection without a "geometries" array.`);
    for (const part of g!.geometries) assertGeometry(part, where);
    return;
  }
  const depth = type === undefined ? undefined : DEPTH[type];
  if (depth === undefined) {
    throw new MessageRejected(`${where} is not a GeoJSON geometry (its type is ${JSON.stringify(g?.type ?? null)?.slice(0, 40)}; expected Point, LineString, Polygon, their Multi kinds or GeometryCollection).`);
  }
  const positions: Position[] = [];
  const collect = (value: unknown, level: number): boolean => {
    if (!Array.isArray(value)) return false;
    if (level === 0) {
      if (value.length < 2 || value.length > 3 || !value.every((n) => typeof n === 'number')) return false;
      positions.push(value as Position);
      return true;
    }
    return value.every((v) => collect(v, level - 1));
  };
  if (!collect(g!.coordinates, depth)) {
    throw new MessageRejected(`${where} is a ${type} whose coordinates are not ${'arrays of '.repeat(depth)}[longitude, latitude] positions (RFC 7946 §3.1).`);
  }
  assertPositions(positions, where);
}
