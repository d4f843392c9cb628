import { eq, lte } from 'drizzle-orm';
import { userPrincipal } from '../access/credentials.ts';
import type { Principal } from '../access/principal.ts';
import { DUMMY_PASSWORD_HASH, randomToken, sha256, verifyPassword } from '../access/secrets.ts';
import { recordAudit, recordAuditAlone } from '../audit/service.ts';
import { withTransaction, type Ctx } from '../context.ts';
import type { Db } from '../db/client.ts';
import { sessions, users } from '../db/schema/index.ts';
import { TooManyRequestsError, UnauthorizedError } from '../errors.ts';

export const SESSION_HOURS = 12;
/** After this many consecutive failures the account is locked for LOCKOUT_MINUTES. */
export const LOCKOUT_AFTER = 5;
export const LOCKOUT_MINUTES = 15;

/** Backoff before the lockout: 2 s after the 3rd failure, 4 s after the 4th; then 15 minutes. */
export function lockDuration(failures: number): number {
  if (failures >= LOCKOUT_AFTER) return LOCKOUT_MINUTES * 60;
  if (failures >= 3) return 2 ** (failures - 2);
  return 0;
}

export interface LoginResult {
  principal: Principal;
  sessionToken: string;
  csrfToken: string;
  expiresAt: Date;
}

const invalid = () => new UnauthorizedError('Wrong username or password.');

/**
 * Signs a user in. `ctx.actor` is whoever asks (no one is signed in yet); the trail names the attempt by
 * the username given, which is all that is known of the caller until the password checks out.
 */
export async function login(ctx: Ctx, input: { username: string; password: string }): Promise<LoginResult> {
  const { db, now } = ctx;
  const [user] = await db.select().from(users).where(eq(users.username, input.username));
  // Verify even for an unknown user, so response time does not tell which usernames exist.
  const ok = await verifyPassword(input.password, user?.passwordHash ?? DUMMY_PASSWORD_HASH);
  const attempt: Ctx = { ...ctx, actor: user ? userPrincipal(user) : { kind: 'user', id: 'unknown', name: input.username, roles: [], agency: '', jurisdiction: 'PK' } };
  const audit = (action: string, summary: Record<string, unknown>) =>
    recordAuditAlone(attempt, {
      action,
      subject: user ? `user:${user.id}` : `username:${input.username}`,
      jurisdiction: user?.jurisdiction ?? 'PK',
      summary,
    });

  if (user?.lockedUntil && user.lockedUntil > now) {
    const wait = Math.ceil((user.lockedUntil.getTime() - now.getTime()) / 1000);
    await audit('auth.login_refused', { reason: 'locked', lockedUntil: user.lockedUntil.toISOString() });
    throw new TooManyRequestsError(`Too many failed sign-ins for this account. Try again in ${wait} seconds.`, wait);
  }
  if (!user || !ok || user.disabledAt) {
    if (user && !user.disabledAt) {
      const failures = user.failedLogins + 1;
      const lock = lockDuration(failures);
      await db
        .update(users)
        .set({ failedLogins: failures, lockedUntil: lock > 0 ? new Date(now.getTime() + lock * 1000) : null })
        .where(eq(users.id, user.id));
      await audit('auth.login_failed', { failures, lockedForSeconds: lock });
    } else {
      await audit('auth.login_failed', { reason: user ? 'disabled' : 'unknown user' });
    }
    throw invalid();
  }

  const sessionToken = randomToken();
  const csrfToken = randomToken();
  const expiresAt = new Date(now.getTime() + SESSION_HOURS * 3600_000);
  await withTransaction(attempt, async (t) => {
    await t.tx.update(users).set({ failedLogins: 0, lockedUntil: null }).where(eq(users.id, user.id));
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

/** Removes expired sessions; run by a scheduled job. */
export async function purgeExpiredSessions(db: Db, now: Date): Promise<void> {
  await db.delete(sessions).where(lte(sessions.expiresAt, now));
}
