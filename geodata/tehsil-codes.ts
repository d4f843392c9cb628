import { readBoundaries, type AreaRecord } from './boundaries.ts';
import { normaliseAreaName } from './area-names.ts';

export interface DerivedTehsilCode {
  /** Position of the feature in the input. */
  index: number;
  code: string;
  name: string;
  districtCode: string;
}

/**
 * Tehsil P-codes for a boundary set that has none (the geoBoundaries ADM3 layer carries only the
 * district's adm2_pcode). MADAD-DERIVED, NOT OCHA CODES: code = district P-code + two digits, the
 * tehsils of each district numbered 01, 02 … in the order of their normalised names (ties by raw
 * name, then input order). The same file always gives the same codes; a new edition that adds,
 * removes or renames a tehsil in a district may renumber that district's tehsils, so import a new
 * edition as a new gazetteer version and map codes across versions by geometry or name.
 * Features without a district code are skipped with a warning.
 */
export function deriveTehsilCodes(
  features: readonly { properties?: Record<string, unknown> | null }[],
  options: { nameField?: string; districtField?: string } = {},
): { codes: DerivedTehsilCode[]; warnings: string[] } {
  const nameField = options.nameField ?? 'shapeName';
  const districtField = options.districtField ?? 'adm2_pcode';
  const warnings: string[] = [];
  const byDistrict = new Map<string, { index: number; name: string; key: string }[]>();
  features.forEach((f, index) => {
    const props = f.properties ?? {};
    const name = String(props[nameField] ?? '').trim();
    const district = props[districtField];
    if (typeof district !== 'string' || !/^PK\d{3}$/.test(district)) {
      warnings.push(`feature ${index} (${name || 'no name'}): no district P-code in ${districtField}, skipped`);
      return;
    }
    if (!name) {
      warnings.push(`feature ${index} in ${district}: no name in ${nameField}, skipped`);
      return;
    }
    const list = byDistrict.get(district) ?? [];
    list.push({ index, name, key: normaliseAreaName(name) });
    byDistrict.set(district, list);
  });
  const codes: DerivedTehsilCode[] = [];
  for (const [district, list] of byDistrict) {
    list.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : a.name < b.name ? -1 : a.name > b.name ? 1 : a.index - b.index));
    if (list.length > 99) throw new RangeError(`district ${district} has ${list.length} tehsils; two digits hold 99`);
    list.forEach((t, k) => codes.push({ index: t.index, code: `${district}${String(k + 1).padStart(2, '0')}`, name: t.name, districtCode: district }));
  }
  codes.sort((a, b) => a.index - b.index);
  return { codes, warnings };
}

/**
 * Reads a tehsil layer that has no tehsil P-codes of its own: codes are derived as above, the parent is
 * the district, features without a district code are left out (listed in `warnings`).
 */
export function readTehsilsWithDerivedCodes(
  collection: { features: readonly { properties?: Record<string, unknown> | null }[] },
  fields: { nameField?: string; districtField?: string; populationField?: string; source: string },
): { areas: AreaRecord[]; repairs: string[]; warnings: string[]; derived: number } {
  const { codes, warnings } = deriveTehsilCodes(collection.features, fields);
  const kept = codes.map((c) => c.index);
  const { areas, repairs } = readBoundaries(
    { type: 'FeatureCollection', features: kept.map((i) => collection.features[i]) },
    {
      codeField: (_p, i) => codes[i]!.code,
      nameField: fields.nameField ?? 'shapeName',
      parentField: (_p, i) => codes[i]!.districtCode,
      ...(fields.populationField ? { populationField: fields.populationField } : {}),
      level: 3,
      source: fields.source,
    },
  );
  return { areas, repairs, warnings, derived: codes.length };
}
