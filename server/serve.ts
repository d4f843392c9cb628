import { serve as serveNode, type ServerType } from '@hono/node-server';
import type { Logger } from 'pino';
import { createApp } from './app.ts';
import { loadRules, SHIPPED_RULES_DIR } from './rules/loader.ts';
import { openDatabase, type Database } from './db/client.ts';
import type { Env } from './env.ts';
import { ensureInstallId } from './instance.ts';
import { ensureDefaultAreas } from './areas/service.ts';
import { systemCtx } from './context.ts';
import { OutboxDrainer } from './outbox/drainer.ts';
import { reactions } from './jobs/reactions.ts';
import { RegistryCache } from './registry/registry-index.ts';
import { batchDeps } from './batches/deps.ts';
import { standardJobs } from './jobs/standard.ts';
import { Scheduler } from './jobs/scheduler.ts';
import { prepareDemo } from './demo/prepare.ts';

export interface Running {
  url: string;
  /** Whether this start prepared the demo (first start on an empty data folder with MADAD_DEMO=1). */
  demoPrepared: boolean;
  database: Database;
  /** Stops accepting, lets in-flight requests finish, stops jobs, closes the database. */
  shutdown(reason: string): Promise<void>;
}

export async function startServer(env: Env, log: Logger): Promise<Running> {
  const database = await openDatabase({ url: env.DATABASE_URL, dataDir: env.MADAD_DATA_DIR });
  await database.migrate();
  log.info({ rules: (await loadRules(systemCtx(database.db, 'startup', new Date()), SHIPPED_RULES_DIR)).length }, 'rules loaded');
  const { installId, created } = await ensureInstallId(database.db);
  log.info({ driver: database.driver, location: database.location, installId, created }, 'database ready');
  const defaults = await ensureDefaultAreas(systemCtx(database.db, 'default-boundaries', new Date()));
  if (defaults) log.info({ provinces: defaults.created }, 'default boundaries imported (Natural Earth provinces)');

  // The index's snapshot lives in the data folder on both drivers (on PostgreSQL it is only this server's cache).
  const registry = new RegistryCache(database, {
    snapshotDir: env.MADAD_DATA_DIR,
    onSnapshot: (e) =>
      e.kind === 'failed'
        ? log.warn({ err: e.error, version: e.version }, 'registry index snapshot not written; the next start loads from the database')
        : log.info({ households: e.households, ms: Math.round(e.ms), version: e.version }, e.kind === 'read' ? 'registry index read from its snapshot' : 'registry index snapshot written'),
  });
  const batches = batchDeps(database, registry, env);
  // Made (embedded) or checked now, so a missing key on PostgreSQL is said at start, not at the first build.
  try {
    log.info({ origin: batches.dedupKey().origin }, 'dedup key ready');
  } catch (err) {
    log.warn({ err: (err as Error).message }, 'batches will not be built until the dedup key is set');
  }
  const app = createApp({ database, env, log, registry, batches });
  const scheduler = new Scheduler(database, log);
  const drainer = new OutboxDrainer(database, reactions(batches), log);
  // The demo walks the whole path, so it delivers its own reactions (evaluations, builds, instructions) as it goes.
  const demoPrepared = env.MADAD_DEMO ? await prepareDemo(database, log, new Date(), () => drainer.poll()) : false;
  // Reactions are part of serving: every process hears the commits' notifications and drains (the rows are
  // guarded, so replicas never deliver one twice). Only the fallback poll is a scheduled job.
  await drainer.listen();
  const mail = { smtpUrl: env.SMTP_URL, from: env.MADAD_MAIL_FROM, baseUrl: env.MADAD_PUBLIC_URL, approvalHours: env.MADAD_APPROVAL_HOURS };
  if (env.MADAD_JOBS) for (const job of standardJobs(database, drainer, { allowPrivate: env.MADAD_FEEDS_ALLOW_PRIVATE }, mail)) scheduler.add(job);
  // What was written while no server ran (the CLI on a stopped server, the demo just now) is delivered
  // before the first request.
  await drainer.poll();
  // Load the registry index now rather than on the first map or exposure request (seconds per million households).
  const warming = performance.now();
  const warm = registry.get().then(
    (index) => log.info({ households: index.count, ms: Math.round(performance.now() - warming) }, 'registry index loaded'),
    (err: unknown) => log.error({ err }, 'registry index failed to load'),
  );

  const server = await listen(app.fetch, env.HOST, env.PORT);
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : env.PORT;
  const url = `http://${env.HOST.includes(':') ? `[${env.HOST}]` : env.HOST}:${port}`;
  log.info({ url }, 'listening');

  let stopping: Promise<void> | undefined;
  const shutdown = (reason: string) =>
    (stopping ??= (async () => {
      log.info({ reason }, 'shutting down');
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      if ('closeIdleConnections' in server) server.closeIdleConnections();
      const force = setTimeout(() => {
        log.warn('in-flight requests did not finish in time; closing their connections');
        if ('closeAllConnections' in server) server.closeAllConnections();
      }, env.MADAD_SHUTDOWN_TIMEOUT_MS);
      await closed;
      clearTimeout(force);
      await scheduler.stop();
      await drainer.stop();
      await warm;
      // The spatial workers hold no state; the snapshot being written, if any, is left as a temporary
      // file that the next write removes.
      registry.close();
      await database.close();
      log.info('stopped');
    })());

  return { url, database, demoPrepared, shutdown };
}

function listen(fetch: Parameters<typeof serveNode>[0]['fetch'], hostname: string, port: number): Promise<ServerType> {
  return new Promise((resolve, reject) => {
    const server = serveNode({ fetch, hostname, port }, () => resolve(server));
    server.once('error', reject);
  });
}
