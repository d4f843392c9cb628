import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import type { Command } from 'commander';
import { ingestBody } from '../alerts/store.ts';
import { ValidationError } from '../errors.ts';
import { cliCtx, withDatabase } from './context.ts';

// The parser sniffs the content; the label only shapes the message for a body that is neither XML nor JSON.
const CONTENT_TYPES: Record<string, string> = {
  '.xml': 'application/xml',
  '.cap': 'application/cap+xml',
  '.json': 'application/json',
  '.geojson': 'application/geo+json',
};

export function registerAlertCommands(program: Command): void {
  const alerts = program.command('alerts').description('warnings: ingest files of CAP, GDACS, USGS or Madad JSON');
  alerts
    .command('ingest <files...>')
    .description('ingest alert files as POST /api/alerts does (a running server evaluates them at once, or `madad outbox drain`); exits 1 when a file is refused or a message rejected')
    .action((files: string[]) =>
      withDatabase(async (database) => {
        let refused = 0;
        for (const file of files) {
          let body: Buffer;
          try {
            body = await readFile(file);
          } catch (err) {
            process.stderr.write(`${file}: cannot be read: ${(err as NodeJS.ErrnoException).code ?? String(err)}\n`);
            refused++;
            continue;
          }
          try {
            const report = await ingestBody(cliCtx(database), { body, contentType: CONTENT_TYPES[extname(file).toLowerCase()] });
            process.stdout.write(`${file}: ${report.format}, ${report.items.length} message${report.items.length === 1 ? '' : 's'}\n`);
            for (const item of report.items) {
              const name = item.identifier ?? 'a message';
              if (item.result === 'rejected') {
                process.stderr.write(`${file}: rejected ${name}: ${item.reason}\n`);
                refused++;
              } else {
                process.stdout.write(`  ${item.result.padEnd(9)} ${name}${item.state ? ` (${item.state})` : ''}${item.sender ? ` from ${item.sender}` : ''}\n`);
              }
            }
          } catch (err) {
            if (!(err instanceof ValidationError)) throw err;
            // A body refused as a whole (a DOCTYPE, malformed XML or JSON): nothing of it was stored.
            process.stderr.write(`${file}: refused: ${err.message}\n`);
            refused++;
          }
        }
        if (refused > 0) process.exitCode = 1;
      }),
    );
}
