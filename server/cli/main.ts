import { Command, CommanderError } from 'commander';
import { ConfigError } from '../env.ts';
import { DomainError } from '../errors.ts';
import { registerAccessCommands } from './access.ts';
import { registerAlertCommands } from './alerts.ts';
import { registerFeedCommands } from './feeds.ts';
import { registerRegistryCommands } from './registry.ts';
import { registerRuleCommands } from './rules.ts';
import { registerEventCommands } from './events.ts';
import { registerAreaCommands } from './areas.ts';
import { registerOutboxCommands } from './outbox.ts';
import { registerBatchCommands } from './batches.ts';
import { registerBudgetCommands } from './budgets.ts';
import { registerMessageCommands } from './messages.ts';
import { registerPaymentCommands } from './payments.ts';
import { registerPlanCommands } from './plan.ts';
import { registerAgreementCommands } from './agreements.ts';
import { registerExchangeCommands } from './exchange.ts';
import { CliError } from './errors.ts';
import { registerSystemCommands } from './system.ts';

/** The `madad` command line. Each resource adds its commands here. */
export function buildProgram(): Command {
  const program = new Command('madad')
    .description('Madad: disaster alerts, pre-agreed triggers and emergency cash top-ups')
    .showHelpAfterError()
    .exitOverride();
  registerSystemCommands(program);
  registerAccessCommands(program);
  registerAlertCommands(program);
  registerFeedCommands(program);
  registerRegistryCommands(program);
  registerRuleCommands(program);
  registerEventCommands(program);
  registerAreaCommands(program);
  registerOutboxCommands(program);
  registerBatchCommands(program);
  registerBudgetCommands(program);
  registerMessageCommands(program);
  registerPaymentCommands(program);
  registerPlanCommands(program);
  registerAgreementCommands(program);
  registerExchangeCommands(program);
  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv, { from: 'user' });
    return process.exitCode === undefined ? 0 : Number(process.exitCode);
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode;
    if (err instanceof ConfigError || err instanceof CliError || err instanceof DomainError) {
      process.stderr.write(`madad: ${err.message}\n`);
      return err instanceof CliError ? err.exitCode : 2;
    }
    process.stderr.write(`madad: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
}
