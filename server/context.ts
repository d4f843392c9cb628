import type { Principal } from './access/principal.ts';
import type { Db } from './db/client.ts';

/** What a service verb needs to act on someone's behalf: the database, the actor, the time, the request. */
export interface Ctx {
  db: Db;
  actor: Principal;
  now: Date;
  requestId?: string;
}
