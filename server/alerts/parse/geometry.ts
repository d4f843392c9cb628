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

/** Checks every position of a GeoJSON geometry given by a feed (GDACS, Madad JSON). */
export function assertGeometry(geometry: Geometry, where: string): void {
  const visit = (g: Geometry): void => {
    switch (g.type) {
      case 'Point':
        return assertPositions([g.coordinates], where);
      case 'MultiPoint':
      case 'LineString':
        return assertPositions(g.coordinates, where);
      case 'MultiLineString':
      case 'Polygon':
        return g.coordinates.forEach((r) => assertPositions(r, where));
      case 'MultiPolygon':
        return g.coordinates.forEach((p) => p.forEach((r) => assertPositions(r, where)));
      case 'GeometryCollection':
        return g.geometries.forEach(visit);
    }
  };
  visit(geometry);
}

