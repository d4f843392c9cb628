import type { Principal } from '../../server/access/principal.ts';
import type { Role } from '../../server/access/roles.ts';
import type { Ctx } from '../../server/context.ts';
import type { Db } from '../../server/db/client.ts';
import { createToken } from '../../server/tokens/service.ts';
import { createUser } from '../../server/users/service.ts';

let counter = 0;
/** A name no other test uses. */
export const unique = (prefix: string) => `${prefix}-${process.pid}-${++counter}-${Math.random().toString(36).slice(2, 6)}`;

/** The federal setup actor that factories act as (as the CLI does). */
export function setupCtx(db: Db, now = new Date()): Ctx {
  const actor: Principal = { kind: 'cli', id: 'cli:test', name: 'test', roles: ['admin'], agency: 'TEST', jurisdiction: 'PK' };
  return { db, actor, now, requestId: 'test-setup' };
}

export const TEST_PASSWORD = 'correct horse battery staple';

export function makeUser(db: Db, fields: { roles?: Role[]; jurisdiction?: string; agency?: string; username?: string } = {}) {
  return createUser(setupCtx(db), {
    username: fields.username ?? unique('user').toLowerCase(),
    displayName: 'Test User',
    password: TEST_PASSWORD,
    roles: fields.roles ?? ['responder'],
    agency: fields.agency ?? 'PDMA Sindh',
    jurisdiction: fields.jurisdiction ?? 'PK7',
  });
}

/** An API token for `role` in `jurisdiction`; returns the bearer header. */
export async function bearer(db: Db, role: Role, jurisdiction = 'PK7', expiresAt?: Date): Promise<{ authorization: string; id: string }> {
  const created = await createToken(setupCtx(db), { name: unique(role), role, agency: 'TEST', jurisdiction, expiresAt });
  return { authorization: `Bearer ${created.token}`, id: created.id };
}
