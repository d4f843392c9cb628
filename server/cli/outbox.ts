import type { Command } from 'commander';
import { withAdvisoryLock } from '../db/locks.ts';
import { batchDeps } from '../batches/deps.ts';
import { parseEnv } from '../env.ts';
import { reactions } from '../jobs/reactions.ts';
import { drainOutbox, outboxStatus, retryFailed } from '../outbox/drain.ts';
import { DRAIN_LOCK, processOwner } from '../outbox/drainer.ts';
import { cliCtx, printTable, withDatabase, cliRegistry } from './context.ts';
import { CliError } from './errors.ts';

export function registerOutboxCommands(program: Command): void {
  const outbox = program.command('outbox').description('changes waiting for their reactions (trigger evaluation): drain, status, retry');
  outbox
    .command('drain')
    .description('deliver what waits, as a running server does on its own; for when none runs (exits 1 if a row failed)')
    .action(() =>
      withDatabase(async (database) => {
        let report;
        const ran = await withAdvisoryLock(database, DRAIN_LOCK, async () => {
          const registry = cliRegistry(database);
          try {
            report = await drainOutbox(database.db, reactions(batchDeps(database, registry, parseEnv())), { owner: `cli:${processOwner()}` });
          } finally {
            registry.close();
          }
        });
        if (!ran || !report) throw new CliError('another process (a running server) is draining the outbox now; it delivers what waits.');
        const { handled, failed, givenUp } = report;
        process.stdout.write(`Outbox drained: ${handled} handled, ${failed} failed${givenUp ? ` (${givenUp} given up)` : ''}.\n`);
        if (failed > 0) process.exitCode = 1;
      }),
    );
  outbox
    .command('status')
    .description('what waits, what is retried, and what was given up')
    .action(() =>
      withDatabase(async (database) => {
        const s = await outboxStatus(database.db, new Date());
        process.stdout.write(`${s.pending} pending (${s.retrying} retrying, ${s.late} late), ${s.failed} given up${s.oldestPendingAt ? `; oldest pending from ${s.oldestPendingAt}` : ''}.\n`);
        if (s.failures.length) printTable(s.failures, ['id', 'topic', 'attempts', 'failedAt', 'lastError']);
      }),
    );
  outbox
    .command('retry')
    .description('put the rows given up back in the queue, once their cause is fixed')
    .action(() =>
      withDatabase(async (database) => {
        process.stdout.write(`${await retryFailed(cliCtx(database))} rows put back in the queue.\n`);
      }),
    );
}
