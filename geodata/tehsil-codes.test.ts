import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { deriveTehsilCodes } from './tehsil-codes.ts';

const tehsils = JSON.parse(readFileSync(new URL('../../shared/fixtures/pakistan/pak_adm3_tehsils_gbopen_geom_with_cod_pcodes.geojson', import.meta.url), 'utf8'));

describe('derived tehsil codes', () => {
  const { codes, warnings } = deriveTehsilCodes(tehsils.features);

  it('codes the 554 Pakistani tehsils, skipping the 2 without a district with a warning', () => {
    expect(codes).toHaveLength(554);
    expect(warnings).toHaveLength(2);
    expect(warnings.join('\n')).toMatch(/LADAKH/);
    expect(warnings.join('\n')).toMatch(/JAMMU AND KASHMIR/);
  });

  it('gives unique codes that start with the district code', () => {
    expect(new Set(codes.map((c) => c.code)).size).toBe(554);
    for (const c of codes) {
      expect(c.code).toMatch(/^PK\d{5}$/);
      expect(c.code.startsWith(c.districtCode)).toBe(true);
      expect(tehsils.features[c.index].properties.adm2_pcode).toBe(c.districtCode);
    }
  });

  it('numbers each district by name, whatever the order of the file', () => {
    const shuffled = [...tehsils.features].reverse();
    const again = deriveTehsilCodes(shuffled).codes;
    const byName = (list: typeof codes) => new Map(list.map((c) => [`${c.districtCode}/${c.name}`, c.code]));
    expect(byName(again)).toEqual(byName(codes));
    const bagh = codes.filter((c) => c.districtCode === 'PK101').map((c) => [c.code, c.name]);
    expect(bagh).toEqual([['PK10101', 'BAGH'], ['PK10102', 'DHEERKOT']]);
  });
});
