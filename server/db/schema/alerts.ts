import { sql } from 'drizzle-orm';
import { customType, index, integer, jsonb, pgTable, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';

const bytea = customType<{ data: Uint8Array; driverData: Uint8Array }>({ dataType: () => 'bytea' });

/** Every body received (pushed or polled), byte for byte, once per sha256. */
export const alertBodies = pgTable('alert_bodies', {
  id: uuid('id').primaryKey().defaultRandom(),
  sha256: text('sha256').notNull().unique(),
  contentType: text('content_type'),
  bytes: bytea('bytes').notNull(),
  receivedAt: timestamp('received_at', { withTimezone: true }).notNull(),
  receivedVia: text('received_via').notNull(),
});

/**
 * One record per (sender, identifier), normalised. `state` is the alert's life: active, superseded by an
 * Update, cancelled, ended by a soft cancel (AllClear; Past + Unlikely), or expired. `chainId` groups an
 * alert with the Updates and Cancels that reference it.
 */
export const alerts = pgTable(
  'alerts',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    chainId: uuid('chain_id').notNull(),
    sender: text('sender').notNull(),
    identifier: text('identifier').notNull(),
    source: text('source').notNull(),
    format: text('format').notNull(),
    sent: timestamp('sent', { withTimezone: true }).notNull(),
    status: text('status').notNull(),
    msgType: text('msg_type').notNull(),
    scope: text('scope').notNull(),
    references: jsonb('references').notNull(),
    incidents: text('incidents').array().notNull(),
    responseType: text('response_type').array().notNull(),
    hazard: text('hazard').notNull(),
    severity: text('severity').notNull(),
    urgency: text('urgency').notNull(),
    certainty: text('certainty').notNull(),
    metrics: jsonb('metrics').notNull(),
    infos: jsonb('infos').notNull(),
    effective: timestamp('effective', { withTimezone: true }),
    onset: timestamp('onset', { withTimezone: true }),
    expires: timestamp('expires', { withTimezone: true }),
    geometry: jsonb('geometry'),
    areaDescriptions: text('area_descriptions').array().notNull(),
    geocodes: jsonb('geocodes').notNull(),
    /** Gazetteer codes the area resolved to (geocodes, names, and districts the geometry touches). */
    areaCodes: text('area_codes').array().notNull(),
    unresolved: jsonb('unresolved').notNull(),
    notes: text('notes').array().notNull(),
    contentHash: text('content_hash').notNull(),
    bodyId: uuid('body_id')
      .notNull()
      .references(() => alertBodies.id),
    state: text('state').notNull(),
    stateReason: text('state_reason'),
    stateChangedBy: uuid('state_changed_by'),
    version: integer('version').notNull().default(1),
    receivedAt: timestamp('received_at', { withTimezone: true }).notNull(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull(),
  },
  (t) => [
    uniqueIndex('alerts_sender_identifier_idx').on(t.sender, t.identifier),
    index('alerts_chain_idx').on(t.chainId),
    index('alerts_active_idx').on(t.state, t.expires).where(sql`state = 'active'`),
    index('alerts_sent_idx').on(t.sent),
    index('alerts_area_codes_idx').using('gin', t.areaCodes),
  ],
);

/** Feeds Madad polls: conditional GET, backoff, and what happened last. */
export const feeds = pgTable('feeds', {
  id: uuid('id').primaryKey().defaultRandom(),
  url: text('url').notNull().unique(),
  format: text('format').notNull(),
  everySeconds: integer('every_seconds').notNull(),
  etag: text('etag'),
  lastModified: text('last_modified'),
  lastPolledAt: timestamp('last_polled_at', { withTimezone: true }),
  lastSuccessAt: timestamp('last_success_at', { withTimezone: true }),
  lastError: text('last_error'),
  lastErrorAt: timestamp('last_error_at', { withTimezone: true }),
  consecutiveFailures: integer('consecutive_failures').notNull().default(0),
  nextPollAt: timestamp('next_poll_at', { withTimezone: true }).notNull(),
  itemsSeen: integer('items_seen').notNull().default(0),
  /** The senders this feed's messages may carry (its configuration); a message from any other is refused. */
  senders: text('senders').array().notNull().default(sql`'{}'::text[]`),
  createdBy: text('created_by').notNull(),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull(),
});
