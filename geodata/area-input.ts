/** A position [lon, lat] (GeoJSON order); extra members such as altitude are ignored. */
export type Position = number[];
/** One polygon: its outer ring then its holes, each ring closed (first position = last). */
export type PolygonRings = Position[][];

/** Bad input for an affected area: a person can act on the message (it says where and what). */
export class AreaInputError extends Error {
  override readonly name = 'AreaInputError';
}

/**
 * Reads an affected area given as a GeoJSON Polygon, MultiPolygon, Feature or FeatureCollection of
 * those, and returns its polygons. The set of polygons means "inside any of them", the same rule
 * Turf applies to the parts of a MultiPolygon, so a FeatureCollection behaves as one MultiPolygon.
 * Nothing is repaired here (boundaries.ts repairs imported boundaries): an unclosed ring or a bad
 * coordinate in an alert footprint is refused, because guessing would change who gets paid.
 */
export function readAreaPolygons(input: unknown): PolygonRings[] {
  const out: PolygonRings[] = [];
  collect(input, 'area', out);
  if (out.length === 0) throw new AreaInputError('area: holds no polygon');
  return out;
}

/**
 * `accept` is what may stand here: RFC 7946 puts Features only in a FeatureCollection and geometries only
 * in a Feature, so nesting is at most three deep and a body nested thousands deep is refused, not recursed.
 */
function collect(node: unknown, where: string, out: PolygonRings[], accept: 'any' | 'feature' | 'geometry' = 'any'): void {
  if (node === null || typeof node !== 'object' || Array.isArray(node)) {
    throw new AreaInputError(`${where}: expected a GeoJSON object, got ${describe(node)}`);
  }
  const obj = node as Record<string, unknown>;
  const isFeature = obj.type === 'Feature' || obj.type === 'FeatureCollection';
  if ((accept === 'feature' && obj.type !== 'Feature') || (accept === 'geometry' && isFeature)) {
    throw new AreaInputError(`${where}: expected a ${accept === 'feature' ? 'Feature' : 'Polygon or MultiPolygon'}, got type ${JSON.stringify(obj.type)}`);
  }
  switch (obj.type) {
    case 'FeatureCollection': {
      if (!Array.isArray(obj.features)) throw new AreaInputError(`${where}.features: expected an array`);
      obj.features.forEach((f, i) => collect(f, `${where}.features[${i}]`, out, 'feature'));
      return;
    }
    case 'Feature': {
      if (obj.geometry === null || obj.geometry === undefined) {
        throw new AreaInputError(`${where}.geometry: a Feature without geometry is not an area`);
      }
      collect(obj.geometry, `${where}.geometry`, out, 'geometry');
      return;
    }
    case 'Polygon':
      out.push(readPolygon(obj.coordinates, `${where}.coordinates`));
      return;
    case 'MultiPolygon': {
      if (!Array.isArray(obj.coordinates) || obj.coordinates.length === 0) {
        throw new AreaInputError(`${where}.coordinates: a MultiPolygon needs at least one polygon`);
      }
      obj.coordinates.forEach((p, i) => out.push(readPolygon(p, `${where}.coordinates[${i}]`)));
      return;
    }
    default:
      throw new AreaInputError(
        `${where}: type ${JSON.stringify(obj.type)} is not an area; give a Polygon, MultiPolygon, Feature or FeatureCollection of polygons`,
      );
  }
}

function readPolygon(rings: unknown, where: string): PolygonRings {
  if (!Array.isArray(rings) || rings.length === 0) {
    throw new AreaInputError(`${where}: a polygon needs an outer ring`);
  }
  return rings.map((ring, r) => readRing(ring, `${where}[${r}]`));
}

function readRing(ring: unknown, where: string): Position[] {
  if (!Array.isArray(ring)) throw new AreaInputError(`${where}: a ring must be an array of positions`);
  if (ring.length < 4) {
    throw new AreaInputError(`${where}: a ring needs at least 4 positions (first repeated last), got ${ring.length}`);
  }
  ring.forEach((p, i) => checkPosition(p, `${where}[${i}]`));
  const first = ring[0] as Position;
  const last = ring[ring.length - 1] as Position;
  if (first[0] !== last[0] || first[1] !== last[1]) {
    throw new AreaInputError(`${where}: ring is not closed (first position ${JSON.stringify(first)} differs from last ${JSON.stringify(last)})`);
  }
  return ring as Position[];
}

/** Throws unless `p` is [lon, lat, ...] with finite lon in [-180, 180] and lat in [-90, 90]. */
export function checkPosition(p: unknown, where: string): void {
  if (!Array.isArray(p) || p.length < 2) throw new AreaInputError(`${where}: a position is [lon, lat], got ${describe(p)}`);
  const [lon, lat] = p as unknown[];
  if (typeof lon !== 'number' || typeof lat !== 'number' || !Number.isFinite(lon) || !Number.isFinite(lat)) {
    throw new AreaInputError(`${where}: coordinates must be finite numbers, got ${describe(p)}`);
  }
  if (lon < -180 || lon > 180 || lat < -90 || lat > 90) {
    throw new AreaInputError(`${where}: [${lon}, ${lat}] is out of range (lon -180..180, lat -90..90; GeoJSON is [lon, lat])`);
  }
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return JSON.stringify(v).slice(0, 60);
  return typeof v === 'object' ? 'an object' : `${typeof v} ${String(v).slice(0, 40)}`;
}
