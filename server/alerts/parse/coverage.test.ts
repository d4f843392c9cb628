import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { fixtureNames } from './test-support.ts';

it('every CAP, GDACS and USGS sample in the shared fixtures has a test of its own values', () => {
  const here = fileURLToPath(new URL('.', import.meta.url));
  const tests = readdirSync(here)
    .filter((f) => f.endsWith('.test.ts') && f !== 'coverage.test.ts')
    .map((f) => readFileSync(`${here}/${f}`, 'utf8'))
    .join('\n');
  const untested = ['cap', 'gdacs', 'usgs'].flatMap((dir) => fixtureNames(dir).filter((name) => !tests.includes(`'${name}'`)).map((n) => `${dir}/${n}`));
  expect(untested).toEqual([]);
});
