import { createReadStream, existsSync } from 'node:fs';
import type { Command } from 'commander';
import { importHouseholds } from '../households/import.ts';
import { REGISTRY_COLUMNS } from '../registry/row.ts';
import { cliCtx, withDatabase } from './context.ts';
import { CliError } from './errors.ts';
import { progressLine } from './progress.ts';
import { synthAreas, synthCsv, writeSynthCsv } from '../registry/synth.ts';
import { registerOverlapCommand } from './exchange.ts';

export function registerRegistryCommands(program: Command): void {
  const registry = program.command('registry').description('the household registry: import, synthesise, compare two registries');
  registerOverlapCommand(registry);
  registry
    .command('synth')
    .description("make a synthetic registry shaped like Pakistan (tehsil populations when the gazetteer has them, else province shares); deterministic for a seed")
    .requiredOption('--households <n>', 'how many households')
    .option('--seed <s>', 'random seed', '1')
    .option('--out <file.csv>', 'write a CSV instead of importing into the database')
    .action((o: { households: string; seed: string; out?: string }) => {
      const households = Number(o.households);
      const seed = Number(o.seed);
      if (!Number.isInteger(households) || households < 1) throw new CliError(`--households: expected a whole number ≥ 1, got ${JSON.stringify(o.households)}`);
      if (!Number.isInteger(seed)) throw new CliError(`--seed: expected a whole number, got ${JSON.stringify(o.seed)}`);
      return withDatabase(async (database) => {
        const areas = await synthAreas(database.db);
        if (o.out) {
          await writeSynthCsv(o.out, { households, seed, areas });
          process.stdout.write(`Wrote ${households} synthetic households to ${o.out}.\n`);
          return;
        }
        const progress = progressLine('households');
        const report = await importHouseholds(
          cliCtx(database),
          { database, source: synthCsv({ households, seed, areas }), name: `synthetic, ${households} households, seed ${seed}` },
          { onProgress: progress.update },
        );
        progress.done();
        process.stdout.write(`Imported ${report.imported} synthetic households (${Math.round(report.rows / Math.max(report.seconds, 0.001))} rows/s).\n`);
      });
    });
  registry
    .command('import <file>')
    .description(`import a registry CSV with the header ${REGISTRY_COLUMNS.join(',')}; exits 1 when any row is refused`)
    .option('--show <n>', 'how many refused rows to list', '50')
    .action((file: string, o: { show: string }) => {
      if (!existsSync(file)) throw new CliError(`no such file: ${file}`);
      return withDatabase(async (database) => {
        const progress = progressLine('households');
        const report = await importHouseholds(cliCtx(database), { database, source: createReadStream(file), name: file }, { onProgress: progress.update });
        progress.done();
        if (report.refused < 0) throw new CliError(`${file}: ${report.problems[0]!.reason}`);
        const rate = Math.round(report.rows / Math.max(report.seconds, 0.001));
        process.stdout.write(
          `${report.rows} rows read${report.firstLoad ? ' into an empty registry (one transaction, indexes built after the rows)' : ''}: ${report.added} new, ${report.updated} updated, ${report.unchanged} unchanged, ${report.refused} refused${report.repeated ? `, ${report.repeated} superseded by a later row of the same household` : ''}; ${report.unlocated} outside the gazetteer's areas (${report.seconds.toFixed(1)} s, ${rate} rows/s).\n`,
        );
        const show = Number(o.show);
        for (const p of report.problems.slice(0, show)) process.stderr.write(`row ${p.row}, ${p.column}: ${p.reason}\n`);
        if (report.refused > show) process.stderr.write(`… and more; ${report.refused} rows refused in all.\n`);
        if (report.refused > 0) process.exitCode = 1;
      });
    });
}
