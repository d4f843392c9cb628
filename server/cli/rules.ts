import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { parseRule, RuleError, type Rule } from '../../triggers/index.ts';
import { AreaCatalog } from '../areas/catalog.ts';
import { backtest, backtestLines } from '../rules/backtest.ts';
import { loadRules, readRuleDir, SHIPPED_RULES_DIR } from '../rules/loader.ts';
import { rulesInForce } from '../rules/service.ts';
import type { Database } from '../db/client.ts';
import { cliCtx, printTable, withDatabase, cliRegistry } from './context.ts';
import { CliError } from './errors.ts';

/** A rule named on the command line: a YAML file, a rule loaded in the database, or a shipped rule. */
async function findRule(database: Database, name: string): Promise<Rule> {
  if (existsSync(name) && statSync(name).isFile()) {
    try {
      return parseRule(readFileSync(name, 'utf8'));
    } catch (err) {
      if (err instanceof RuleError) throw new CliError(`${name}: ${err.message}`);
      throw err;
    }
  }
  const loaded = (await rulesInForce(database.db)).find((r) => r.rule.id === name);
  if (loaded) return loaded.rule;
  const shipped = readRuleDir(SHIPPED_RULES_DIR).find((r) => r.rule.id === name);
  if (shipped) return shipped.rule;
  throw new CliError(`no rule ${name}: give a rule id (${readRuleDir(SHIPPED_RULES_DIR).map((r) => r.rule.id).join(', ')}) or a rule file`);
}

export function registerRuleCommands(program: Command): void {
  const rules = program.command('rules').description('pre-agreed trigger rules: load, backtest');
  rules
    .command('load [dir]')
    .description('load the rule files (*.yaml) of a folder, the shipped triggers/rules by default; a changed file becomes a new version')
    .action((dir: string | undefined) =>
      withDatabase(async (database) => {
        const folder = dir ?? SHIPPED_RULES_DIR;
        const loaded = await loadRules(cliCtx(database), folder);
        printTable(loaded.map((r) => ({ ...r, outcome: r.outcome === 'new' ? 'new version' : r.outcome })), ['id', 'version', 'outcome', 'file', 'versionId']);
        const added = loaded.filter((r) => r.outcome !== 'unchanged').length;
        process.stdout.write(`${loaded.length} rules read from ${path.basename(path.resolve(folder))}, ${added} changed.\n`);
      }),
    );
  rules
    .command('backtest <rule>')
    .description('replay past alerts against a rule (id or file): which would have fired which stage, and the caseload each time; stores nothing')
    .requiredOption('--alerts <dir>', 'a folder of alert files (CAP, GDACS, USGS, Madad JSON)')
    .option('--area <codes>', 'assume every message struck these P-codes (comma-separated), e.g. PK1: what would this quake have done here')
    .action((name: string, o: { alerts: string; area?: string }) => {
      if (!existsSync(o.alerts) || !statSync(o.alerts).isDirectory()) throw new CliError(`no such folder: ${o.alerts}`);
      const assumeArea = o.area?.split(',').map((c) => c.trim().toUpperCase()).filter(Boolean);
      if (assumeArea?.some((c) => !/^PK\d*$/.test(c))) throw new CliError(`--area takes P-codes such as PK1 or PK701, got ${o.area}`);
      return withDatabase(async (database) => {
        const rule = await findRule(database, name);
        const catalog = await AreaCatalog.load(database.db);
        const registry = await cliRegistry(database).get();
        const report = await backtest(rule, o.alerts, { catalog, ...(assumeArea ? { assumeArea } : {}), ...(registry.count ? { registry } : {}) });
        const area = assumeArea
          ? `every message assumed to strike ${assumeArea.join(', ')} (--area)`
          : catalog.size
            ? `resolved with the gazetteer (${catalog.size} areas)`
            : 'no gazetteer loaded, so messages have no area codes (try --area)';
        process.stdout.write(
          [
            `Backtest of ${rule.id} (version ${rule.version}) on the alerts in ${path.basename(path.resolve(o.alerts))}.`,
            `Each message is evaluated at its own sent time; the rule's validity window (from ${rule.valid_from}${rule.valid_to ? ` to ${rule.valid_to}` : ''}) is not applied.`,
            `Area: ${area}. Registry: ${registry.count ? `${registry.count} households` : 'none loaded'}.`,
            '',
            ...backtestLines(rule, report, registry.count > 0),
            '',
          ].join('\n'),
        );
      });
    });
}
