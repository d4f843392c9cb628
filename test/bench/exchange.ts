/**
 * `npm run bench:exchange [-- --households 10000000 --share 0.6]`: the registry exchange at scale on
 * PostgreSQL. A synthetic NSER of N households is loaded through the registry import; a PSER of N households
 * is made from it in SQL: `share` of them the same families (same head's CNIC) with a PMT score up to 9
 * points higher and, for every fifth, a point about 8 km away; the rest other families. Then, timed: the
 * export of a pseudonymous slice of all N NSER households under an agreement (linkage key per household,
 * five agreed fields, streamed to a file as `madad exchange export` writes it), and the overlap of the two
 * N-row registries (`GET /api/registry/overlap`). Prints each step with its time, the process's peak RSS
 * and the machine's load; a scratch database is made and dropped.
 */
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import { systemCtx } from '../../server/context.ts';
import { queryRows } from '../../server/db/client.ts';
import { createAgreement, signAgreement } from '../../server/exchange/agreements.ts';
import { exportTo } from '../../server/exchange/export.ts';
import { registryOverlap } from '../../server/exchange/overlap.ts';
import { importRegistry } from '../../server/registry/import.ts';
import { synthAreas, synthCsv } from '../../server/registry/synth.ts';
import { numberArg } from './args.ts';
import { benchDatabase, ms, printTable, time } from './scratch.ts';

const HOUSEHOLDS = numberArg('households', 10_000_000);
const SEED = numberArg('seed', 20220825);
const SHARE = numberArg('share', 0.6);
const n = (x: number) => x.toLocaleString('en');
const mb = (bytes: number) => `${Math.round(bytes / 1048576).toLocaleString('en')} MB`;

/** The process's peak resident memory so far (Linux: VmHWM), in bytes. */
function peakRss(): number {
  try {
    const status = readFileSync('/proc/self/status', 'utf8');
    const kb = /VmHWM:\s+(\d+) kB/.exec(status);
    if (kb) return Number(kb[1]) * 1024;
  } catch {}
  return process.memoryUsage().rss;
}

const { database, drop } = await benchDatabase();
const db = database.db;
const rows: [string, string, string][] = [];
const dir = mkdtempSync(path.join(tmpdir(), 'madad-bench-exchange-'));
try {
  const areas = await synthAreas(db);
  const [, importMs] = await time(() => importRegistry(database, synthCsv({ households: HOUSEHOLDS, seed: SEED, areas })));
  rows.push(['seed: NSER through the registry import (not timed against the target)', `${n(HOUSEHOLDS)} households`, ms(importMs)]);
  const tenths = Math.round(SHARE * 10);
  const [, pserMs] = await time(() =>
    db.execute(sql`
      insert into households (source, household_id, cnic, head_name, phone, lat, lon, h3, province, district, tehsil, size, pmt, female_headed, has_disabled, has_elderly, children_under5, enrolments, payment_channel, payment_account)
      select 'PSER', 'PSER-' || substr(household_id, 6),
        case when id % 10 < ${tenths} then cnic else '9' || substr(cnic, 2) end,
        head_name, phone,
        case when id % 10 < ${tenths} and id % 5 = 0 then lat + 0.072 when id % 10 < ${tenths} then lat + 0.0003 else lat end,
        lon, h3, province, district, tehsil, size, least(100, pmt + (id % 7) * 1.5), female_headed, has_disabled, has_elderly, children_under5, enrolments, payment_channel, payment_account
      from households where source = 'NSER'`),
  );
  await db.execute(sql`analyze households`);
  rows.push([`seed: PSER made in SQL, ${Math.round(SHARE * 100)} % the same families (not timed against the target)`, `${n(HOUSEHOLDS)} households`, ms(pserMs)]);

  const now = new Date();
  const agreement = await createAgreement(systemCtx(db, 'bench-maker', now), {
    title: 'Bench: NSER to PSPA, pseudonymous',
    partyA: 'BISP',
    partyB: 'PSPA',
    purpose: 'dedup',
    jurisdiction: 'PK',
    linkage: 'pseudonymous',
    shares: [{ source: 'NSER', from: 'BISP', to: 'PSPA', fields: ['household_id', 'district', 'tehsil', 'household_size', 'pmt_score'] }],
    validFrom: new Date(now.getTime() - 3600_000),
    validTo: new Date(now.getTime() + 30 * 86400_000),
  });
  await signAgreement(systemCtx(db, 'bench-a', now), agreement.id, { party: 'A' });
  await signAgreement(systemCtx(db, 'bench-b', now), agreement.id, { party: 'B' });

  // The peak so far was the import's (its worker threads): start the peak again here (Linux, /proc/self/clear_refs).
  try {
    writeFileSync('/proc/self/clear_refs', '5');
  } catch {}
  const rssBefore = process.memoryUsage().rss;
  const load = loadavg()[0]!;
  const file = path.join(dir, 'nser.csv');
  const out = createWriteStream(file);
  const write = async (b: Buffer) => {
    if (!out.write(b)) await once(out, 'drain');
  };
  const [made, exportMs] = await time(() => exportTo(systemCtx(db, 'bench-export', new Date()), { agreementId: agreement.id, format: 'csv' }, write));
  await new Promise<void>((resolve) => out.end(resolve));
  const afterExport = peakRss();
  rows.push([
    `export: pseudonymous slice (linkage key + 5 fields) streamed to a file, sha256 and manifest`,
    `${n(made.rows)} rows, ${mb(statSync(file).size)}`,
    `${ms(exportMs)}: ${n(Math.round(made.rows / (exportMs / 1000)))} rows/s (target 60 s)`,
  ]);
  rmSync(file);

  const [overlap, overlapMs] = await time(() => registryOverlap(systemCtx(db, 'bench-overlap', new Date()), { sources: ['NSER', 'PSER'], area: 'PK' }));
  const t = overlap.totals;
  rows.push([
    `overlap: NSER × PSER by district and tehsil, PMT and place differences, pairs > 5 km (one hash join in PostgreSQL)`,
    `${n(t.both)} in both, ${n(t.onlyA)} + ${n(t.onlyB)} in one, ${n(t.farApart)} > 5 km`,
    `${ms(overlapMs)} (target 60 s)`,
  ]);
  const [sizes] = await queryRows<{ households: string }>(db, sql`select pg_size_pretty(pg_total_relation_size('households')) as households`);
  rows.push(['memory: process RSS before the export, peak after the export, peak after the overlap', `${mb(rssBefore)} / ${mb(afterExport)} / ${mb(peakRss())}`, `households table ${sizes!.households}; load average ${load.toFixed(2)} at the start`]);
  printTable(`Registry exchange at ${n(HOUSEHOLDS)} + ${n(HOUSEHOLDS)} households (PostgreSQL)`, rows);
} finally {
  rmSync(dir, { recursive: true, force: true });
  await drop();
}
