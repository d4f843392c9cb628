import type { Context } from 'hono';
import type { Logger } from 'pino';
import { requirePrincipal, type Actor } from '../access/principal.ts';
import type { Ctx } from '../context.ts';
import type { Database } from '../db/client.ts';
import type { RegistryCache } from '../registry/registry-index.ts';
import type { AppEnv } from './context.ts';

/** What route factories are given (tests move the clock). */
export interface RouteDeps {
  database: Database;
  clock: () => Date;
  log: Logger;
  /** The registry's columns in memory, for area and eligibility questions. */
  registry: RegistryCache;
}

/** No one is signed in yet (a sign-in attempt): the verb names the attempt itself. */
const ANONYMOUS: Actor = { kind: 'user', id: 'anonymous', name: 'anonymous', roles: [], agency: '', jurisdiction: 'PK' };

/** The service context of a public route (sign-in), before anyone is known. */
export function anonymousCtx(c: Context<AppEnv>, deps: RouteDeps): Ctx {
  return { db: deps.database.db, actor: ANONYMOUS, now: deps.clock(), requestId: c.get('requestId') };
}

/** The service context of a request whose guard has already required a principal. */
export function ctxOf(c: Context<AppEnv>, deps: RouteDeps): Ctx {
  return { db: deps.database.db, actor: requirePrincipal(c.get('principal')), now: deps.clock(), requestId: c.get('requestId') };
}
