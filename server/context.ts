import { systemActor, type Actor } from './access/principal.ts';
import type { Db, Tx } from './db/client.ts';

/**
 * What every service verb is given: `verb(ctx, input)`. The same verbs serve HTTP, the CLI, jobs and hooks;
 * only how the context is made differs (server/http/deps.ts `ctxOf`, server/cli/context.ts `cliCtx`,
 * `systemCtx` below for jobs and hooks).
 */
export interface Ctx {
  /** The database handle, or the caller's transaction when `tx` is set. */
  db: Db;
  /** Set when the caller already runs in a transaction: verbs join it instead of opening their own. */
  tx?: Tx;
  actor: Actor;
  /** The time of the action; nothing below a verb reads the clock. */
  now: Date;
  /** The request id over HTTP (or a generated one for the CLI), carried into the audit trail. */
  requestId?: string;
}

/** A context inside a transaction: what audit writes and outbox writes require. */
export interface TxCtx extends Ctx {
  db: Tx;
  tx: Tx;
}

/**
 * Runs `fn` in a transaction: the caller's when `ctx` already carries one (so a verb called from another
 * verb commits or rolls back with it), else a new one.
 */
export function withTransaction<T>(ctx: Ctx, fn: (ctx: TxCtx) => Promise<T>): Promise<T> {
  if (ctx.tx) return fn(ctx as TxCtx);
  return ctx.db.transaction((tx) => fn({ ...ctx, db: tx, tx }));
}

/** The context of the system acting on its own (a job, a hook, startup). */
export function systemCtx(db: Db, name: string, now: Date, requestId?: string): Ctx {
  return { db, actor: systemActor(name), now, ...(requestId ? { requestId } : {}) };
}
