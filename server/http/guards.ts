import { getConnInfo } from '@hono/node-server/conninfo';
import type { Context, MiddlewareHandler } from 'hono';
import { getCookie } from 'hono/cookie';
import { principalForSession, principalForToken } from '../access/credentials.ts';
import type { Db } from '../db/client.ts';
import { ForbiddenError, UnauthorizedError } from '../errors.ts';
import type { AppEnv } from './context.ts';
import { requireRoles } from '../access/principal.ts';
import { RateLimiter } from '../access/rate-limit.ts';
import type { Role } from '../access/roles.ts';

export const SESSION_COOKIE = 'madad_session';
export const CSRF_HEADER = 'x-csrf-token';
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export function clientAddress(c: Context): string {
  try {
    return getConnInfo(c).remote.address ?? 'local';
  } catch {
    return 'local';
  }
}

/**
 * Reads the credentials of a request: an API token (`Authorization: Bearer …`) or the session cookie.
 * A wrong token is refused at once; a stale cookie is treated as no sign-in. Writes made with the cookie
 * must carry the session's CSRF token in `x-csrf-token` (SameSite=Strict is the first line, this the second).
 */
export function authenticate(db: Db, clock: () => Date): MiddlewareHandler<AppEnv> {
  const badTokens = new RateLimiter(30, 60_000);
  return async (c, next) => {
    const now = clock();
    const header = c.req.header('authorization');
    if (header) {
      const match = /^Bearer\s+(\S+)$/i.exec(header);
      const principal = match ? await principalForToken(db, match[1]!, now) : undefined;
      if (!principal) {
        badTokens.hit(clientAddress(c), now.getTime(), 'requests with a wrong API token');
        throw new UnauthorizedError('The API token is unknown, expired or revoked.');
      }
      c.set('principal', principal);
      c.set('via', 'token');
      return next();
    }
    const cookie = getCookie(c, SESSION_COOKIE);
    if (cookie) {
      const session = await principalForSession(db, cookie, now);
      if (session) {
        if (!SAFE_METHODS.has(c.req.method) && c.req.header(CSRF_HEADER) !== session.csrfToken) {
          throw new ForbiddenError(`Writes made with the session cookie need the header ${CSRF_HEADER} from sign-in.`);
        }
        c.set('principal', session.principal);
        c.set('via', 'cookie');
        c.set('sessionToken', cookie);
      }
    }
    return next();
  };
}

/** Route guard: the caller must be signed in and hold one of `roles`. */
export function allow(...roles: Role[]): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    requireRoles(c.get('principal'), roles);
    await next();
  };
}

/**
 * Route guard: any signed-in caller but a feed. A feed's token pushes alerts (POST /api/alerts) and
 * nothing else: it is kept on machines outside the government's, and must not read the registry, events
 * or anything else if it leaks.
 */
export const signedIn: MiddlewareHandler<AppEnv> = async (c, next) => {
  const principal = c.get('principal');
  if (!principal) throw new UnauthorizedError('Sign in, or send an API token as "Authorization: Bearer <token>".');
  if (principal.roles.every((r) => r === 'feed')) throw new ForbiddenError('A feed token may only push alerts (POST /api/alerts).');
  await next();
};
