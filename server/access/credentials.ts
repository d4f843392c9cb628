import { and, eq, gt, isNull, or } from 'drizzle-orm';
import type { Db } from '../db/client.ts';
import { apiTokens, sessions, users } from '../db/schema/index.ts';
import type { Principal } from './principal.ts';
import type { Role } from './roles.ts';
import { sha256 } from './secrets.ts';

/**
 * Who presents a credential: the user of a live session, or the holder of a valid API token. Here, beside
 * the principal it yields, so the HTTP guards need nothing of the sign-in service (no folder cycle).
 */
export function userPrincipal(user: typeof users.$inferSelect): Principal {
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

