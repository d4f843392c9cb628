import { sql } from 'drizzle-orm';
import { bigserial, index, integer, jsonb, pgTable, text, timestamp } from 'drizzle-orm/pg-core';

/**
 * Changes that others react to (an alert changed, an event declared; later an activation fired, a batch
 * released), written in the same transaction as the change, so a reaction is never lost when the process
 * that wrote is not the one that reacts, or stops between commit and reaction. A drain job handles each
 * row once (server/outbox/drain.ts); rows are kept after, as the record of what was delivered.
 */
export const outbox = pgTable(
  'outbox',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    topic: text('topic').notNull(),
    payload: jsonb('payload').notNull(),
    /** Who made the change (`user:…`, `token:…`, `system:…`), and in which request. */
    actor: text('actor').notNull(),
    requestId: text('request_id'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull(),
    /** Not handled before this time: the creation time, then the next retry after a failure. */
    availableAt: timestamp('available_at', { withTimezone: true }).notNull(),
    attempts: integer('attempts').notNull().default(0),
    /** The drainer that holds the row, and until when; a lease that has run out may be taken by another. */
    leasedBy: text('leased_by'),
    leasedUntil: timestamp('leased_until', { withTimezone: true }),
    lastError: text('last_error'),
    lastErrorAt: timestamp('last_error_at', { withTimezone: true }),
    doneAt: timestamp('done_at', { withTimezone: true }),
    /** Set when the row failed too often to be tried again: kept, counted in /readyz and the metrics, retried by hand. */
    failedAt: timestamp('failed_at', { withTimezone: true }),
  },
  (t) => [
    index('outbox_pending_idx').on(t.availableAt, t.id).where(sql`done_at is null and failed_at is null`),
    index('outbox_failed_idx').on(t.failedAt).where(sql`failed_at is not null`),
  ],
);
