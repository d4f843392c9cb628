/**
 * `npm run bench:spatial [-- --households 10000000]`: the spatial engine against the Turf reference (and
 * PostGIS with a GiST index when the extension is installed) on the same seeded synthetic registry.
 * Runs on PostgreSQL (DATABASE_URL or TEST_DATABASE_URL; a scratch database is made and dropped).
 */
import { readFileSync } from 'node:fs';
import { booleanPointInPolygon, bbox as turfBbox } from '@turf/turf';
import Flatbush from 'flatbush';
import type { Feature, MultiPolygon, Polygon } from 'geojson';
import postgres from 'postgres';
import { readBoundaries } from '../../geodata/boundaries.ts';
import { PreparedPolygon } from '../../geodata/prepared-polygon.ts';
import { readTehsilsWithDerivedCodes } from '../../geodata/tehsil-codes.ts';
import { importAreas } from '../../server/areas/service.ts';
import { synthAreas, synthCsv } from '../../server/cli/synth.ts';
import { openDatabase } from '../../server/db/client.ts';
import { importRegistry } from '../../server/registry/import.ts';
import { RegistryIndex } from '../../server/registry/registry-index.ts';
import { numberArg } from './args.ts';

const HOUSEHOLDS = numberArg('households', 1_000_000);
const SEED = numberArg('seed', 20220825);
const fixtures = new URL('../../../shared/fixtures/', import.meta.url);
const read = <T>(p: string): T => JSON.parse(readFileSync(new URL(p, fixtures), 'utf8')) as T;

const adminUrl = process.env.DATABASE_URL ?? process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const name = `madad_bench_${process.pid}`;
const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
await admin.unsafe(`create database ${name}`);
const url = new URL(adminUrl);
url.pathname = `/${name}`;
const database = await openDatabase({ url: url.toString(), max: 4 });
const rows: [string, string, string][] = [];
const time = async <T>(fn: () => Promise<T> | T): Promise<[T, number]> => {
  const t = performance.now();
  const r = await fn();
  return [r, performance.now() - t];
};
const ms = (v: number) => (v >= 1000 ? `${(v / 1000).toFixed(2)} s` : `${v.toFixed(0)} ms`);

