import { sql, type AnyColumn, type SQL } from 'drizzle-orm';
import { ForbiddenError, UnauthorizedError } from '../errors.ts';
import { IDENTITY_ROLES, type Role } from './roles.ts';

/** Who is calling: a signed-in user or an API token, with roles and a jurisdiction. */
export interface Principal {
  kind: 'user' | 'token' | 'cli';
  id: string;
  /** Username, token name or the operating-system user of the CLI; what the audit trail shows. */
  name: string;
  roles: Role[];
  agency: string;
  jurisdiction: string;
}

export function actorOf(principal: Principal): string {
  return `${principal.kind}:${principal.name}`;
}

export function hasRole(principal: Principal, ...roles: Role[]): boolean {
  return principal.roles.some((r) => roles.includes(r));
}

/** Whether an area code (or a narrower jurisdiction) lies within the principal's jurisdiction. */
export function inScope(principal: Pick<Principal, 'jurisdiction'>, code: string): boolean {
  return code.startsWith(principal.jurisdiction);
}

/** The SQL condition that keeps rows within the principal's jurisdiction; scoping lives in the queries. */
export function scopeCondition(column: AnyColumn, principal: Pick<Principal, 'jurisdiction'>): SQL {
  return sql`starts_with(${column}, ${principal.jurisdiction})`;
}

export function canSeeIdentity(principal: Principal): boolean {
  return hasRole(principal, ...IDENTITY_ROLES);
}

export function requirePrincipal(principal: Principal | undefined): Principal {
  if (!principal) throw new UnauthorizedError('Sign in, or send an API token as "Authorization: Bearer <token>".');
  return principal;
}

export function requireRoles(principal: Principal | undefined, roles: readonly Role[]): Principal {
  const p = requirePrincipal(principal);
  if (!hasRole(p, ...roles)) throw new ForbiddenError(`This needs one of the roles ${roles.join(', ')}.`);
  return p;
}
