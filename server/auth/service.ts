import { and, eq, gt, isNull, lte, or } from 'drizzle-orm';
import type { Principal } from '../access/principal.ts';
import type { Role } from '../access/roles.ts';
import { DUMMY_PASSWORD_HASH, randomToken, sha256, verifyPassword } from '../access/secrets.ts';
import { recordAudit, recordAuditAlone } from '../audit/service.ts';
import type { Db } from '../db/client.ts';
import { apiTokens, sessions, users } from '../db/schema/index.ts';
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

export async function login(db: Db, input: { username: string; password: string }, now: Date, requestId: string): Promise<LoginResult> {
  const [user] = await db.select().from(users).where(eq(users.username, input.username));
  // Verify even for an unknown user, so response time does not tell which usernames exist.
  const ok = await verifyPassword(input.password, user?.passwordHash ?? DUMMY_PASSWORD_HASH);
  const audit = (action: string, summary: Record<string, unknown>) =>
    recordAuditAlone(db, {
      actor: `user:${input.username}`,
      action,
      subject: user ? `user:${user.id}` : `username:${input.username}`,
      jurisdiction: user?.jurisdiction ?? 'PK',
      summary,
      requestId,
      at: now,
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
  await db.transaction(async (tx) => {
    await tx.update(users).set({ failedLogins: 0, lockedUntil: null }).where(eq(users.id, user.id));
    await tx.insert(sessions).values({ tokenHash: sha256(sessionToken), userId: user.id, csrfToken, createdAt: now, expiresAt });
    await recordAudit(tx, {
      actor: `user:${user.username}`,
      action: 'auth.login',
      subject: `user:${user.id}`,
      jurisdiction: user.jurisdiction,
      summary: { expiresAt: expiresAt.toISOString() },
      requestId,
      at: now,
    });
  });
  return { principal: userPrincipal(user), sessionToken, csrfToken, expiresAt };
}

function userPrincipal(user: typeof users.$inferSelect): Principal {
  return {
    kind: 'user',
    id: user.id,
    name: user.username,
    roles: user.roles as Role[],
    agency: user.agency,
    jurisdiction: user.jurisdiction,
  };
}

export async function principalForSession(db: Db, sessionToken: string, now: Date): Promise<{ principal: Principal; csrfToken: string } | undefined> {
  const [row] = await db
    .select({ user: users, csrfToken: sessions.csrfToken })
    .from(sessions)
    .innerJoin(users, eq(users.id, sessions.userId))
    .where(and(eq(sessions.tokenHash, sha256(sessionToken)), gt(sessions.expiresAt, now), isNull(users.disabledAt)));
  return row && { principal: userPrincipal(row.user), csrfToken: row.csrfToken };
}

export async function logout(db: Db, sessionToken: string, principal: Principal, now: Date, requestId: string): Promise<void> {
  await db.transaction(async (tx) => {
    await tx.delete(sessions).where(eq(sessions.tokenHash, sha256(sessionToken)));
    await recordAudit(tx, {
      actor: `user:${principal.name}`,
      action: 'auth.logout',
      subject: `user:${principal.id}`,
      jurisdiction: principal.jurisdiction,
      summary: {},
      requestId,
      at: now,
    });
  });
}

export async function principalForToken(db: Db, token: string, now: Date): Promise<Principal | undefined> {
  const [row] = await db
    .update(apiTokens)
    .set({ lastUsedAt: now })
    .where(
      and(
        eq(apiTokens.tokenHash, sha256(token)),
        isNull(apiTokens.revokedAt),
        or(isNull(apiTokens.expiresAt), gt(apiTokens.expiresAt, now)),
      ),
    )
    .returning();
  return (
    row && {
      kind: 'token',
      id: row.id,
      name: row.name,
      roles: [row.role as Role],
      agency: row.agency,
      jurisdiction: row.jurisdiction,
    }
  );
}

/** Removes expired sessions; run by a scheduled job. */
export async function purgeExpiredSessions(db: Db, now: Date): Promise<void> {
  await db.delete(sessions).where(lte(sessions.expiresAt, now));
}
