import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { readBoundaries } from './boundaries.ts';
import { deriveBoundaryFiles, DISTRICTS_FILE, DISTRICTS_SOURCE, TEHSILS_FILE, TEHSILS_SOURCE } from './derive-boundaries.ts';

const derived = fileURLToPath(new URL('./derived/', import.meta.url));
const sources = fileURLToPath(new URL('../../shared/fixtures/pakistan/', import.meta.url));

describe('the derived demo boundaries', () => {
  it('are what the script makes from the source layers, smaller than them and not a copy', () => {
    const source = (f: string) => JSON.parse(readFileSync(path.join(sources, f), 'utf8'));
    const { files } = deriveBoundaryFiles(source(DISTRICTS_SOURCE), source(TEHSILS_SOURCE));
    expect(files.map((o) => [o.file, o.count])).toEqual([[DISTRICTS_FILE, 160], [TEHSILS_FILE, 554]]);
    for (const f of files) {
      const committed = readFileSync(path.join(derived, f.file), 'utf8');
      expect(f.text === committed, `${f.file} is stale: run npm run geodata:derive`).toBe(true);
      expect(committed.length).toBeLessThan(readFileSync(path.join(sources, f.from)).length);
    }
  });

  it('read as the gazetteer reads boundaries: every district under its province, every tehsil under a district', () => {
    const read = (file: string, level: number) =>
      readBoundaries(JSON.parse(readFileSync(path.join(derived, file), 'utf8')), { codeField: 'code', nameField: 'name', parentField: 'parentCode', populationField: 'population', level, source: 'test' }).areas;
    const districts = read(DISTRICTS_FILE, 2);
    const tehsils = read(TEHSILS_FILE, 3);
    expect(districts.find((d) => d.code === 'PK727')).toMatchObject({ name: 'Thatta', parentCode: 'PK7' });
    const codes = new Set(districts.map((d) => d.code));
    expect(tehsils.filter((t) => !codes.has(t.parentCode!))).toEqual([]);
    expect(tehsils.every((t) => (t.population ?? 0) > 0)).toBe(true);
  });
});
