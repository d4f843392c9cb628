import { bbox as turfBbox } from '@turf/turf';
import type { Geometry } from 'geojson';

// Pakistan with a margin, AJK and GB included: [minLon, minLat, maxLon, maxLat].
const PAKISTAN = [60.5, 23.3, 78.0, 37.3] as const;

const within = (b: number[], box: readonly number[]) => b[0]! >= box[0]! && b[1]! >= box[1]! && b[2]! <= box[2]! && b[3]! <= box[3]!;
const overlaps = (b: number[], box: readonly number[]) => b[0]! <= box[2]! && b[2]! >= box[0]! && b[1]! <= box[3]! && b[3]! >= box[1]!;

/**
 * Pakistan's longitudes (61-77) are valid latitudes, so a CAP polygon written lon,lat instead of CAP's
 * lat,lon parses without error and lands in Central Asia or the Arctic. When the shape as given misses
 * Pakistan entirely but, swapped, falls wholly inside it, the sender almost certainly swapped the pairs.
 */
export function swappedIntoPakistan(geometry: Geometry): boolean {
  const b = turfBbox(geometry);
  const swapped = [b[1], b[0], b[3], b[2]];
  return !overlaps(b, PAKISTAN) && within(swapped, PAKISTAN);
}
