import { readFileSync } from 'node:fs';
import { readBoundaries } from '../../geodata/boundaries.ts';
import { importAreas } from '../areas/service.ts';
import type { Ctx } from '../context.ts';

const DERIVED = new URL('../../geodata/derived/', import.meta.url);

/** What the demo's derived boundaries say of themselves (geodata/README.md has the full provenance). */
export const DEMO_BOUNDARY_SOURCES = {
  2: 'OCHA COD-AB Pakistan districts (WFP 2022, CC BY 3.0 IGO), simplified for the demo',
  3: 'geoBoundaries ADM3 tehsils (ODbL 1.0) with OCHA COD-AB district codes, simplified for the demo; tehsil codes Madad-derived',
} as const;

/** The demo's districts and tehsils (geodata/derived), as area records under the default provinces. */
export function demoBoundaries() {
  const read = (file: string, level: 2 | 3) =>
    readBoundaries(JSON.parse(readFileSync(new URL(file, DERIVED), 'utf8')), {
      codeField: 'code',
      nameField: 'name',
      parentField: 'parentCode',
      populationField: 'population',
      level,
      source: DEMO_BOUNDARY_SOURCES[level],
    }).areas;
  return { districts: read('pakistan-districts.geojson', 2), tehsils: read('pakistan-tehsils.geojson', 3) };
}

/** Loads them through the same import as `madad areas import` (idempotent). */
export async function loadDemoBoundaries(ctx: Ctx): Promise<{ districts: number; tehsils: number }> {
  const { districts, tehsils } = demoBoundaries();
  const validFrom = '2022-09-09';
  await importAreas(ctx, { records: districts, validFrom });
  await importAreas(ctx, { records: tehsils, validFrom });
  return { districts: districts.length, tehsils: tehsils.length };
}
