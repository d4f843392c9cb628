import type { Command } from 'commander';
import { openDatabase } from '../db/client.ts';
import { parseEnv } from '../env.ts';
import { createLogger } from '../log.ts';
import { startServer } from '../serve.ts';
import { demoBanner } from '../demo/prepare.ts';
import { ensureWebBuildApart } from '../http/web-build.ts';
import { shutdownDeadlineMs, startWatchdog } from './shutdown-bound.ts';

export function registerSystemCommands(program: Command): void {
  program
    .command('serve')
    .description('start the API and web app (HOST, PORT, DATABASE_URL, MADAD_DATA_DIR; see README)')
    .action(async () => {
      const env = parseEnv();
      const log = createLogger(env.LOG_LEVEL);
      // The web app builds (when its sources changed) in a child process while the database opens and the
      // demo is prepared: two cores, one start. Until it is done, a page asked for gets the previous build
      // or a 404 (the files are read per request); the console says the server runs only once both are.
      const started = performance.now();
      const building = ensureWebBuildApart().then((built) => built && log.info({ seconds: Math.round((performance.now() - started) / 100) / 10 }, 'web app built'));
      // Both are awaited, so a failed start leaves no child writing into web/.
      const [web, server] = await Promise.allSettled([building, startServer(env, log)]);
      if (server.status === 'rejected') throw server.reason;
      const running = server.value;
      if (web.status === 'rejected') {
        await running.shutdown('the web app did not build');
        throw web.reason;
      }
      if (running.demoPrepared) process.stderr.write(demoBanner(running.url));
      process.stderr.write(`Madad is running at ${running.url}\n`);
      await new Promise<void>((resolve) => {
        const stop = (signal: NodeJS.Signals) => {
          // The shutdown is bounded: past the deadline the process exits, saying so, whatever still runs (a
          // hung job or query, a handle left open). Neither timer keeps a finished process alive.
          const deadline = shutdownDeadlineMs(env.MADAD_SHUTDOWN_TIMEOUT_MS);
          setTimeout(() => {
            log.error({ signal, deadlineMs: deadline }, `still running ${deadline} ms after ${signal}; exiting`);
            process.exit(1);
          }, deadline).unref();
          // A blocked event loop holds that timer too; a thread of its own ends the process a second later.
          startWatchdog(deadline + 1000, `event loop blocked ${deadline + 1000} ms after ${signal}; killing the process`);
          void running.shutdown(signal).then(resolve);
        };
        process.once('SIGTERM', stop);
        process.once('SIGINT', stop);
      });
    });

  program
    .command('migrate')
    .description('apply the database migrations and exit')
    .action(async () => {
      const env = parseEnv();
      const database = await openDatabase({ url: env.DATABASE_URL, dataDir: env.MADAD_DATA_DIR });
      try {
        await database.migrate();
        process.stdout.write(`Migrations applied (${database.driver}, ${database.location}).\n`);
      } finally {
        await database.close();
      }
    });
}
