import { and, asc, eq } from 'drizzle-orm';
import { actorOf, inScope, scopeCondition } from '../access/principal.ts';
import type { Role } from '../access/roles.ts';
import { randomToken, sha256 } from '../access/secrets.ts';
import { recordAudit } from '../audit/service.ts';
import { apiTokens } from '../db/schema/index.ts';
import { ForbiddenError, NotFoundError } from '../errors.ts';
import { withTransaction, type Ctx } from '../context.ts';

/** Tokens start with `mdd_` so secret scanners and people can recognise them. */
export const TOKEN_PREFIX = 'mdd_';

export interface NewToken {
  name: string;
  role: Role;
  agency: string;
  jurisdiction: string;
  expiresAt?: Date;
}

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
};

/** Creates a token and returns its secret once; only its sha256 is kept. */
export async function createToken(ctx: Ctx, input: NewToken) {
  if (!inScope(ctx.actor, input.jurisdiction)) {
    throw new ForbiddenError(`You can create tokens only within your jurisdiction ${ctx.actor.jurisdiction}.`);
  }
  const secret = TOKEN_PREFIX + randomToken();
  return withTransaction(ctx, async (t) => {
    const [created] = await t.tx
      .insert(apiTokens)
      .values({
        ...input,
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
      summary: { after: { name: created!.name, role: created!.role, jurisdiction: created!.jurisdiction, expiresAt: created!.expiresAt?.toISOString() ?? null } },
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
