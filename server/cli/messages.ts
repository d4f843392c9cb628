import { rename } from 'node:fs/promises';
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { exportMessages, LANGUAGES, messageCounts, messageSettings, setMessageSettings, type Language, type MessageSettings } from '../payments/messages.ts';
import { cliCtx, printTable, withDatabase } from './context.ts';
import { CliError } from './errors.ts';
import { writeSynced } from './partial-file.ts';

/** Where `--out` writes: a file in a folder that exists, not a folder itself. Checked before the database opens. */
function outFile(out: string): string {
  const target = path.resolve(out);
  if (existsSync(target) && statSync(target).isDirectory()) throw new CliError(`--out: ${target} is a folder; name a file, e.g. ${path.join(target, 'sms.csv')}`);
  if (!existsSync(path.dirname(target))) throw new CliError(`--out: there is no folder ${path.dirname(target)}`);
  return target;
}

export function registerMessageCommands(program: Command): void {
  const messages = program.command('messages').description('texts (SMS) to beneficiaries: export them for the SMS gateway, see what waits, settings');
  messages
    .command('export')
    .description('write the texts waiting for the SMS gateway as CSV (msisdn, language, body, message_id) and mark them exported, so each is sent once')
    .option('--out <file>', 'write to this file (written whole, then moved into place) instead of standard output')
    .action((o: { out?: string }) => {
      const target = o.out ? outFile(o.out) : undefined;
      return withDatabase(async (database) => {
        const ctx = cliCtx(database);
        if (!target) {
          const done = await exportMessages(ctx, (chunk) => new Promise((resolve, reject) => process.stdout.write(chunk, (err) => (err ? reject(err) : resolve()))));
          process.stderr.write(`Exported ${done.count} texts${done.count ? ` (export ${done.exportId})` : ''}.\n`);
          return;
        }
        // Written beside the target and moved into place once the marks commit: a half-written file never
        // stands under the target's name, and a failed write leaves the texts waiting.
        const partial = `${target}.${process.pid}.partial`;
        const done = await writeSynced(partial, 'wx', (write) => exportMessages(ctx, write));
        await rename(partial, target);
        process.stdout.write(`Exported ${done.count} texts to ${target}${done.count ? ` (export ${done.exportId}; ${LANGUAGES.filter((l) => done.byLanguage[l]).map((l) => `${done.byLanguage[l]} ${l}`).join(', ')})` : ''}.\n`);
      });
    });
  messages
    .command('status')
    .description('how many texts wait for the gateway and how many were exported, by moment')
    .action(() =>
      withDatabase(async (database) => {
        printTable(await messageCounts(database.db), ['moment', 'waiting', 'exported']);
      }),
    );
  messages
    .command('settings')
    .description('show the texts\u2019 settings, or change them with the options')
    .option('--helpline <number>', 'the helpline a text gives, e.g. 0800-26477')
    .option('--collect-after-days <days>', 'days from a payment file to the first day of collection (default 2)')
    .option('--languages <list>', `the languages a text is made in, comma-separated: ${LANGUAGES.join(', ')}`)
    .action((o: { helpline?: string; collectAfterDays?: string; languages?: string }) =>
      withDatabase(async (database) => {
        const change: Partial<MessageSettings> = {};
        if (o.helpline !== undefined) change.helpline = o.helpline;
        if (o.collectAfterDays !== undefined) {
          if (!/^\d{1,2}$/.test(o.collectAfterDays)) throw new CliError(`--collect-after-days: expected a whole number of days from 0 to 60, got ${JSON.stringify(o.collectAfterDays)}`);
          change.collectAfterDays = Number(o.collectAfterDays);
        }
        if (o.languages !== undefined) {
          const list = o.languages.split(',').map((l) => l.trim());
          const bad = list.filter((l) => !(LANGUAGES as readonly string[]).includes(l));
          if (bad.length || list.length === 0) throw new CliError(`--languages: expected some of ${LANGUAGES.join(', ')}, got ${JSON.stringify(o.languages)}`);
          change.languages = [...new Set(list)] as Language[];
        }
        const s = Object.keys(change).length ? await setMessageSettings(cliCtx(database), change) : await messageSettings(database.db);
        process.stdout.write(`helpline ${s.helpline}; collection from ${s.collectAfterDays} days after the file; languages ${s.languages.join(', ')}\n`);
      }),
    );
}
