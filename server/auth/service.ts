import { eq, lte } from 'drizzle-orm';
import { userPrincipal } from '../access/credentials.ts';
import type { Principal } from '../access/principal.ts';
import { DUMMY_PASSWORD_HASH, randomToken, sha256, verifyPassword } from '../access/secrets.ts';
import { recordAudit, recordAuditAlone } from '../audit/service.ts';
import { withTransaction, type Ctx } from '../context.ts';
import type { Db } from '../db/client.ts';
import { sessions, users } from '../db/schema/index.ts';
import { UnauthorizedError } from '../errors.ts';
import { claimSignIn, purgeLoginThrottle, releaseSignIn } from './throttle.ts';

export const SESSION_HOURS = 12;

export interface LoginResult {
  principal: Principal;
  sessionToken: string;
  csrfToken: string;
  expiresAt: Date;
}

const invalid = () => new UnauthorizedError('Wrong username or password.');

/**
 * Signs a user in. `ctx.actor` is whoever asks (no one is signed in yet); the trail names the attempt by
 * the username given, which is all that is known of the caller until the password checks out. `address` is
 * the client's address: failures are counted per username and address and per address (./throttle.ts).
 *
 * An unknown username takes the same path as a known one (the same claims, a password check against a dummy
 * hash, the same answer), so neither the status, the words nor the time tell which usernames exist.
 * Refusals past a limit are not audited: they cost the caller nothing and check no password, so auditing
 * them would let anyone grow the trail at will; the failure that started the wait is audited with it.
 */
export async function login(ctx: Ctx, input: { username: string; password: string; address: string }): Promise<LoginResult> {
  const { db, now } = ctx;
  const [user] = await db.select().from(users).where(eq(users.username, input.username));
  const claim = await claimSignIn(db, input.username, input.address, now);
  const ok = await verifyPassword(input.password, user?.passwordHash ?? DUMMY_PASSWORD_HASH);
  const attempt: Ctx = { ...ctx, actor: user ? userPrincipal(user) : { kind: 'user', id: 'unknown', name: input.username, roles: [], agency: '', jurisdiction: 'PK' } };

  if (!user || !ok || user.disabledAt) {
    await recordAuditAlone(attempt, {
      action: 'auth.login_failed',
      subject: user ? `user:${user.id}` : `username:${input.username}`,
      jurisdiction: user?.jurisdiction ?? 'PK',
      summary: {
        ...(!user ? { reason: 'unknown user' } : user.disabledAt ? { reason: 'disabled' } : {}),
        address: input.address,
        failures: claim.failures,
        lockedForSeconds: claim.waitSeconds,
      },
    });
    throw invalid();
  }

  await releaseSignIn(db, claim);
  const sessionToken = randomToken();
  const csrfToken = randomToken();
  const expiresAt = new Date(now.getTime() + SESSION_HOURS * 3600_000);
  await withTransaction(attempt, async (t) => {
    await t.tx.insert(sessions).values({ tokenHash: sha256(sessionToken), userId: user.id, csrfToken, createdAt: now, expiresAt });
    await recordAudit(t.tx, t, {
      action: 'auth.login',
      subject: `user:${user.id}`,
      jurisdiction: user.jurisdiction,
      summary: { expiresAt: expiresAt.toISOString() },
    });
  });
  return { principal: userPrincipal(user), sessionToken, csrfToken, expiresAt };
}

/** Ends the caller's session (`ctx.actor` is the signed-in user). */
export async function logout(ctx: Ctx, sessionToken: string): Promise<void> {
  await withTransaction(ctx, async (t) => {
    await t.tx.delete(sessions).where(eq(sessions.tokenHash, sha256(sessionToken)));
    await recordAudit(t.tx, t, {
      action: 'auth.logout',
      subject: `user:${ctx.actor.id}`,
      jurisdiction: ctx.actor.jurisdiction,
      summary: {},
    });
  });
}

/** Removes expired sessions, and sign-in counts whose time has passed; run by a scheduled job. */
export async function purgeExpiredSessions(db: Db, now: Date): Promise<void> {
  await db.delete(sessions).where(lte(sessions.expiresAt, now));
  await purgeLoginThrottle(db, now);
}
