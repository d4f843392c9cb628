import { existsSync, readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { HAZARDS } from '../../triggers/subject.ts';
import { NotificationFileError, readNotificationFile } from '../events/notification-file.ts';
import { describeArea, explainUnresolved } from '../events/resolve.ts';
import { EVENT_STATUSES, newEventSchema } from '../events/schema.ts';
import { createEvent, listEvents, UnresolvedAreasError, type StoredNotification } from '../events/service.ts';
import { cliCtx, printTable, withDatabase } from './context.ts';
import { CliError } from './errors.ts';

export function registerEventCommands(program: Command): void {
  const events = program.command('events').description('events declared by NDMA/PDMAs: declare from a notification list, list');
  events
    .command('declare')
    .description('declare an event from a file of notified areas; nothing is stored unless every line resolves')
    .requiredOption('--name <name>', 'what the event is called, e.g. "Monsoon floods 2026, upper Sindh"')
    .requiredOption('--hazard <hazard>', `one of ${HAZARDS.join(', ')}`)
    .requiredOption('--areas <file>', 'one P-code or area name per line (# comments), or a CSV with a pcode or name column')
    .option('--draft', 'store it as a draft, to be declared later')
    .action(async (o: { name: string; hazard: string; areas: string; draft?: boolean }) => {
      if (!existsSync(o.areas)) throw new CliError(`no such file: ${o.areas}`);
      let lines;
      try {
        lines = readNotificationFile(readFileSync(o.areas, 'utf8'), o.areas);
      } catch (err) {
        if (err instanceof NotificationFileError || (err as { code?: string }).code?.startsWith('CSV_')) throw new CliError(`${o.areas}: ${(err as Error).message}`);
        throw err;
      }
      if (lines.length === 0) throw new CliError(`${o.areas}: no areas in the file`);
      const parsed = newEventSchema.safeParse({ name: o.name, hazard: o.hazard, status: o.draft ? 'draft' : 'declared', areas: lines.map(({ area, level }) => ({ area, level })) });
      if (!parsed.success) throw new CliError(parsed.error.issues.map((i) => `${i.path.join('.') || 'options'}: ${i.message}`).join('; '));
      await withDatabase(async (database) => {
        // Evaluation follows through the outbox: a running server at once, else `madad outbox drain`.
        const event = await createEvent(cliCtx(database), parsed.data).catch((err: unknown) => {
          if (!(err instanceof UnresolvedAreasError)) throw err;
          for (const u of err.lines) process.stderr.write(`${o.areas}:${lines[u.index]!.fileLine}: ${explainUnresolved(u)}\n`);
          throw new CliError(`${err.lines.length} of ${lines.length} lines did not resolve; nothing was stored.`);
        });
        const notification = event.notification as StoredNotification;
        printTable(
          notification.lines.map((l, n) => ({ line: lines[n]!.fileLine, submitted: l.submitted, resolved: describeArea(l.area) })),
          ['line', 'submitted', 'resolved'],
        );
        process.stdout.write(`${event.status === 'draft' ? 'Drafted' : 'Declared'} event ${event.id} "${event.name}" (${event.hazard}, jurisdiction ${event.jurisdiction}): ${event.areaCodes.length} areas.\n`);
      });
    });
  events
    .command('list')
    .description('list events, newest first')
    .option('--status <status>', EVENT_STATUSES.join(', '))
    .action((o: { status?: string }) =>
      withDatabase(async (database) => {
        if (o.status && !(EVENT_STATUSES as readonly string[]).includes(o.status)) throw new CliError(`--status: expected one of ${EVENT_STATUSES.join(', ')}`);
        const ctx = cliCtx(database);
        const { items } = await listEvents(ctx, { status: o.status as (typeof EVENT_STATUSES)[number] | undefined, page: 1, pageSize: 500 });
        printTable(
          items.map((e) => ({ ...e, areas: e.areaCodes.length })),
          ['id', 'name', 'hazard', 'status', 'jurisdiction', 'areas', 'declaredAt', 'closedAt'],
        );
      }),
    );
}
