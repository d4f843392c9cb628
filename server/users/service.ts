import { and, asc, eq } from 'drizzle-orm';
import { inScope, scopeCondition } from '../access/principal.ts';
import type { Role } from '../access/roles.ts';
import { hashPassword } from '../access/secrets.ts';
import { recordAudit } from '../audit/service.ts';
import { withTransaction, type Ctx } from '../context.ts';
import { users } from '../db/schema/index.ts';
import { ConflictError, ForbiddenError, NotFoundError } from '../errors.ts';

export interface NewUser {
  username: string;
  displayName: string;
  password: string;
  roles: Role[];
  agency: string;
  jurisdiction: string;
}

const publicColumns = {
  id: users.id,
  username: users.username,
  displayName: users.displayName,
  roles: users.roles,
  agency: users.agency,
  jurisdiction: users.jurisdiction,
  disabledAt: users.disabledAt,
  createdAt: users.createdAt,
};

export type UserView = Awaited<ReturnType<typeof listUsers>>[number];

export async function createUser(ctx: Ctx, input: NewUser) {
  if (!inScope(ctx.actor, input.jurisdiction)) {
    throw new ForbiddenError(`You can create users only within your jurisdiction ${ctx.actor.jurisdiction}.`);
  }
  const passwordHash = await hashPassword(input.password);
  return withTransaction(ctx, async (t) => {
    const [created] = await t.tx
      .insert(users)
      .values({ ...input, passwordHash, createdAt: ctx.now })
      .onConflictDoNothing({ target: users.username })
      .returning(publicColumns);
    if (!created) throw new ConflictError(`A user named ${input.username} already exists.`);
    await recordAudit(t.tx, t, {
      action: 'user.create',
      subject: `user:${created.id}`,
      jurisdiction: created.jurisdiction,
      summary: { after: { username: created.username, roles: created.roles, agency: created.agency, jurisdiction: created.jurisdiction } },
    });
    return created;
  });
}

export function listUsers(ctx: Ctx) {
  return ctx.db.select(publicColumns).from(users).where(scopeCondition(users.jurisdiction, ctx.actor)).orderBy(asc(users.username));
}

export async function getUser(ctx: Ctx, id: string) {
  const [user] = await ctx.db
    .select(publicColumns)
    .from(users)
    .where(and(eq(users.id, id), scopeCondition(users.jurisdiction, ctx.actor)));
  if (!user) throw new NotFoundError(`No user ${id}.`);
  return user;
}

export async function findUserByUsername(ctx: Ctx, username: string) {
  const [user] = await ctx.db
    .select(publicColumns)
    .from(users)
    .where(and(eq(users.username, username), scopeCondition(users.jurisdiction, ctx.actor)));
  if (!user) throw new NotFoundError(`No user named ${username}.`);
  return user;
}

export async function disableUser(ctx: Ctx, id: string) {
  return withTransaction(ctx, async (t) => {
    const before = await getUser(t, id);
    if (before.disabledAt) return before;
    const [after] = await t.tx.update(users).set({ disabledAt: ctx.now }).where(eq(users.id, id)).returning(publicColumns);
    await recordAudit(t.tx, t, {
      action: 'user.disable',
      subject: `user:${id}`,
      jurisdiction: before.jurisdiction,
      summary: { before: { disabledAt: null }, after: { disabledAt: ctx.now.toISOString() } },
    });
    return after!;
  });
}