try {
  await database.migrate();
  // Gazetteer: districts and tehsils (with 2023 population, which shapes the synthetic registry).
  const districts = readBoundaries(read('pakistan/pak_adm2_districts_cod_pcodes_simplified.geojson'), { codeField: 'pcode', nameField: 'name', parentField: (p) => String(p.pcode).slice(0, 3), level: 2, source: 'bench' }).areas;
  const tehsils = readTehsilsWithDerivedCodes(read('pakistan/pak_adm3_tehsils_gbopen_geom_with_cod_pcodes.geojson'), {
    nameField: 'shapeName',
    populationField: 'pop_2023',
    source: 'bench',
  }).areas;
  const opts = { validFrom: '2022-01-01', actor: 'bench', now: new Date() };
  await importAreas(database.db, districts, opts);
  await importAreas(database.db, tehsils, opts);

  const [report, importMs] = await time(async () => importRegistry(database, synthCsv({ households: HOUSEHOLDS, seed: SEED, areas: await synthAreas(database.db) })));
  rows.push(['import (synth → checks → H3 + area codes → COPY → merge)', `${HOUSEHOLDS.toLocaleString('en')} households`, `${ms(importMs)} (${Math.round(report.imported / (importMs / 1000)).toLocaleString('en')} rows/s)`]);

  const [index, loadMs] = await time(() => RegistryIndex.load(database, 'bench'));
  rows.push(['load the registry index into memory', '', ms(loadMs)]);
  const [, buildMs] = await time(() => index.select({ geometry: { type: 'Polygon', coordinates: [[[0, 0], [1, 0], [1, 1], [0, 0]]] } }));
  rows.push(['group households by H3 cell (first query)', '', ms(buildMs)]);

  const flood = read<{ features: Feature<MultiPolygon>[] }>('flood/unosat_FL20220808PAK_VIIRS_20220825-20220831_FloodExtent_PAK.geojson').features[0]!.geometry;
  const dadu = districts.find((d) => d.code === 'PK703')!.geometry;
  for (const [label, geometry] of [['UNOSAT 2022 flood extent (268,239 vertices)', flood], ['one district (Dadu, PK703)', dadu]] as const) {
    const prepared = PreparedPolygon.fromGeoJSON(geometry);
    const [inside, countMs] = await time(() => index.select({ geometry: prepared }));
    const [exposure, listMs] = await time(() => index.exposure(index.select({ geometry: prepared }), 32));
    rows.push([`Madad: count inside ${label}`, `${inside.length.toLocaleString('en')} inside`, ms(countMs)]);
    rows.push([`Madad: list + count by area and PMT band, ${label}`, `${exposure.byTehsil.length} tehsils`, ms(listMs)]);

    // The Turf reference: booleanPointInPolygon per household, parts skipped by bbox (the decision stays Turf's).
    const parts: Polygon[] = geometry.type === 'MultiPolygon' ? geometry.coordinates.map((c) => ({ type: 'Polygon', coordinates: c })) : [geometry as Polygon];
    const tree = new Flatbush(parts.length);
    for (const p of parts) {
      const b = turfBbox(p);
      tree.add(b[0], b[1], b[2], b[3]);
    }
    tree.finish();
    const [turfCount, turfMs] = await time(() => {
      let n = 0;
      for (let i = 0; i < index.count; i++) {
        const x = index.lon[i]!;
        const y = index.lat[i]!;
        if (tree.search(x, y, x, y).some((k) => booleanPointInPolygon([x, y], parts[k]!))) n++;
      }
      return n;
    });
    rows.push([`Turf reference, ${label}`, turfCount === inside.length ? 'identical' : `DIFFERS: ${turfCount}`, ms(turfMs)]);

    const [[postgis]] = await Promise.all([database.sql!<{ ok: boolean }[]>`select count(*) > 0 as ok from pg_available_extensions where name = 'postgis'`]);
    if (postgis?.ok) {
      await database.sql!.unsafe(`create extension if not exists postgis`);
      await database.sql!.unsafe(`alter table households add column if not exists geom geometry(Point, 4326)`);
      await database.sql!.unsafe(`update households set geom = st_setsrid(st_makepoint(lon, lat), 4326) where geom is null`);
      await database.sql!.unsafe(`create index if not exists households_geom_idx on households using gist (geom)`);
      // PostGIS done well: the area cut into small pieces (ST_Subdivide) so the GiST index and the
      // point-in-polygon tests stay cheap; on the whole 268k-vertex polygon one query ran for minutes.
      const [res, pgMs] = await time(
        () => database.sql!<{ n: number }[]>`
          with area as (select st_setsrid(st_geomfromgeojson(${JSON.stringify(geometry)}), 4326) as g),
               parts as (select st_subdivide(g, 255) as g from area)
          select count(distinct h.id)::int as n from households h join parts p on st_intersects(h.geom, p.g)`,
      );
      rows.push([`PostGIS (GiST, subdivided area), ${label}`, `${res[0]!.n.toLocaleString('en')} inside`, ms(pgMs)]);
    } else rows.push([`PostGIS (GiST), ${label}`, 'extension not installed here', '—']);
  }
  rows.push(['server process memory (RSS) after the queries', '', `${Math.round(process.memoryUsage().rss / 1048576)} MB`]);
} finally {
  await database.close();
  await admin.unsafe(`drop database if exists ${name} with (force)`);
  await admin.end();
}

const widths = [0, 1, 2].map((c) => Math.max(...rows.map((r) => r[c]!.length), 8));
console.log(`\nSpatial benchmark: ${HOUSEHOLDS.toLocaleString('en')} synthetic households (seed ${SEED}) on PostgreSQL\n`);
for (const r of rows) console.log(`${r[0]!.padEnd(widths[0]!)}  ${r[1]!.padEnd(widths[1]!)}  ${r[2]}`);
