import { bodyLimit } from 'hono/body-limit';
import { requestId } from 'hono/request-id';
import type { Logger } from 'pino';
import type { Database } from './db/client.ts';
import type { Env } from './env.ts';
import { PayloadTooLargeError } from './errors.ts';
import { docsRoutes } from './http/docs.ts';
import { createMetrics, limitRefusals } from './http/metrics.ts';
import { notFound, onError } from './http/problem.ts';
import { newRouter } from './http/router.ts';
import { securityHeaders } from './http/security.ts';
import { systemRoutes } from './routes/system.ts';
import { authenticate } from './http/guards.ts';
import { alertRoutes } from './alerts/routes.ts';
import { registerParseLimitMetrics } from './alerts/parse/index.ts';
import { ruleRoutes } from './rules/routes.ts';
import { areaRoutes } from './areas/routes.ts';
import { exposureRoutes } from './exposure/routes.ts';
import { householdRoutes } from './households/routes.ts';
import { eventRoutes } from './events/routes.ts';
import { feedRoutes } from './feeds/routes.ts';
import { auditRoutes } from './audit/routes.ts';
import { outboxMetrics } from './outbox/metrics.ts';
import { outboxRoutes } from './outbox/routes.ts';
import { RegistryCache } from './registry/registry-index.ts';
import { authRoutes } from './auth/routes.ts';
import type { RouteDeps } from './http/deps.ts';
import { tokenRoutes } from './tokens/routes.ts';
import { userRoutes } from './users/routes.ts';
import { webRoutes } from './http/web.ts';
import { batchRoutes } from './batches/routes.ts';
import { paymentRoutes } from './payments/routes.ts';
import { inboxRoutes } from './inbox/routes.ts';
import { planRoutes } from './plan/routes.ts';
import { exchangeRoutes } from './exchange/routes.ts';
import { batchDeps, type BatchDeps } from './batches/deps.ts';

/** The one upload not held to MADAD_BODY_LIMIT: it has a bound of its own. */
const RECONCILIATION_PATH = /^\/api\/payment-files\/[^/]+\/reconciliation$/;

export interface AppDeps {
  database: Database;
  env: Pick<Env, 'MADAD_BODY_LIMIT'> & Partial<Pick<Env, 'MADAD_MAX_POLYGON_VERTICES' | 'MADAD_SPATIAL_BUDGET_MS' | 'MADAD_MIN_CELL' | 'MADAD_METRICS_TOKEN' | 'MADAD_DEDUP_KEY' | 'MADAD_APPROVAL_HOURS'>>;
  log: Logger;
  /** The clock requests see; tests move it. */
  clock?: () => Date;
  registry?: RegistryCache;
  /** The batch verbs' registry, dedup key and approval policy (server/batches/deps.ts); made from `env` when absent. */
  batches?: BatchDeps;
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * The HTTP app. It reacts to nothing itself: changes that others react to go through the outbox, which the
 * server's drainer (server/serve.ts) or `madad outbox drain` delivers.
 */
export function createApp({ database, env, log, clock = () => new Date(), registry, batches }: AppDeps) {
  const app = newRouter();
  const deps: RouteDeps = { database, clock, log, registry: registry ?? new RegistryCache(database) };
  const metrics = createMetrics();
  const refusals = limitRefusals(metrics.registry);
  deps.registry.configure({
    ...(env.MADAD_MAX_POLYGON_VERTICES ? { maxPolygonVertices: env.MADAD_MAX_POLYGON_VERTICES } : {}),
    ...(env.MADAD_SPATIAL_BUDGET_MS ? { budgetMs: env.MADAD_SPATIAL_BUDGET_MS } : {}),
    ...(env.MADAD_MIN_CELL ? { minCell: env.MADAD_MIN_CELL } : {}),
    refused: (limit) => refusals.inc({ limit }),
  });
  outboxMetrics(metrics.registry, database.db, clock);
  registerParseLimitMetrics(metrics.registry);

  app.use(
    requestId({
      headerName: 'x-request-id',
      // A caller's id is kept when it is harmless, so one id follows a request across systems.
      generator: (c) => {
        const given = c.req.header('x-request-id');
        return given && REQUEST_ID.test(given) ? given : crypto.randomUUID();
      },
    }),
  );
  app.use(async (c, next) => {
    const reqLog = log.child({ reqId: c.get('requestId') });
    c.set('log', reqLog);
    const start = performance.now();
    await next();
    reqLog.info(
      { method: c.req.method, path: c.req.path, status: c.res.status, ms: Math.round(performance.now() - start) },
      'request',
    );
  });
  app.use(securityHeaders());
  app.use(metrics.middleware);
  const limit = bodyLimit({
    maxSize: env.MADAD_BODY_LIMIT,
    onError: () => {
      throw new PayloadTooLargeError(`The request body is larger than the limit of ${env.MADAD_BODY_LIMIT} bytes.`);
    },
  });
  // A bank's answer is read as it arrives and bounded by its payment file's size (server/payments/reconcile.ts).
  app.use((c, next) => (c.req.method === 'POST' && RECONCILIATION_PATH.test(c.req.path) ? next() : limit(c, next)));

  app.route('/', systemRoutes(database, metrics.registry, { metricsToken: env.MADAD_METRICS_TOKEN }));
  app.route('/', docsRoutes());

  app.use('/api/*', authenticate(database.db, clock));
  app.route('/', authRoutes(deps));
  app.route('/', userRoutes(deps));
  app.route('/', tokenRoutes(deps));
  app.route('/', auditRoutes(deps));
  app.route('/', alertRoutes(deps));
  app.route('/', ruleRoutes(deps));
  app.route('/', batchRoutes(deps, batches ?? batchDeps(database, deps.registry, env)));
  app.route('/', paymentRoutes(deps));
  app.route('/', exchangeRoutes(deps, batches ?? batchDeps(database, deps.registry, env)));
  app.route('/', inboxRoutes(deps, { stepHours: env.MADAD_APPROVAL_HOURS ?? 24 }));
  app.route('/', planRoutes(deps));
  app.route('/', areaRoutes(deps));
  app.route('/', exposureRoutes(deps));
  app.route('/', householdRoutes(deps));
  app.route('/', eventRoutes(deps));
  app.route('/', feedRoutes(deps));
  app.route('/', outboxRoutes(deps));

  app.doc31('/openapi.json', {
    openapi: '3.1.0',
    info: {
      title: 'Madad API',
      version: '0.1.0',
      description: 'Disaster alerts, pre-agreed triggers and emergency cash top-ups for social protection in Pakistan.',
    },
  });

  // The web app's pages, assets and fonts: registered last, and never answering under /api.
  app.route('/', webRoutes());

  app.onError(onError);
  app.notFound(notFound);
  return app;
}

export type App = ReturnType<typeof createApp>;
