import { isValidCell, latLngToCell } from 'h3-js';

/**
 * Households are indexed at H3 resolution 8 (hexagons of ~0.74 km², edge ~0.53 km).
 * Why 8 and not 9: a res-8 cell is about a village or an urban block, so Pakistan's ~35 M households
 * fall into a few hundred thousand occupied cells; the per-cell classification (the part that scales
 * with cells) stays small, and the points left in boundary cells are tested exactly by a prepared
 * polygon at ~1 µs each. Resolution 9 (seven times more cells, ~0.1 km²) would cut those exact tests
 * by ~2.5× but multiply the cells to classify and the per-cell counts to keep in the database by ~7×.
 * The flood footprints we receive are drawn from 375 m VIIRS pixels, coarser than a res-9 cell anyway.
 */
export const H3_RESOLUTION = 8;

/**
 * The H3 cell holding a point. Every resolution is computed from the coordinates: the parent of a
 * res-8 cell is not always the res-7 cell of the point (DESIGN: 52–135 m off), so never derive one
 * from the other.
 */
export function cellOf(lat: number, lon: number, resolution: number = H3_RESOLUTION): string {
  return latLngToCell(lat, lon, resolution);
}

/** The cell as a bigint, the form the database keeps (btree on a bigint column). */
export function cellBigintOf(lat: number, lon: number, resolution: number = H3_RESOLUTION): bigint {
  // latLngToCell only returns valid cells, so the check in h3ToBigint would be spent for nothing.
  return BigInt(`0x${latLngToCell(lat, lon, resolution)}`);
}

/**
 * H3 index string (hex) to bigint. Cell indexes have the reserved top bit 0 and mode 1, so they are
 * below 2^63 and fit a signed Postgres bigint unchanged.
 */
export function h3ToBigint(cell: string): bigint {
  if (!isValidCell(cell)) throw new RangeError(`not a valid H3 cell: ${JSON.stringify(cell)}`);
  return BigInt(`0x${cell}`);
}

/** bigint back to the lower-case hex string h3-js uses. */
export function bigintToH3(value: bigint): string {
  if (value < 0n) throw new RangeError(`H3 cell ids are positive, got ${value}`);
  const cell = value.toString(16);
  if (!isValidCell(cell)) throw new RangeError(`not a valid H3 cell id: ${value}`);
  return cell;
}
