import { and, asc, eq } from 'drizzle-orm';
import { actorOf, inScope, scopeCondition } from '../access/principal.ts';
import type { Role } from '../access/roles.ts';
import { distinctSenders } from '../access/senders.ts';
import { randomToken, sha256 } from '../access/secrets.ts';
import { recordAudit } from '../audit/service.ts';
import { apiTokens } from '../db/schema/index.ts';
import { ForbiddenError, NotFoundError, ValidationError } from '../errors.ts';
import { withTransaction, type Ctx } from '../context.ts';

/** Tokens start with `mdd_` so secret scanners and people can recognise them. */
export const TOKEN_PREFIX = 'mdd_';

export interface NewToken {
  name: string;
  role: Role;
  agency: string;
  jurisdiction: string;
  /** When it stops working: at most MAX_TOKEN_DAYS ahead; DEFAULT_TOKEN_DAYS ahead when not given. */
  expiresAt?: Date;
  /** The alert senders it may publish as (checked by server/access/senders.ts `sendersSchema`); none: it pushes nothing. */
  senders?: readonly string[];
}

/**
 * A token lives 90 days unless told otherwise, and at most a year. A token that never expires outlives the
 * feed or the person it was made for; a year covers a monsoon and a cyclone season with room, and renewing
 * one is a minute's work (`madad tokens create`). 90 days by default follows the usual rotation advice, and
 * a feed whose token ran out is refused loudly (401 "expired"), not silently.
 */
export const MAX_TOKEN_DAYS = 365;
export const DEFAULT_TOKEN_DAYS = 90;
const DAY_MS = 86_400_000;

const publicColumns = {
  id: apiTokens.id,
  name: apiTokens.name,
  prefix: apiTokens.prefix,
  role: apiTokens.role,
  agency: apiTokens.agency,
  jurisdiction: apiTokens.jurisdiction,
  createdBy: apiTokens.createdBy,
  createdAt: apiTokens.createdAt,
  expiresAt: apiTokens.expiresAt,
  revokedAt: apiTokens.revokedAt,
  lastUsedAt: apiTokens.lastUsedAt,
  senders: apiTokens.senders,
};

/** The expiry a new token gets at `now`: the one asked for, within (now, now + MAX_TOKEN_DAYS], or the default. */
export function tokenExpiry(now: Date, asked: Date | undefined): Date {
  if (!asked) return new Date(now.getTime() + DEFAULT_TOKEN_DAYS * DAY_MS);
  if (asked <= now) throw new ValidationError(`The expiry ${asked.toISOString()} has passed: give a time after ${now.toISOString()}.`, [{ field: 'expiresAt', message: 'expected a future time' }]);
  if (asked.getTime() > now.getTime() + MAX_TOKEN_DAYS * DAY_MS) {
    throw new ValidationError(`A token lives at most ${MAX_TOKEN_DAYS} days: give an expiry before ${new Date(now.getTime() + MAX_TOKEN_DAYS * DAY_MS).toISOString()}.`, [
      { field: 'expiresAt', message: `expected at most ${MAX_TOKEN_DAYS} days ahead` },
    ]);
  }
  return asked;
}

/** Creates a token and returns its secret once; only its sha256 is kept. */
export async function createToken(ctx: Ctx, input: NewToken) {
  if (!inScope(ctx.actor, input.jurisdiction)) {
    throw new ForbiddenError(`You can create tokens only within your jurisdiction ${ctx.actor.jurisdiction}.`);
  }
  const expiresAt = tokenExpiry(ctx.now, input.expiresAt);
  const secret = TOKEN_PREFIX + randomToken();
  return withTransaction(ctx, async (t) => {
    const [created] = await t.tx
      .insert(apiTokens)
      .values({
        ...input,
        expiresAt,
        senders: distinctSenders(input.senders),
        prefix: secret.slice(0, 10),
        tokenHash: sha256(secret),
        createdBy: actorOf(ctx.actor),
        createdAt: ctx.now,
      })
      .returning(publicColumns);
    await recordAudit(t.tx, t, {
      action: 'token.create',
      subject: `token:${created!.id}`,
      jurisdiction: created!.jurisdiction,
      summary: {
        after: { name: created!.name, role: created!.role, jurisdiction: created!.jurisdiction, senders: created!.senders, expiresAt: created!.expiresAt?.toISOString() ?? null },
      },
    });
    return { ...created!, token: secret };
  });
}

export function listTokens(ctx: Ctx) {
  return ctx.db.select(publicColumns).from(apiTokens).where(scopeCondition(apiTokens.jurisdiction, ctx.actor)).orderBy(asc(apiTokens.createdAt));
}

export async function revokeToken(ctx: Ctx, id: string) {
  return withTransaction(ctx, async (t) => {
    const tx = t.tx;
    const [before] = await tx
      .select(publicColumns)
      .from(apiTokens)
      .where(and(eq(apiTokens.id, id), scopeCondition(apiTokens.jurisdiction, ctx.actor)));
    if (!before) throw new NotFoundError(`No API token ${id}.`);
    if (before.revokedAt) return before;
    const [after] = await tx.update(apiTokens).set({ revokedAt: ctx.now }).where(eq(apiTokens.id, id)).returning(publicColumns);
    await recordAudit(tx, t, {
      action: 'token.revoke',
      subject: `token:${id}`,
      jurisdiction: before.jurisdiction,
      summary: { before: { revokedAt: null }, after: { revokedAt: ctx.now.toISOString() } },
    });
    return after!;
  });
}
