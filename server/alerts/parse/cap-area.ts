/**
 * CAP `<area>` blocks (OASIS CAP 1.2 §3.2.4) to one AlertArea. Polygons are "lat,lon" pairs separated by
 * spaces, first and last equal; circles are "lat,lon radius" with the radius in kilometres. Geocodes are
 * kept as given: the caller resolves them against its gazetteer.
 */
import { circle } from '@turf/turf';
import type { Position } from 'geojson';
import type { AlertArea, NamedValue } from './types.ts';
import { MessageRejected } from './error.ts';
import { tooManyVertices } from './bounds.ts';
import { joinGeometry, toRing } from './geometry.ts';
import { countRefusal, MAX_CIRCLE_RADIUS_KM, MAX_VERTICES_PER_ALERT } from './limits.ts';
import { collapseSpace } from './text.ts';
import { kids, textOf, type XmlElement } from './xml.ts';

/** Enough vertices that the polygon's area is within 0.2 % of the circle's. */
const CIRCLE_STEPS = 64;

export function readCapAreas(infos: XmlElement[], ns: readonly string[], warnings: string[]): AlertArea {
  const polygons: Position[][][] = [];
  const points: Position[] = [];
  const descriptions: string[] = [];
  const geocodes: NamedValue[] = [];
  for (const info of infos) {
    for (const area of kids(info, 'area', ns)) {
      const desc = collapseSpace(textOf(area, 'areaDesc', ns) ?? '');
      const label = desc ? `area "${desc.length > 60 ? `${desc.slice(0, 57)}...` : desc}"` : 'an area without areaDesc';
      if (desc && !descriptions.includes(desc)) descriptions.push(desc);
      for (const polygon of kids(area, 'polygon', ns)) {
        const ring = readPolygon(polygon.text, label, warnings);
        if (ring) polygons.push([ring]);
      }
      for (const c of kids(area, 'circle', ns)) {
        const shape = readCircle(c.text, label, warnings);
        if (shape?.ring) polygons.push([shape.ring]);
        if (shape?.point) points.push(shape.point);
      }
      for (const g of kids(area, 'geocode', ns)) {
        const pair = namedValue(g, ns);
        if (pair && !geocodes.some((x) => x.valueName === pair.valueName && x.value === pair.value)) geocodes.push(pair);
      }
    }
  }
  return { geometry: joinGeometry(polygons, points), descriptions, geocodes };
}

/**
 * `<valueName>`/`<value>` children (CAP 1.1, 1.2), or CAP 1.0's single text "valueName=value"
 * (CAP 1.0 §3.2.2 eventCode, §3.2.4 geocode).
 */
export function namedValue(el: XmlElement, ns: readonly string[]): NamedValue | undefined {
  const valueName = textOf(el, 'valueName', ns);
  if (valueName !== undefined || kids(el, 'value', ns).length > 0) {
    return { valueName: valueName ?? '', value: textOf(el, 'value', ns) ?? '' };
  }
  const eq = el.text.indexOf('=');
  if (eq > 0) return { valueName: el.text.slice(0, eq).trim(), value: el.text.slice(eq + 1).trim() };
  return el.text ? { valueName: '', value: el.text } : undefined;
}

interface LatLon {
  lat: number;
  lon: number;
}

function readPairs(tokens: string[], what: string): LatLon[] {
  return tokens.map((token) => {
    const parts = token.split(',');
    const lat = Number(parts[0]);
    const lon = Number(parts[1]);
    if (parts.length !== 2 || parts[0] === '' || parts[1] === '' || !Number.isFinite(lat) || !Number.isFinite(lon)) {
      throw new MessageRejected(`${what} has an unreadable point "${token}"; CAP points are "latitude,longitude".`);
    }
    return { lat, lon };
  });
}

/**
 * Rejects points outside WGS 84. When reading them as lon,lat would put every point in range, the
 * reason says so: a sender that swapped the order would otherwise get an alert over the wrong place.
 */
function checkRange(points: LatLon[], what: string): void {
  const bad = points.find((p) => Math.abs(p.lat) > 90 || Math.abs(p.lon) > 180);
  if (!bad) return;
  const swappedFits = points.every((p) => Math.abs(p.lon) <= 90 && Math.abs(p.lat) <= 180);
  if (swappedFits) {
    throw new MessageRejected(
      `${what} seems to be given as lon,lat instead of CAP's lat,lon (first point "${points[0]!.lat},${points[0]!.lon}" has latitude ${bad.lat}); resend it with latitude first.`,
    );
  }
  throw new MessageRejected(`${what} has a coordinate out of range (lat ${bad.lat}, lon ${bad.lon}); latitude must be within ±90 and longitude within ±180.`);
}

function readPolygon(text: string, label: string, warnings: string[]): Position[] | undefined {
  const what = `A polygon in ${label}`;
  const tokens = text.split(/\s+/).filter(Boolean);
  if (tokens.length === 0) {
    warnings.push(`An empty <polygon> in ${label} was skipped.`);
    return undefined;
  }
  // Refused before its points are read: bounds.ts counts the whole area, but only once it is built.
  if (tokens.length > MAX_VERTICES_PER_ALERT) {
    countRefusal('vertices_per_alert');
    throw new MessageRejected(tooManyVertices(tokens.length));
  }
  const points = readPairs(tokens, what);
  checkRange(points, what);
  const { ring, problem } = toRing(points.map((p) => [p.lon, p.lat]));
  if (!ring) warnings.push(`${what} ${problem}; it was skipped.`);
  return ring;
}

function readCircle(text: string, label: string, warnings: string[]): { ring?: Position[]; point?: Position } | undefined {
  const what = `A circle in ${label}`;
  const [centre, radiusText, ...rest] = text.split(/\s+/).filter(Boolean);
  if (!centre) {
    warnings.push(`An empty <circle> in ${label} was skipped.`);
    return undefined;
  }
  const radius = Number(radiusText);
  if (radiusText === undefined || rest.length > 0 || !Number.isFinite(radius) || radius < 0) {
    throw new MessageRejected(`${what} is unreadable ("${text.trim()}"); CAP circles are "latitude,longitude radius-in-km".`);
  }
  if (radius > MAX_CIRCLE_RADIUS_KM) {
    countRefusal('circle_radius');
    throw new MessageRejected(
      `${what} has a radius of ${radius} km; at most ${MAX_CIRCLE_RADIUS_KM.toLocaleString('en')} km is read (CAP radii are in kilometres: was it given in metres?).`,
    );
  }
  const [point] = readPairs([centre], what);
  checkRange([point!], what);
  if (radius === 0) {
    warnings.push(`${what} has radius 0; its centre (${point!.lat},${point!.lon}) is kept as a point.`);
    return { point: [point!.lon, point!.lat] };
  }
  const polygon = circle([point!.lon, point!.lat], radius, { steps: CIRCLE_STEPS, units: 'kilometers' });
  return { ring: polygon.geometry.coordinates[0]! };
}
