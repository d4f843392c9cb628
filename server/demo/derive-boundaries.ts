/**
 * `npm run geodata:derive [-- <folder of the Pakistan boundary layers>]`: writes geodata/derived/ from the
 * source layers (geodata/derive-boundaries.ts says how) and prints the sha256 of every input and output
 * for the provenance table in geodata/README.md. The folder defaults to `../shared/fixtures/pakistan`
 * beside the repository.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { deriveBoundaryFiles, DISTRICTS_SOURCE, TEHSILS_SOURCE } from '../../geodata/derive-boundaries.ts';

const sha256 = (bytes: Buffer | string) => createHash('sha256').update(bytes).digest('hex');

const repo = fileURLToPath(new URL('../../', import.meta.url));
const sourceDir = path.resolve(process.argv[2] ?? path.join(repo, '..', 'shared', 'fixtures', 'pakistan'));
const districtBytes = readFileSync(path.join(sourceDir, DISTRICTS_SOURCE));
const tehsilBytes = readFileSync(path.join(sourceDir, TEHSILS_SOURCE));
const { files, warnings } = deriveBoundaryFiles(JSON.parse(districtBytes.toString('utf8')), JSON.parse(tehsilBytes.toString('utf8')));
const outDir = path.join(repo, 'geodata', 'derived');
mkdirSync(outDir, { recursive: true });
const sourceSha: Record<string, string> = { [DISTRICTS_SOURCE]: sha256(districtBytes), [TEHSILS_SOURCE]: sha256(tehsilBytes) };
for (const w of warnings) console.log(`left out: ${w}`);
for (const f of files) {
  writeFileSync(path.join(outDir, f.file), f.text);
  console.log(`${f.file}: ${f.count} areas, ${Buffer.byteLength(f.text).toLocaleString('en')} bytes, sha256 ${sha256(f.text)}\n  from ${f.from}, sha256 ${sourceSha[f.from]}`);
}
