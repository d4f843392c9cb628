/**
 * `npm run bench:batch [-- --households 10000000 --share 0.45]`: one top-up batch of the federal flood rule
 * (poorest 60 % per tehsil, PKR 25,000) over a declared flood, end to end on PostgreSQL: built (caseload,
 * identity read, lines, reservations: buildBatch as the outbox calls it), submitted, approved by a second
 * programme manager and a finance officer (the rule's tier over PKR 1 bn), and released. The declared
 * tehsils are taken in code order until they hold `--share` of the registry. Seeded through the registry
 * import (timed on its own by `npm run bench:import`); a scratch database is made and dropped.
 */
import { availableParallelism } from 'node:os';
import { numberArg } from './args.ts';
import { n, releasedFloodBatch, tableSizes, type Row } from './flood-batch.ts';
import { printTable } from './scratch.ts';

const HOUSEHOLDS = numberArg('households', 10_000_000);
const SEED = numberArg('seed', 20220825);
const SHARE = numberArg('share', 0.45);

const rows: Row[] = [];
const world = await releasedFloodBatch({ households: HOUSEHOLDS, seed: SEED, share: SHARE }, rows);
try {
  await tableSizes(world.db, ['households', 'batch_lines', 'reservations'], rows);
} finally {
  await world.drop();
}
printTable(`Batch benchmark: ${n(HOUSEHOLDS)} synthetic households (seed ${SEED}) on PostgreSQL, ${availableParallelism()} cores, load average ${world.load.toFixed(1)} when the build began`, rows);
