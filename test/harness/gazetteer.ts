import { readBoundaries } from '../../geodata/boundaries.ts';
import { readTehsilsWithDerivedCodes } from '../../geodata/tehsil-codes.ts';
import { importAreas } from '../../server/areas/service.ts';
import type { Db } from '../../server/db/client.ts';
import { setupCtx } from './factories.ts';
import { fixtureJson } from './fixtures.ts';

const SOURCE = 'OCHA COD-AB PAK districts (simplified), provinces dissolved from them: test fixture';

/** The fixture's 7 provinces (level 1, under PK) and 160 districts (level 2, under the first three characters of their P-code). */
export function readTestDistricts() {
  const provinces = readBoundaries(fixtureJson('pakistan/pak_adm1_provinces_DERIVED_dissolved_from_adm2.geojson'), {
    codeField: 'adm1_pcode',
    nameField: 'province',
    parentField: () => 'PK',
    level: 1,
    source: SOURCE,
  }).areas;
  const districts = readBoundaries(fixtureJson('pakistan/pak_adm2_districts_cod_pcodes_simplified.geojson'), {
    codeField: 'pcode',
    nameField: 'name',
    parentField: (p) => String(p.pcode).slice(0, 3),
    level: 2,
    source: SOURCE,
  }).areas;
  return { provinces, districts };
}

/**
 * Loads the real gazetteer of the shared fixtures into `areas`: the 7 provinces (level 1, under PK) and
 * the 160 districts (level 2, parent = the first three characters of the P-code), through the same
 * import as `madad areas import`. Idempotent: a second call changes nothing.
 */
export async function loadTestDistricts(db: Db, now = new Date('2026-01-01T00:00:00Z')): Promise<{ provinces: number; districts: number }> {
  const { provinces, districts } = readTestDistricts();
  const ctx = setupCtx(db, now);
  await importAreas(ctx, { records: provinces, validFrom: '2022-01-01' });
  await importAreas(ctx, { records: districts, validFrom: '2022-01-01' });
  return { provinces: provinces.length, districts: districts.length };
}

/** The fixture's tehsils (geoBoundaries geometry, 2023 population) with codes derived from their districts. */
export function readTestTehsils() {
  return readTehsilsWithDerivedCodes(fixtureJson('pakistan/pak_adm3_tehsils_gbopen_geom_with_cod_pcodes.geojson'), {
    nameField: 'shapeName',
    populationField: 'pop_2023',
    source: 'geoBoundaries ADM3 with COD-AB district codes: test fixture',
  });
}

/** Loads the fixture's 554 tehsils under the districts of loadTestDistricts. */
export async function loadTestTehsils(db: Db, now = new Date('2026-01-01T00:00:00Z')): Promise<{ tehsils: number; warnings: string[] }> {
  const { areas, warnings } = readTestTehsils();
  await importAreas(setupCtx(db, now), { records: areas, validFrom: '2022-01-01' });
  return { tehsils: areas.length, warnings };
}
