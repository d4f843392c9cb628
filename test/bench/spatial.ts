/**
 * `npm run bench:spatial [-- --households 10000000]`: the spatial engine against the Turf reference (and
 * PostGIS with a GiST index when the extension is installed) on the same seeded synthetic registry.
 * Runs on PostgreSQL (DATABASE_URL or TEST_DATABASE_URL; a scratch database is made and dropped).
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { booleanPointInPolygon, bbox as turfBbox } from '@turf/turf';
import Flatbush from 'flatbush';
import type { Feature, MultiPolygon, Polygon } from 'geojson';
import { PreparedPolygon } from '../../geodata/prepared-polygon.ts';
import { synthAreas, synthCsv } from '../../server/registry/synth.ts';
import { importRegistry } from '../../server/registry/import.ts';
import { RegistryCache, RegistryIndex } from '../../server/registry/registry-index.ts';
import { readSnapshot, writeSnapshot } from '../../server/registry/snapshot.ts';
import { numberArg } from './args.ts';
import { fixtureJson } from '../harness/fixtures.ts';
import { benchDatabase, ms, printTable, time } from './scratch.ts';

const HOUSEHOLDS = numberArg('households', 1_000_000);
const SEED = numberArg('seed', 20220825);

const { database, districts, drop } = await benchDatabase();
const rows: [string, string, string][] = [];

try {
  // Seeded through the registry import (measured on its own by `npm run bench:import`).
  await importRegistry(database, synthCsv({ households: HOUSEHOLDS, seed: SEED, areas: await synthAreas(database.db) }));

  const [{ value: version } = { value: 'empty' }] = await database.sql!<{ value: string }[]>`select value #>> '{}' as value from settings where key = 'registry_version'`;
  const [index, loadMs] = await time(() => RegistryIndex.load(database, version));
  rows.push(['load the registry index from the database (paged selects)', '', ms(loadMs)]);
  const [, buildMs] = await time(() => index.select({ geometry: { type: 'Polygon', coordinates: [[[0, 0], [1, 0], [1, 1], [0, 0]]] } }));
  rows.push(['group households by H3 cell (first query)', '', ms(buildMs)]);

  // The alternative to both at start: the snapshot file beside the data (server/registry/snapshot.ts).
  const snapshotDir = mkdtempSync(path.join(tmpdir(), 'madad-bench-snapshot-'));
  {
    const [file, writeMs] = await time(() => writeSnapshot(snapshotDir, { columns: index.columns(), groups: index.cellGroups() }));
    rows.push(['write the index snapshot (columns and cell groups)', `${Math.round(statSync(file).size / 1048576)} MB`, ms(writeMs)]);
    const rssBefore = process.memoryUsage().rss;
    const [snapshot, readMs] = await time(() => readSnapshot(snapshotDir, version));
    const read = RegistryIndex.fromColumns(snapshot!.columns, snapshot!.groups);
    const [, firstMs] = await time(() => read.select({ geometry: { type: 'Polygon', coordinates: [[[0, 0], [1, 0], [1, 1], [0, 0]]] } }));
    rows.push(['read the index snapshot (start-up), then the first query', `+${Math.round((process.memoryUsage().rss - rssBefore) / 1048576)} MB RSS`, `${ms(readMs)} + ${ms(firstMs)}`]);
  }

  // The server's path, its index read from the snapshot just written, its workers started and grouped.
  const cache = new RegistryCache(database, { snapshotDir });
  await cache.select({ geometry: cache.storedArea({ type: 'Polygon', coordinates: [[[0, 0], [1, 0], [1, 1], [0, 0]]] }) });
  const flood = fixtureJson<{ features: Feature<MultiPolygon>[] }>('flood/unosat_FL20220808PAK_VIIRS_20220825-20220831_FloodExtent_PAK.geojson').features[0]!.geometry;
  const dadu = districts.find((d) => d.code === 'PK703')!.geometry;
  for (const [label, geometry] of [['UNOSAT 2022 flood extent (268,239 vertices)', flood], ['one district (Dadu, PK703)', dadu]] as const) {
    const prepared = PreparedPolygon.fromGeoJSON(geometry);
    const [inside, countMs] = await time(() => index.select({ geometry: prepared }));
    const [exposure, listMs] = await time(() => index.exposure(index.select({ geometry: prepared }), 32));
    rows.push([`Madad: count inside ${label}`, `${inside.length.toLocaleString('en')} inside`, ms(countMs)]);
    rows.push([`Madad: list + count by area and PMT band, ${label}`, `${exposure.byTehsil.length} tehsils`, ms(listMs)]);
    // As the server asks it: the polygon flattened and prepared in a spatial worker, then asked again.
    const [asked, askMs] = await time(() => cache.select({ geometry: cache.storedArea(geometry) }));
    const [, againMs] = await time(() => cache.select({ geometry: cache.storedArea(geometry) }));
    rows.push([`Madad in a spatial worker (prepared there), ${label}`, asked.rows.length === inside.length ? 'same answer' : `DIFFERS: ${asked.rows.length}`, ms(askMs)]);
    rows.push([`the same question again (answer kept), ${label}`, '', ms(againMs)]);

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
  cache.close();
  rmSync(snapshotDir, { recursive: true, force: true });
  rows.push(['server process memory (RSS) after the queries', '', `${Math.round(process.memoryUsage().rss / 1048576)} MB`]);
} finally {
  await drop();
}

printTable(`Spatial benchmark: ${HOUSEHOLDS.toLocaleString('en')} synthetic households (seed ${SEED}) on PostgreSQL`, rows);
