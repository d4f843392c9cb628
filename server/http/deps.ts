import type { Context } from 'hono';
import type { Logger } from 'pino';
import { requirePrincipal } from '../access/principal.ts';
import type { Ctx } from '../context.ts';
import type { Bus } from '../bus.ts';
import type { Database } from '../db/client.ts';
import type { RegistryCache } from '../registry/registry-index.ts';
import type { AppEnv } from './context.ts';

/** What route factories are given (tests move the clock). */
export interface RouteDeps {
  database: Database;
  clock: () => Date;
  log: Logger;
  /** Stores announce committed changes here; trigger evaluation listens. */
  bus: Bus;
  /** The registry's columns in memory, for area and eligibility questions. */
  registry: RegistryCache;
}

/** The service context of a request whose guard has already required a principal. */
export function ctxOf(c: Context<AppEnv>, deps: RouteDeps): Ctx {
  return { db: deps.database.db, actor: requirePrincipal(c.get('principal')), now: deps.clock(), requestId: c.get('requestId') };
}
