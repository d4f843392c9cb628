import type { Role } from '../../server/access/roles.ts';
import type { Db } from '../../server/db/client.ts';
import { createToken } from '../../server/tokens/service.ts';
import { setupCtx, TEST_SENDERS, unique } from '../harness/factories.ts';

/** An API token of `role` in `jurisdiction` for `agency`: plan actions are the business of an agency. */
export async function agencyToken(db: Db, role: Role, jurisdiction: string, agency: string): Promise<string> {
  const created = await createToken(setupCtx(db), {
    name: unique(role),
    role,
    agency,
    jurisdiction,
    senders: ['dma_officer', 'admin', 'feed'].includes(role) ? [...TEST_SENDERS] : [],
  });
  return `Bearer ${created.token}`;
}

export type Json = Record<string, any>;
