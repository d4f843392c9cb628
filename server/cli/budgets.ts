import type { Command } from 'commander';
import { pkrText } from '../../triggers/index.ts';
import { amendBudget, listBudgets } from '../batches/budgets.ts';
import { amendBody } from '../batches/schema.ts';
import { actingAs, AS_HELP, checked, refusing, requireRolesFor, uuidOf } from './batches.ts';
import { cliCtx, printTable, withDatabase } from './context.ts';
import { CliError } from './errors.ts';

/**
 * `--ceiling` in whole rupees: digits, grouped with commas or underscores if you like (70,000,000,000),
 * never a fraction, a sign or an exponent, so what is typed is the figure stored.
 */
export function wholeRupees(text: string): number {
  const digits = text.trim().replace(/[,_]/g, '');
  if (!/^\d+$/.test(digits)) throw new CliError(`--ceiling: expected whole rupees such as 80000000000 or 80,000,000,000, got ${JSON.stringify(text)}`);
  const n = Number(digits);
  if (!Number.isSafeInteger(n)) throw new CliError(`--ceiling: ${text} is more rupees than can be stored exactly`);
  return n;
}

const rupees = (n: number) => pkrText(n).slice(4);

export function registerBudgetCommands(program: Command): void {
  const budgets = program
    .command('budgets')
    .description('budget lines of each rule\u2019s payers: ceiling, committed, released, headroom; amend a ceiling with --as <finance officer>, recorded in the audit trail');

  budgets
    .command('list')
    .description('every budget line with its figures and how often its ceiling was amended (as the CLI system actor)')
    .action(() =>
      withDatabase(async (database) => {
        const lines = await listBudgets(cliCtx(database));
        printTable(
          lines.map((l) => ({
            id: l.id,
            rule: l.ruleId,
            programme: l.programme,
            payer: `${l.agency} (${l.jurisdiction})`,
            'ceiling PKR': rupees(l.ceilingPkr),
            'committed PKR': rupees(l.committedPkr),
            'released PKR': rupees(l.releasedPkr),
            'headroom PKR': rupees(l.headroomPkr),
            amendments: l.amendments.length,
          })),
          ['id', 'rule', 'programme', 'payer', 'ceiling PKR', 'committed PKR', 'released PKR', 'headroom PKR', 'amendments'],
        );
        if (lines.length === 0) process.stdout.write('No budget lines: a rule\u2019s lines are opened when its first batch is built.\n');
      }),
    );

  budgets
    .command('amend <id>')
    .description('change a budget line\u2019s ceiling, as a finance officer of its payer, with a reason and a reference (never below what is released)')
    .requiredOption('--ceiling <PKR>', 'the new ceiling in whole rupees, e.g. 80000000000')
    .requiredOption('--reason <text>', 'why the ceiling changes, for the trail')
    .requiredOption('--reference <text>', 'the decision behind it: a notification, a minute, a letter')
    .requiredOption('--as <username>', AS_HELP)
    .action((id: string, o: { ceiling: string; reason: string; reference: string; as: string }) => {
      const lineId = uuidOf(id, 'a budget line');
      const input = checked(amendBody, { ceilingPkr: wholeRupees(o.ceiling), reason: o.reason, reference: o.reference }, { ceilingPkr: '--ceiling' });
      return withDatabase(async (database) => {
        const ctx = await actingAs(database, o.as);
        const amended = await refusing(async () => {
          requireRolesFor(ctx, 'finance_officer');
          return amendBudget(ctx, { id: lineId, ...input });
        });
        process.stdout.write(
          `Amended the ${amended.agency} budget line of ${amended.ruleId} as ${ctx.actor.kind}:${ctx.actor.name}: ceiling ${pkrText(amended.amendment.ceilingBeforePkr)} -> ${pkrText(amended.ceilingPkr)} (reference ${amended.amendment.reference}).\n` +
            `Released ${pkrText(amended.releasedPkr)}, committed ${pkrText(amended.committedPkr)}, headroom ${pkrText(amended.headroomPkr)}.\n`,
        );
      });
    });
}
