import { z } from '@hono/zod-openapi';
import { eq } from 'drizzle-orm';
import type { Db } from '../db/client.ts';
import { apiTokens, users } from '../db/schema/index.ts';
import type { Actor } from './principal.ts';

/** More than this many senders on one token, user or feed is a mistake, not a configuration. */
export const MAX_SENDERS = 20;

/**
 * One alert sender as CAP writes it (CAP 1.2 §3.2.1 `sender`: "MUST NOT include spaces, commas or
 * restricted characters (< and &)"), e.g. `ffd@pmd.gov.pk`. Compared exactly, as the alerts table keys it.
 */
export const senderSchema = z
  .string()
  .trim()
  .min(1, 'expected a sender')
  .max(255)
  .regex(/^[^\s,<&]+$/, 'expected a CAP sender: no spaces, commas, < or &')
  .openapi({ example: 'ffd@pmd.gov.pk' });

/** The senders a token, user or feed may publish as (the services store each once: `distinctSenders`). */
export const sendersSchema = z
  .array(senderSchema)
  .max(MAX_SENDERS, `expected at most ${MAX_SENDERS} senders`)
  .openapi({ description: 'The CAP senders this may publish alerts as; a message from any other sender is refused', example: ['ffd@pmd.gov.pk'] });

/** Each sender once, in the order given. */
export const distinctSenders = (senders: readonly string[] | undefined): string[] => [...new Set(senders ?? [])];

/** `a,b , c` as the CLI takes it → the list, unchecked (sendersSchema checks it). */
export const splitSenders = (text: string | undefined): string[] =>
  text === undefined ? [] : text.split(',').map((s) => s.trim()).filter((s) => s.length > 0);

/**
 * Who publishes an ingested body, for the checks of the ingest: the senders it may publish as and the
 * jurisdiction its messages' areas must lie within.
 */
export interface Publisher {
  senders: readonly string[];
  jurisdiction: string;
}

/**
 * The publisher a signed-in user or an API token is: its senders read from its own row (they are
 * configured per account, not carried in the session), its jurisdiction from the principal.
 */
export async function publisherFor(db: Db, actor: Actor): Promise<Publisher> {
  const rows =
    actor.kind === 'token'
      ? await db.select({ senders: apiTokens.senders }).from(apiTokens).where(eq(apiTokens.id, actor.id))
      : actor.kind === 'user'
        ? await db.select({ senders: users.senders }).from(users).where(eq(users.id, actor.id))
        : undefined;
  if (!rows) throw new Error(`publisherFor: the system (${actor.name}) publishes without a publisher`);
  const [row] = rows;
  return { senders: row?.senders ?? [], jurisdiction: actor.jurisdiction };
}
