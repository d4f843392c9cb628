/**
 * `npm run bench:import [-- --households 10000000]`: the registry import into PostgreSQL, from a CSV file
 * (checks, area codes, H3, COPY), first into an empty registry, then the same file again (every household
 * known and unchanged, so every batch goes through the merge). The synthetic file is written first, to a
 * temporary folder, and its making is timed apart. A scratch database is made and dropped.
 */
import { createReadStream, mkdtempSync, rmSync, statSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import path from 'node:path';
import { synthAreas, writeSynthCsv } from '../../server/registry/synth.ts';
import { importRegistry, type ImportReport } from '../../server/registry/import.ts';
import { numberArg } from './args.ts';
import { benchDatabase, ms, printTable, time } from './scratch.ts';

const HOUSEHOLDS = numberArg('households', 1_000_000);
const SEED = numberArg('seed', 20220825);

const { database, drop } = await benchDatabase();
const folder = mkdtempSync(path.join(tmpdir(), 'madad-bench-'));
const file = path.join(folder, 'registry.csv');
const rows: [string, string, string][] = [];
const rate = (report: ImportReport, millis: number) => `${Math.round(report.rows / (millis / 1000)).toLocaleString('en')} rows/s`;

try {
  const [, synthMs] = await time(async () => writeSynthCsv(file, { households: HOUSEHOLDS, seed: SEED, areas: await synthAreas(database.db) }));
  rows.push(['write the synthetic registry CSV (not part of the import)', `${Math.round(statSync(file).size / 1048576)} MB`, ms(synthMs)]);
  const [fresh, freshMs] = await time(() => importRegistry(database, createReadStream(file)));
  rows.push([`import into an empty registry (${fresh.firstLoad ? 'first load: ' : ''}checks, area codes, H3, COPY${fresh.firstLoad ? ', indexes built after' : ''})`, `${fresh.added.toLocaleString('en')} new`, `${ms(freshMs)}: ${rate(fresh, freshMs)}`]);
  const [again, againMs] = await time(() => importRegistry(database, createReadStream(file)));
  rows.push(['import the same file again (merge; nothing rewritten)', `${again.unchanged.toLocaleString('en')} unchanged`, `${ms(againMs)}: ${rate(again, againMs)}`]);
  rows.push(['import process memory (RSS) at the end', '', `${Math.round(process.memoryUsage().rss / 1048576)} MB`]);
} finally {
  rmSync(folder, { recursive: true, force: true });
  await drop();
}

printTable(`Registry import benchmark: ${HOUSEHOLDS.toLocaleString('en')} synthetic households (seed ${SEED}) into PostgreSQL, ${availableParallelism()} cores`, rows);
