import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { BoundaryInputError, readBoundaries, type AreaRecord } from '../../geodata/boundaries.ts';
import { readTehsilsWithDerivedCodes } from '../../geodata/tehsil-codes.ts';
import { importAreas } from '../areas/service.ts';
import { cliCtx, withDatabase } from './context.ts';
import { CliError } from './errors.ts';

interface AreaImportOptions {
  level: string;
  codeField: string;
  nameField: string;
  parentField?: string;
  deriveTehsilCodes?: boolean;
  populationField?: string;
  source?: string;
  validFrom?: string;
}

export function registerAreaCommands(program: Command): void {
  const areas = program.command('areas').description('the gazetteer of administrative areas');
  areas
    .command('import <file>')
    .description('import boundaries from a GeoJSON FeatureCollection; re-import is idempotent, a changed geometry becomes a new version')
    .requiredOption('--level <n>', '0 country, 1 province, 2 district, 3 tehsil, 4 union council')
    .option('--code-field <field>', 'property holding the P-code', 'pcode')
    .option('--name-field <field>', 'property holding the name', 'name')
    .option('--parent-field <field>', 'property holding the parent P-code (default: the code without its last digits)')
    .option('--derive-tehsil-codes', 'derive stable tehsil codes from the district code (for files without tehsil P-codes)')
    .option('--population-field <field>', 'property holding the population, used to shape synthetic registries')
    .option('--source <text>', 'where the boundaries come from (default: the file name)')
    .option('--valid-from <date>', 'first day these boundaries are valid (default: today)')
    .action((file: string, o: AreaImportOptions) => {
      const level = Number(o.level);
      if (!Number.isInteger(level) || level < 0 || level > 4) throw new CliError(`--level: expected 0 to 4, got ${JSON.stringify(o.level)}`);
      if (o.validFrom && !/^\d{4}-\d{2}-\d{2}$/.test(o.validFrom)) throw new CliError('--valid-from: expected a date as YYYY-MM-DD');
      let collection: { features?: { properties?: Record<string, unknown> | null }[] };
      try {
        collection = JSON.parse(readFileSync(file, 'utf8'));
      } catch (err) {
        throw new CliError(`${file}: not readable GeoJSON (${err instanceof Error ? err.message : String(err)})`);
      }
      if (o.deriveTehsilCodes && level !== 3) throw new CliError('--derive-tehsil-codes goes with --level 3');
      const source = o.source ?? file.split('/').pop()!;
      // Without --parent-field the parent is the code without its last level (PK703 → PK7, PK70301 → PK703).
      const parentOf = (p: Record<string, unknown>) => {
        if (level <= 1) return 'PK';
        const code = String(p[o.codeField] ?? '');
        return code.slice(0, level === 2 ? 3 : code.length - 2) || null;
      };
      const notes: string[] = [];
      let result: { areas: AreaRecord[]; repairs: string[] };
      try {
        if (o.deriveTehsilCodes) {
          const tehsils = readTehsilsWithDerivedCodes(
            { features: collection.features ?? [] },
            { nameField: o.nameField, districtField: o.parentField ?? 'adm2_pcode', ...(o.populationField ? { populationField: o.populationField } : {}), source },
          );
          notes.push(
            `Tehsil codes derived by Madad (district P-code + 2 digits, by name within the district): ${tehsils.derived} tehsils coded; they are not OCHA codes.`,
            ...tehsils.warnings.map((w) => `warning: ${w}`),
          );
          result = tehsils;
        } else {
          result = readBoundaries(collection, {
            codeField: o.codeField,
            nameField: o.nameField,
            parentField: o.parentField ?? parentOf,
            ...(o.populationField ? { populationField: o.populationField } : {}),
            level,
            source,
          });
        }
      } catch (err) {
        if (err instanceof BoundaryInputError) throw new CliError(`${file}: ${err.message}`);
        throw err;
      }
      return withDatabase(async (database) => {
        const ctx = cliCtx(database);
        const summary = await importAreas(ctx, { records: result.areas, validFrom: o.validFrom ?? ctx.now.toISOString().slice(0, 10) });
        for (const n of notes) process.stdout.write(`${n}\n`);
        for (const r of result.repairs) process.stdout.write(`repaired: ${r}\n`);
        process.stdout.write(`${result.areas.length} areas at level ${level}: ${summary.created} new, ${summary.newVersions} new versions, ${summary.unchanged} unchanged.\n`);
      });
    });
}
