import { open, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { createReadStream, existsSync } from 'node:fs';
import type { Command } from 'commander';
import { batchDeps } from '../batches/deps.ts';
import type { Database } from '../db/client.ts';
import { parseEnv } from '../env.ts';
import { decideChangeSet, getChangeSet, stageChangeSet, type Decision } from '../exchange/changes.ts';
import { exportTo, manifestOf, purgeExpiredExports } from '../exchange/export.ts';
import { registryOverlap } from '../exchange/overlap.ts';
import { importExternalPayments } from '../exchange/payments.ts';
import { importSharedRegistry } from '../exchange/registry-import.ts';
import { actingAs, AS_HELP, refusing, uuidOf } from './batches.ts';
import { cliCtx, printTable, withDatabase, cliRegistry } from './context.ts';
import { CliError } from './errors.ts';

const ctxOf = async (database: Database, as?: string) => (as ? actingAs(database, as) : cliCtx(database));

async function readText(file: string): Promise<string> {
  if (!existsSync(file)) throw new CliError(`no such file: ${file}`);
  return readFile(file, 'utf8');
}

const rows = (list: string | undefined, what: string) =>
  (list ?? '')
    .split(',')
    .filter(Boolean)
    .map((r) => {
      const n = Number(r);
      if (!Number.isInteger(n) || n < 2) throw new CliError(`${what}: expected row numbers of the change set (2, 3, …), got ${JSON.stringify(r)}`);
      return n;
    });

export function registerExchangeCommands(program: Command): void {
  const exchange = program.command('exchange').description('registry exchange under agreements: export a slice, load payments and change sets, decide changes');
  exchange
    .command('export <agreement>')
    .description('write the agreed slice of a registry (linkage key and the agreed fields) to a file, with FILE.manifest.json beside it; Madad keeps the manifest, not the bytes')
    .requiredOption('--out <file>', 'where to write it')
    .option('--source <registry>', 'the registry, when the agreement shares more than one')
    .option('--format <f>', 'csv or ndjson', 'csv')
    .option('--as <username>', AS_HELP)
    .action((agreement: string, o: { out: string; source?: string; format: string; as?: string }) => {
      if (o.format !== 'csv' && o.format !== 'ndjson') throw new CliError(`--format: expected csv or ndjson, got ${JSON.stringify(o.format)}`);
      return withDatabase(async (database) => {
        const ctx = await ctxOf(database, o.as);
        const partial = `${o.out}.partial`;
        const handle = await open(partial, 'w');
        const started = Date.now();
        let made;
        try {
          made = await refusing(() =>
            exportTo(ctx, { agreementId: uuidOf(agreement, 'an agreement'), ...(o.source ? { source: o.source } : {}), format: o.format as 'csv' | 'ndjson' }, async (b) => void (await handle.write(b))),
          );
          await handle.sync();
        } catch (err) {
          await handle.close();
          await unlink(partial).catch(() => undefined);
          throw err;
        }
        await handle.close();
        await rename(partial, o.out);
        await writeFile(`${o.out}.manifest.json`, `${JSON.stringify(manifestOf(made), null, 2)}\n`);
        const seconds = (Date.now() - started) / 1000;
        process.stdout.write(
          `Wrote ${made.rows} households of ${made.source} for ${made.recipient} to ${o.out} (${made.bytes} bytes, sha256 ${made.sha256}; ${seconds.toFixed(1)} s) and its manifest to ${o.out}.manifest.json.\n`,
        );
      });
    });
  exchange
    .command('payments <agreement> <file>')
    .description('load a payment list of a programme paying outside Madad (CSV by linkage key): checked whole, applied once; batches net it off')
    .option('--as <username>', AS_HELP)
    .action((agreement: string, file: string, o: { as?: string }) =>
      withDatabase(async (database) => {
        const text = await readText(file);
        const registry = cliRegistry(database);
        try {
          const r = await refusing(async () => importExternalPayments(await ctxOf(database, o.as), { agreementId: uuidOf(agreement, 'an agreement'), text }, batchDeps(database, registry, parseEnv())));
          process.stdout.write(
            r.already
              ? `${file} was loaded before under this agreement (import ${r.importId}): nothing changed.\n`
              : `${r.rows} payments read: ${r.matched} matched to households, ${r.unmatched} matched none; ${r.held} households now held for PKR ${r.heldPkr.toLocaleString('en-PK')} (import ${r.importId}).\n`,
          );
        } finally {
          registry.close();
        }
      }),
    );
  exchange
    .command('import-registry <agreement> <file>')
    .description('load the other party\u2019s registry (e.g. PSER) as its own source through the registry import, under an identified agreement that shares it with you')
    .requiredOption('--source <registry>', 'the registry shared, e.g. PSER')
    .option('--as <username>', AS_HELP)
    .action((agreement: string, file: string, o: { source: string; as?: string }) => {
      if (!existsSync(file)) throw new CliError(`no such file: ${file}`);
      return withDatabase(async (database) => {
        const r = await refusing(async () =>
          importSharedRegistry(await ctxOf(database, o.as), { agreementId: uuidOf(agreement, 'an agreement'), source: o.source, database, file: () => createReadStream(file), name: file }),
        );
        process.stdout.write(`${r.rows} rows of ${o.source} read: ${r.added} new, ${r.updated} updated, ${r.unchanged} unchanged, ${r.refused} refused (${r.seconds.toFixed(1)} s).\n`);
        for (const p of r.problems.slice(0, 50)) process.stderr.write(`row ${p.row}, ${p.column}: ${p.reason}\n`);
        if (r.refused !== 0) process.exitCode = 1;
      });
    });
  exchange
    .command('changes <agreement> <file>')
    .description('stage a survey\u2019s changes to households (CSV by linkage key) for the registry\u2019s keeper to decide')
    .option('--source <registry>', 'the registry changed, when the agreement shares more than one')
    .option('--as <username>', AS_HELP)
    .action((agreement: string, file: string, o: { source?: string; as?: string }) =>
      withDatabase(async (database) => {
        const text = await readText(file);
        const r = await refusing(async () => stageChangeSet(await ctxOf(database, o.as), { agreementId: uuidOf(agreement, 'an agreement'), ...(o.source ? { source: o.source } : {}), text }));
        process.stdout.write(
          r.already ? `${file} was staged before: change set ${r.changeSetId}.\n` : `Change set ${r.changeSetId}: ${r.rows} households read, ${r.staged} with changes staged, ${r.unchanged} unchanged.\n`,
        );
      }),
    );
  exchange
    .command('show-changes <changeSet>')
    .description('a change set field by field: before → after per household, and the decisions')
    .action((id: string) =>
      withDatabase(async (database) => {
        const { changeSet, rows: list } = await refusing(() => getChangeSet(cliCtx(database), uuidOf(id, 'a change set')));
        process.stdout.write(`Change set ${changeSet.id}: ${changeSet.sender} → ${changeSet.target} within ${changeSet.jurisdiction}, ${changeSet.madeAt.toISOString()} by ${changeSet.madeBy}\n`);
        printTable(
          list.map((r) => ({
            row: r.rowNo,
            household: r.householdId,
            area: r.area,
            changes: Object.entries(r.changes)
              .map(([f, c]) => `${f}: ${String(c!.before)} → ${String(c!.after)}`)
              .join('; '),
            decision: r.decision ?? 'waiting',
          })),
          ['row', 'household', 'area', 'changes', 'decision'],
        );
      }),
    );
  exchange
    .command('decide <changeSet>')
    .description('merge or refuse households of a change set, by row (an officer of the registry\u2019s keeper)')
    .option('--merge <rows>', 'rows to merge, e.g. 2,3,7')
    .option('--refuse <rows>', 'rows to refuse')
    .option('--reason <text>', 'why (kept with each refused row)')
    .requiredOption('--as <username>', AS_HELP)
    .action((id: string, o: { merge?: string; refuse?: string; reason?: string; as: string }) =>
      withDatabase(async (database) => {
        const decisions: Decision[] = [...rows(o.merge, '--merge').map((row) => ({ row, decision: 'merge' as const })), ...rows(o.refuse, '--refuse').map((row) => ({ row, decision: 'refuse' as const, reason: o.reason }))];
        if (decisions.length === 0) throw new CliError('name rows with --merge and/or --refuse');
        const r = await refusing(async () => decideChangeSet(await actingAs(database, o.as), uuidOf(id, 'a change set'), decisions));
        process.stdout.write(`${r.merged} merged, ${r.refused} refused, ${r.waiting} still waiting.\n`);
      }),
    );
  exchange
    .command('purge')
    .description('delete the kept bytes of every export past its expiry (the server does it on each export too)')
    .action(() =>
      withDatabase(async (database) => {
        const n = await purgeExpiredExports(cliCtx(database));
        process.stdout.write(`${n} expired export${n === 1 ? '' : 's'} purged.\n`);
      }),
    );
}

/** `madad registry overlap`: added to the registry command by server/cli/registry.ts. */
export function registerOverlapCommand(registry: Command): void {
  registry
    .command('overlap')
    .description('households in both of two registries and in one only, by district and tehsil; PMT and place differences; pairs more than 5 km apart')
    .requiredOption('--sources <a,b>', 'two registries, e.g. NSER,PSER')
    .option('--area <pcode>', 'the area (P-code prefix)', 'PK')
    .option('--json', 'print the whole report as JSON')
    .option('--as <username>', AS_HELP)
    .action((o: { sources: string; area: string; json?: boolean; as?: string }) =>
      withDatabase(async (database) => {
        const [a, b, ...more] = o.sources.split(',').map((s) => s.trim());
        if (!a || !b || more.length) throw new CliError(`--sources: expected two registries such as NSER,PSER, got ${JSON.stringify(o.sources)}`);
        if (!/^PK\d{0,7}$/.test(o.area)) throw new CliError(`--area: expected a P-code such as PK6, got ${JSON.stringify(o.area)}`);
        const r = await refusing(async () => registryOverlap(await ctxOf(database, o.as), { sources: [a, b], area: o.area }));
        if (o.json) {
          process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
          return;
        }
        printTable(
          r.areas.map((x) => ({ ...x, [`only ${a}`]: x.onlyA, [`only ${b}`]: x.onlyB, 'pmt |diff|': x.pmtMeanAbsDiff, 'pmt ≥5': x.pmtDiffer, '>5 km': x.farApart })),
          ['district', 'tehsil', 'both', `only ${a}`, `only ${b}`, 'pmt |diff|', 'pmt ≥5', 'apart', '>5 km'],
        );
        const t = r.totals;
        process.stdout.write(
          `\nIn ${r.area}: ${t.both} households in both ${a} and ${b}, ${t.onlyA} only in ${a}, ${t.onlyB} only in ${b}; PMT differs by 5 or more for ${t.pmtDiffer}; ${t.apart} listed in another tehsil, ${t.farApart} more than 5 km apart (${r.seconds.toFixed(1)} s).\n`,
        );
        if (r.far.length) {
          process.stdout.write(`\nFor review, ${r.far.length === t.farApart ? 'all' : `the ${r.far.length} farthest of`} ${t.farApart} pairs more than 5 km apart:\n`);
          printTable(r.far.map((f) => ({ [a]: f.a, [b]: f.b, km: f.km, [`district ${a}`]: f.districtA, [`district ${b}`]: f.districtB, [`pmt ${a}`]: f.pmtA, [`pmt ${b}`]: f.pmtB })), [a, b, 'km', `district ${a}`, `district ${b}`, `pmt ${a}`, `pmt ${b}`]);
        }
      }),
    );
}
