import type { Command } from 'commander';
import { splitSenders } from '../access/senders.ts';
import { pollDueFeeds, type PollResult } from '../feeds/poller.ts';
import { FEED_FORMATS, newFeedSchema, toFeed } from '../feeds/schema.ts';
import { addFeed, listFeeds } from '../feeds/service.ts';
import { cliCtx, printTable, withDatabase } from './context.ts';
import { CliError } from './errors.ts';
import { parseEnv } from '../env.ts';

/** One line per polled feed, as `madad feeds poll` prints it. */
export function describePoll(r: PollResult): string {
  const next = r.nextPollAt ? `; next poll ${r.nextPollAt.toISOString()}` : '';
  switch (r.outcome) {
    case 'fetched':
      return `${r.url}: ${r.created} created, ${r.updated} updated, ${r.unchanged} unchanged, ${r.rejected} rejected${next}`;
    case 'not-modified':
      return `${r.url}: not modified (304)${next}`;
    case 'skipped':
      return `${r.url}: skipped, another process is polling it${next}`;
    case 'failed':
      return `${r.url}: failed: ${r.error}${next}`;
  }
}

export function registerFeedCommands(program: Command): void {
  const feeds = program.command('feeds').description('alert feeds Madad polls: add, list, poll');
  feeds
    .command('add <url>')
    .description('add a feed to poll; it is due at once')
    .requiredOption('--format <format>', FEED_FORMATS.join(', '))
    .option('--every <duration>', 'how often to poll: 30s at least, e.g. 5m or 1h', '5m')
    .option('--senders <list>', 'comma-separated CAP senders its messages may carry, e.g. ffd@pmd.gov.pk; required for CAP feeds (GDACS and USGS feeds default to their own)')
    .action((url: string, o: { format: string; every: string; senders?: string }) => {
      const parsed = newFeedSchema.safeParse({ url, format: o.format, every: o.every, ...(o.senders === undefined ? {} : { senders: splitSenders(o.senders) }) });
      if (!parsed.success) {
        const name = (path: PropertyKey[]) => (path[0] === 'url' ? 'URL' : `--${String(path[0])}`);
        throw new CliError(parsed.error.issues.map((i) => `${name(i.path)}: ${i.message}`).join('; '));
      }
      return withDatabase(async (database) => {
        const feed = toFeed(await addFeed(cliCtx(database), parsed.data));
        process.stdout.write(`Added feed ${feed.url} (${feed.format}, every ${feed.every}, as ${feed.senders.join(', ')}), id ${feed.id}.\n`);
      });
    });
  feeds
    .command('list')
    .description('list feeds with their status: last success, last error, items seen, next poll')
    .action(() =>
      withDatabase(async (database) => {
        const rows = (await listFeeds(cliCtx(database))).map(toFeed);
        printTable(rows, ['url', 'format', 'every', 'senders', 'status', 'lastSuccessAt', 'lastError', 'itemsSeen', 'nextPollAt']);
      }),
    );
  feeds
    .command('poll')
    .description('poll the feeds that are due, once, now; exits 1 when a poll failed')
    .option('--timeout <seconds>', 'how long one fetch may take', '20')
    .action((o: { timeout: string }) => {
      const timeout = Number(o.timeout);
      if (!Number.isFinite(timeout) || timeout <= 0) throw new CliError(`--timeout: expected a number of seconds (got ${JSON.stringify(o.timeout)})`);
      return withDatabase(async (database) => {
        const results = await pollDueFeeds(cliCtx(database), { database, timeoutMs: timeout * 1000, allowPrivate: parseEnv().MADAD_FEEDS_ALLOW_PRIVATE });
        if (!results.length) process.stdout.write('No feed is due.\n');
        for (const r of results) {
          const line = `${describePoll(r)}\n`;
          if (r.outcome === 'failed') process.stderr.write(line);
          else process.stdout.write(line);
          for (const reason of r.rejections) process.stderr.write(`  rejected ${reason}\n`);
        }
        if (results.some((r) => r.outcome === 'failed')) process.exitCode = 1;
      });
    });
}
