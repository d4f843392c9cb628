import type { Context } from 'hono';
import type { Logger } from 'pino';
import { requirePrincipal } from '../access/principal.ts';
import type { Ctx } from '../context.ts';
import type { Database } from '../db/client.ts';
import type { AppEnv } from './context.ts';

/** What route factories are given: the database and the clock (tests move the clock). */
export interface RouteDeps {
  database: Database;
  clock: () => Date;
  log: Logger;
}

/** The service context of a request whose guard has already required a principal. */
export function ctxOf(c: Context<AppEnv>, deps: RouteDeps): Ctx {
  return { db: deps.database.db, actor: requirePrincipal(c.get('principal')), now: deps.clock(), requestId: c.get('requestId') };
}
