import { PreparedPolygon } from './prepared-polygon.ts';
import { Random } from './random.ts';
import { cnic, headName, iban, mobile } from './synth-people.ts';

/** An area households are drawn in, with a weight (its population, say pop_2023 of a tehsil). */
export interface SynthArea {
  code: string;
  geometry: unknown;
  weight: number;
}

export interface SynthOptions {
  households: number;
  seed: number;
  /** Areas and their weights; without them the approximate province boxes below are used. */
  areas?: readonly SynthArea[];
  /** Position of the first household produced (to resume a stream in chunks). Default 0. */
  offset?: number;
}

export type PaymentChannel = 'bank' | 'mobile_wallet' | 'cash_camp';

export interface SynthHousehold {
  source: 'NSER';
  householdId: string;
  cnic: string;
  headName: string;
  phone: string;
  lat: number;
  lon: number;
  areaCode: string;
  householdSize: number;
  pmtScore: number;
  flags: { femaleHeaded: boolean; hasDisabled: boolean; hasElderly: boolean; childrenUnder5: boolean };
  enrolments: string[];
  paymentChannel: PaymentChannel;
  paymentAccount: string | null;
}

/**
 * Province populations, 2023 census (millions) [official, rounded], used as weights when no areas
 * are given, with boxes that only roughly cover each province. LAST RESORT: boxes overlap each other
 * and neighbouring countries, so points land in the wrong province near borders. Pass real areas
 * (the tehsil polygons with pop_2023) for anything that looks at geography.
 */
export const PROVINCE_BOXES: readonly (SynthArea & { name: string })[] = [
  { code: 'PK6', name: 'Punjab', weight: 127.7, geometry: box(69.3, 27.7, 75.4, 34.0) },
  { code: 'PK7', name: 'Sindh', weight: 55.7, geometry: box(66.7, 23.7, 71.1, 28.5) },
  { code: 'PK5', name: 'Khyber Pakhtunkhwa', weight: 40.9, geometry: box(69.2, 31.0, 74.2, 36.9) },
  { code: 'PK2', name: 'Balochistan', weight: 14.9, geometry: box(60.9, 24.9, 70.3, 32.1) },
  { code: 'PK4', name: 'Islamabad', weight: 2.4, geometry: box(72.8, 33.5, 73.4, 33.8) },
  { code: 'PK1', name: 'Azad Jammu & Kashmir', weight: 4.0, geometry: box(73.3, 32.9, 74.9, 35.1) },
  { code: 'PK3', name: 'Gilgit-Baltistan', weight: 1.5, geometry: box(72.5, 34.6, 77.8, 37.1) },
];

function box(x0: number, y0: number, x1: number, y1: number) {
  return { type: 'Polygon', coordinates: [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]] };
}

/** One area made ready to draw from: its polygon and its towns, built on first use. */
interface PreparedArea {
  poly: PreparedPolygon;
  towns: { lon: number; lat: number; sigma: number }[];
  townCumulative: number[];
}

/** Share of households spread uniformly over the area rather than around a town. */
const RURAL_SHARE = 0.15;

/**
 * Synthetic registry households shaped like Pakistan, one at a time: memory stays flat for 10 M.
 * Deterministic: the same options give the same records, whatever the consumer does with them.
 * Each area gets towns (centres drawn inside it, Zipf-like sizes) and households spread around them
 * with a gaussian, plus a rural share spread over the whole area; with tehsil populations as weights,
 * the Indus plain and the big cities come out dense because that is where the people are. Every point
 * is inside its area polygon (rejection sampling with the prepared polygon).
 */
export function* synthHouseholds(options: SynthOptions): Generator<SynthHousehold> {
  const areas = options.areas && options.areas.length > 0 ? options.areas : PROVINCE_BOXES;
  const cumulative: number[] = [];
  let total = 0;
  for (const a of areas) {
    if (!(a.weight >= 0) || !Number.isFinite(a.weight)) throw new RangeError(`area ${a.code}: weight must be a finite number >= 0`);
    total += a.weight;
    cumulative.push(total);
  }
  if (!(total > 0)) throw new RangeError('areas: the weights add up to 0');
  const offset = options.offset ?? 0;
  // Area set-up (towns) depends on the seed and the area only, so resuming at an offset sees the same towns.
  const prepared = new Map<number, PreparedArea>();
  const prepareArea = (k: number): PreparedArea => {
    let p = prepared.get(k);
    if (!p) { p = prepareTowns(areas[k]!, new Random((options.seed ^ Math.imul(k + 1, 0x9e3779b1)) >>> 0)); prepared.set(k, p); }
    return p;
  };
  const seedOffset = BigInt(options.seed >>> 0) * 7919n;
  for (let i = offset; i < offset + options.households; i++) {
    // One stream per household, so a chunk starting at `offset` reproduces the same records.
    const rng = new Random((Math.imul(options.seed, 0x2545f491) ^ Math.imul(i + 1, 0x9e3779b9)) >>> 0);
    const k = upperBound(cumulative, rng.next() * total);
    const area = areas[k]!;
    const [lon, lat] = drawPoint(prepareArea(k), rng);
    yield person(rng, i, area.code, lon, lat, seedOffset);
  }
}

