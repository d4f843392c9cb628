import { and, asc, eq, isNull, ne, sql } from 'drizzle-orm';
import { inScope, scopeCondition } from '../access/principal.ts';
import type { Role } from '../access/roles.ts';
import { distinctSenders } from '../access/senders.ts';
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
  /** The alert senders the user may publish as; none: they push no alert. */
  senders?: readonly string[];
  /** Where the user is told what waits for them (SMTP_URL set). */
  email?: string | undefined;
}

const publicColumns = {
  id: users.id,
  username: users.username,
  displayName: users.displayName,
  roles: users.roles,
  agency: users.agency,
  jurisdiction: users.jurisdiction,
  senders: users.senders,
  email: users.email,
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
      .values({ ...input, email: input.email ?? null, senders: distinctSenders(input.senders), passwordHash, createdAt: ctx.now })
      .onConflictDoNothing({ target: users.username })
      .returning(publicColumns);
    if (!created) throw new ConflictError(`A user named ${input.username} already exists.`);
    await recordAudit(t.tx, t, {
      action: 'user.create',
      subject: `user:${created.id}`,
      jurisdiction: created.jurisdiction,
      summary: { after: { username: created.username, roles: created.roles, agency: created.agency, jurisdiction: created.jurisdiction, senders: created.senders, email: created.email } },
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

/**
 * Disables a user; their sessions stop working at once. Refused (409) for one's own account, since the
 * session doing it ends with it and a slip would lock its admin out (another admin or the CLI does it on
 * purpose), and for the last enabled federal admin (an admin user of jurisdiction PK): without one, no
 * person can sign in to create federal users, tokens and feeds, and recovery would need the database.
 * Provincial admins are not counted: a federal admin can always act for a province.
 */
export async function disableUser(ctx: Ctx, id: string) {
  return withTransaction(ctx, async (t) => {
    // One disable at a time, so two admins disabling each other at once cannot both pass the check below.
    await t.tx.execute(sql`select pg_advisory_xact_lock(hashtext('users:disable'))`);
    const before = await getUser(t, id);
    if (before.disabledAt) return before;
    if (ctx.actor.kind === 'user' && ctx.actor.id === id) throw new ConflictError('You cannot disable your own account: ask another admin to.');
    if (before.roles.includes('admin') && before.jurisdiction === 'PK') {
      const [another] = await t.tx
        .select({ id: users.id })
        .from(users)
        .where(and(ne(users.id, id), isNull(users.disabledAt), eq(users.jurisdiction, 'PK'), sql`'admin' = any(${users.roles})`))
        .limit(1);
      if (!another) throw new ConflictError(`${before.username} is the last enabled federal admin: create another admin of jurisdiction PK first.`);
    }
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
