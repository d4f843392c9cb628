import { sql, type AnyColumn, type SQL } from 'drizzle-orm';
import { ForbiddenError, UnauthorizedError } from '../errors.ts';
import { IDENTITY_ROLES, type Role } from './roles.ts';

/**
 * Who acts: a signed-in user, an API token, or the system itself (a job, the CLI, a hook, startup). Every
 * service verb takes one in its context, so HTTP, CLI and jobs go through the same checks and the audit
 * trail names each the same way.
 */
export interface Actor {
  kind: 'user' | 'token' | 'system';
  id: string;
  /** Username, token name, or the system part (`triggers`, `cli:<os user>`, `demo`); what the audit trail shows. */
  name: string;
  roles: Role[];
  agency: string;
  jurisdiction: string;
}

/** An actor that came in over HTTP with credentials (a user or a token). */
export type Principal = Actor;

/** `user:amina`, `token:pmd-feed`, `system:triggers`: how the audit trail names an actor. */
export function actorOf(actor: Actor): string {
  return `${actor.kind}:${actor.name}`;
}

/**
 * The system acting on its own: federal admin rights, because whoever runs it (the server's jobs, the CLI's
 * operator at the database) already reaches everything. `name` says which part acts.
 */
export function systemActor(name: string): Actor {
  return { kind: 'system', id: `system:${name}`, name, roles: ['admin'], agency: 'Madad', jurisdiction: 'PK' };
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