function upperBound(cumulative: readonly number[], x: number): number {
  let lo = 0, hi = cumulative.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (cumulative[mid]! > x) hi = mid; else lo = mid + 1;
  }
  return lo;
}

function prepareTowns(area: SynthArea, rng: Random): PreparedArea {
  const poly = PreparedPolygon.fromGeoJSON(area.geometry);
  const [x0, y0, x1, y1] = poly.bbox;
  const extent = Math.sqrt(Math.max((x1 - x0) * (y1 - y0), 1e-8));
  const count = 2 + Math.min(10, Math.floor(Math.log2(1 + area.weight / 50_000)));
  const towns: PreparedArea['towns'] = [];
  const townCumulative: number[] = [];
  let sum = 0;
  for (let t = 0; t < count; t++) {
    const [lon, lat] = uniformInside(poly, rng);
    // The first town is the main one: wider and heavier (weights 1, 1/2, 1/3 …).
    towns.push({ lon, lat, sigma: Math.min(0.15, Math.max(0.005, extent * (t === 0 ? 0.12 : 0.06))) });
    sum += 1 / (t + 1);
    townCumulative.push(sum);
  }
  return { poly, towns, townCumulative };
}

/** A point drawn uniformly in the bbox until inside; a vertex (on the boundary, so inside) if unlucky. */
function uniformInside(poly: PreparedPolygon, rng: Random): [number, number] {
  const [x0, y0, x1, y1] = poly.bbox;
  for (let attempt = 0; attempt < 500; attempt++) {
    const lon = x0 + rng.next() * (x1 - x0);
    const lat = y0 + rng.next() * (y1 - y0);
    if (poly.contains(lon, lat)) return [lon, lat];
  }
  return poly.firstVertex();
}

function drawPoint(area: PreparedArea, rng: Random): [number, number] {
  if (rng.chance(RURAL_SHARE)) return uniformInside(area.poly, rng);
  const total = area.townCumulative[area.townCumulative.length - 1]!;
  const town = area.towns[upperBound(area.townCumulative, rng.next() * total)]!;
  const lonScale = 1 / Math.max(0.2, Math.cos((town.lat * Math.PI) / 180));
  for (let attempt = 0; attempt < 30; attempt++) {
    const lon = town.lon + rng.gaussian() * town.sigma * lonScale;
    const lat = town.lat + rng.gaussian() * town.sigma;
    if (area.poly.contains(lon, lat)) return [lon, lat];
  }
  return [town.lon, town.lat];
}

/**
 * A household id that does not follow the file's order, as in a real registry export (listed by area or
 * enumeration block, not by id), so imports and benchmarks meet ids in the order real files give them:
 * the position goes through a fixed permutation of 0 … 10^10 − 1 (a four-round Feistel network on two
 * five-digit halves), so ids stay unique and the same for a position.
 */
export function scatteredId(position: number): string {
  let left = Math.floor(position / HALF);
  let right = position % HALF;
  for (const key of FEISTEL_KEYS) {
    const mixed = (Math.imul(right ^ key, 0x9e3779b1) >>> 0) % HALF;
    [left, right] = [right, (left + mixed) % HALF];
  }
  return String(left * HALF + right).padStart(10, '0');
}
const HALF = 100_000;
const FEISTEL_KEYS = [0x3c6ef372, 0x1b873593, 0x5be0cd19, 0x7f4a7c15];

function person(rng: Random, position: number, areaCode: string, lon: number, lat: number, seedOffset: bigint): SynthHousehold {
  const femaleHeaded = rng.chance(0.1);
  // 1 + Binomial(13, 0.415): sizes 1..14, mean 6.4 (PSLM average household size).
  let householdSize = 1;
  for (let k = 0; k < 13; k++) if (rng.chance(0.415)) householdSize++;
  // Normal(41, 16) clipped to 0..100: about 29 % at or under the 32 cut-off.
  const pmtScore = Math.round(Math.min(100, Math.max(0, 41 + 16 * rng.gaussian())) * 10) / 10;
  const phone = mobile(rng);
  const u = rng.next();
  const paymentChannel: PaymentChannel = u < 0.4 ? 'mobile_wallet' : u < 0.75 ? 'bank' : 'cash_camp';
  const paymentAccount = paymentChannel === 'bank' ? iban(rng) : paymentChannel === 'mobile_wallet' ? phone : null;
  const provinceCode = /^PK[1-7]/.test(areaCode) ? areaCode.slice(0, 3) : undefined;
  return {
    source: 'NSER',
    householdId: `NSER-${scatteredId(position)}`,
    cnic: cnic(rng, provinceCode, position, seedOffset, femaleHeaded),
    headName: headName(rng, femaleHeaded),
    phone,
    lat,
    lon,
    areaCode,
    householdSize,
    pmtScore,
    flags: {
      femaleHeaded,
      hasDisabled: rng.chance(0.05),
      hasElderly: rng.chance(0.2),
      childrenUnder5: householdSize > 1 && rng.chance(0.45 * 14 / 13),
    },
    // Kafaalat reaches most, not all, of those under the cut-off (~9.3 M of ~10 M eligible).
    enrolments: pmtScore <= 32 && rng.chance(0.8) ? ['KAFAALAT'] : [],
    paymentChannel,
    paymentAccount,
  };
}
