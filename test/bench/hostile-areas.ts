/**
 * `npm run bench:hostile [-- --households 200000 --seed 1]`: the areas a hostile probe sent
 * to /api/exposure (zig-zags of tall edges, a star of long spikes) and the UNOSAT flood extent, prepared
 * and counted by the spatial engine over seeded synthetic households on the tehsil layer. No database:
 * this is the work a spatial worker does for one question, which MADAD_SPATIAL_BUDGET_MS bounds.
 */
import type { Feature, MultiPolygon, Polygon } from 'geojson';
import { PreparedPolygon } from '../../geodata/prepared-polygon.ts';
import { Random } from '../../geodata/random.ts';
import { HouseholdIndex } from '../../geodata/spatial-engine.ts';
import { synthHouseholds, type SynthArea } from '../../geodata/synth.ts';
import { fixtureJson } from '../harness/fixtures.ts';
import { readTestTehsils } from '../harness/gazetteer.ts';
import { numberArg } from './args.ts';
import { ms, printTable, time } from './scratch.ts';

const HOUSEHOLDS = numberArg('households', 200_000);
const SEED = numberArg('seed', 1);

/** Teeth from latitude 24 up to `top(k)`, across Pakistan, closed by a base below. */
function comb(teeth: number, top: (k: number) => number): Polygon {
  const ring: number[][] = [];
  for (let k = 0; k < teeth; k++) ring.push([61 + (16 * k) / teeth, k % 2 ? top(k) : 24]);
  ring.push([77, 23.5], [61, 23.5], ring[0]!);
  return { type: 'Polygon', coordinates: [ring] };
}

function star(vertices: number): Polygon {
  const ring: number[][] = [];
  for (let k = 0; k < vertices; k++) {
    const a = (2 * Math.PI * k) / vertices;
    const r = k % 2 ? 6 : 0.05;
    ring.push([69 + r * Math.cos(a), 30 + r * Math.sin(a)]);
  }
  ring.push(ring[0]!);
  return { type: 'Polygon', coordinates: [ring] };
}

const areas: SynthArea[] = readTestTehsils().areas.map((t) => ({ code: t.code, geometry: t.geometry, weight: t.population ?? 1 }));
const lat = new Float64Array(HOUSEHOLDS);
const lon = new Float64Array(HOUSEHOLDS);
let i = 0;
for (const h of synthHouseholds({ households: HOUSEHOLDS, seed: SEED, areas })) {
  lat[i] = h.lat;
  lon[i] = h.lon;
  i++;
}
const index = new HouseholdIndex({ lat, lon });
const rng = new Random(SEED);
const heights = Array.from({ length: 50_000 }, () => 24 + 12 * rng.next());
const flood = fixtureJson<{ features: Feature<MultiPolygon>[] }>('flood/unosat_FL20220808PAK_VIIRS_20220825-20220831_FloodExtent_PAK.geojson').features[0]!.geometry;

const rows: [string, string, string][] = [];
for (const [label, geometry] of [
  ['zig-zag, 2,500 tall teeth (32 KB)', comb(2_500, () => 36)],
  ['zig-zag, 50,000 tall teeth', comb(50_000, () => 36)],
  ['zig-zag, 2,500 teeth of random height', comb(2_500, (k) => heights[k]!)],
  ['zig-zag, 50,000 teeth of random height', comb(50_000, (k) => heights[k]!)],
  ['star, 2,500 spikes', star(2_500)],
  ['star, 20,000 spikes', star(20_000)],
  ['UNOSAT 2022 flood extent (268,239 vertices)', flood],
] as const) {
  const [prepared, prepareMs] = await time(() => PreparedPolygon.fromGeoJSON(geometry));
  const [inside, countMs] = await time(() => index.countInside(prepared));
  rows.push([`prepare: ${label}`, `${JSON.stringify(geometry).length.toLocaleString('en')} bytes`, ms(prepareMs)]);
  rows.push([`count: ${label}`, `${inside.toLocaleString('en')} inside`, ms(countMs)]);
}
printTable(`Hostile areas over ${HOUSEHOLDS.toLocaleString('en')} synthetic households (seed ${SEED})`, rows);
