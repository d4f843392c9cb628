import { readFileSync } from 'node:fs';
import type { Feature } from 'geojson';
import { describe, expect, it } from 'vitest';
import { matchAreaName, normaliseAreaName, type AreaNameCandidate } from './area-names.ts';
import { deriveTehsilCodes } from './tehsil-codes.ts';

const fixture = (path: string) => JSON.parse(readFileSync(new URL(`../../shared/fixtures/${path}`, import.meta.url), 'utf8'));
const districtFc = fixture('pakistan/pak_adm2_districts_cod_pcodes_simplified.geojson');
const tehsilFc = fixture('pakistan/pak_adm3_tehsils_gbopen_geom_with_cod_pcodes.geojson');

const districts: AreaNameCandidate[] = districtFc.features.map((f: Feature) => ({
  code: f.properties!.pcode, name: f.properties!.name, level: 2, parentCode: String(f.properties!.pcode).slice(0, 3),
}));
const tehsils: AreaNameCandidate[] = deriveTehsilCodes(tehsilFc.features).codes.map((t) => ({
  code: t.code, name: t.name, level: 3, parentCode: t.districtCode,
}));
const all = [...districts, ...tehsils];

const codesFor = (query: string, level?: number) =>
  matchAreaName(query, level ? all.filter((c) => c.level === level) : all).matches.map((m) => m.candidate.code).sort();

describe('area name keys', () => {
  it('forgive case, punctuation, spacing and admin words', () => {
    expect(normaliseAreaName('  D.G. KHAN district ')).toBe(normaliseAreaName('Dera Ghazi Khan'));
    expect(normaliseAreaName('Tando Allah-Yar Taluka')).toBe(normaliseAreaName('tando allahyar'));
    expect(normaliseAreaName('Kurram Agency')).toBe(normaliseAreaName('Kurram'));
    expect(normaliseAreaName('Tehsil Jacobabad')).toBe(normaliseAreaName('Jacob Abad'));
  });

  it('every district name matches itself after a change of case and punctuation', () => {
    for (const d of districts) {
      const mangled = d.name.toUpperCase().replace(/ /g, '-') + '.';
      expect(codesFor(mangled, 2), d.name).toContain(d.code);
    }
  });

  it('keeps distinct districts distinct', () => {
    const keys = new Map<string, string>();
    for (const d of districts) {
      const key = normaliseAreaName(d.name);
      expect(keys.get(key), `${d.name} collides with ${keys.get(key)}`).toBeUndefined();
      keys.set(key, d.name);
    }
  });

  it('resolves the common variants to the right P-code', () => {
    const cases: [string, string][] = [
      ['D.G. Khan', 'PK607'], ['DG Khan', 'PK607'], ['Dera Ghazi Khan District', 'PK607'],
      ['D.I. Khan', 'PK509'], ['Dera Ismail Khan', 'PK509'],
      ['T.T. Singh', 'PK635'], ['Toba Tek Singh', 'PK635'],
      ['Shaheed Benazirabad', 'PK719'], ['Shaheed Benazir Abad', 'PK719'], ['Shahid Benazirabad', 'PK719'],
      ['Muzaffargarh', 'PK623'], ['Muzafargarh', 'PK623'],
      ['Tando Allah Yar', 'PK724'], ['Tando Allahyar', 'PK724'],
      ['Kambar Shahdadkot', 'PK709'], ['Qambar Shahdadkot', 'PK709'], ['Qambar-Shahdad Kot', 'PK709'],
      ['Jacobabad', 'PK707'], ['Umer Kot', 'PK728'], ['R.Y. Khan', 'PK628'],
    ];
    for (const [query, code] of cases) expect(codesFor(query, 2), query).toEqual([code]);
  });

  it('finds tehsils too, and says when a name is both a tehsil and a district', () => {
    // NASIRABAD is a tehsil of Kambar Shahdad Kot and a district of Balochistan.
    const found = matchAreaName('Nasirabad', all).matches.map((m) => m.candidate);
    expect(found.map((c) => c.level).sort()).toEqual([2, 3]);
    expect(found.find((c) => c.level === 2)!.code).toBe('PK222');
    expect(found.find((c) => c.level === 3)!.code.startsWith('PK709')).toBe(true);
  });

  it('Nawabshah: the tehsil by name, the district Shaheed Benazirabad by its former name', () => {
    const r = matchAreaName('Nawabshah', all);
    expect(r.matches.find((m) => m.via === 'name')!.candidate.code.startsWith('PK719')).toBe(true);
    expect(r.matches.find((m) => m.via === 'alias')!.candidate.code).toBe('PK719');
  });

  it('suggests, never picks, a near miss', () => {
    const r = matchAreaName('Hyderbad', districts);
    expect(r.matches).toEqual([]);
    expect(r.suggestions[0]!.candidate.code).toBe('PK706');
    expect(matchAreaName('Xyzzy Qwerty', districts).suggestions).toEqual([]);
  });
});
