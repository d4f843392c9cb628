import { sql } from 'drizzle-orm';
import { index, integer, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';

/** People who sign in to the web app. Jurisdiction is a P-code prefix: `PK` federal, `PK7` Sindh. */
export const users = pgTable('users', {
  id: uuid('id').primaryKey().defaultRandom(),
  username: text('username').notNull().unique(),
  displayName: text('display_name').notNull(),
  /** `scrypt$N$r$p$salt$hash`, base64url parts: the parameters travel with the hash so they can be raised. */
  passwordHash: text('password_hash').notNull(),
  roles: text('roles').array().notNull(),
  agency: text('agency').notNull(),
  jurisdiction: text('jurisdiction').notNull(),
  /**
   * The alert senders (CAP `sender`) this user may publish as, e.g. `ffd@pmd.gov.pk`; a message from any
   * other sender is refused. Empty: the user may not push alerts.
   */
  senders: text('senders').array().notNull().default(sql`'{}'::text[]`),
  /** Where the user is told what waits for them (a batch to approve or release), when SMTP_URL is set. */
  email: text('email'),
  failedLogins: integer('failed_logins').notNull().default(0),
  lockedUntil: timestamp('locked_until', { withTimezone: true }),
  disabledAt: timestamp('disabled_at', { withTimezone: true }),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
});

/** Server-side web sessions; the cookie holds a random token, the table only its sha256. */
export const sessions = pgTable(
  'sessions',
  {
    tokenHash: text('token_hash').primaryKey(),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    csrfToken: text('csrf_token').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
  },
  (t) => [index('sessions_user_idx').on(t.userId)],
);

/** API tokens for machine clients (feeds, ministries' systems): shown once, stored hashed. */
export const apiTokens = pgTable(
  'api_tokens',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    name: text('name').notNull(),
    /** The first characters of the token, so a person can tell tokens apart without the secret. */
    prefix: text('prefix').notNull(),
    tokenHash: text('token_hash').notNull().unique(),
    role: text('role').notNull(),
    agency: text('agency').notNull(),
    jurisdiction: text('jurisdiction').notNull(),
    /** The alert senders this token may publish as; empty: it may not push alerts. */
    senders: text('senders').array().notNull().default(sql`'{}'::text[]`),
    createdBy: text('created_by').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    expiresAt: timestamp('expires_at', { withTimezone: true }),
    revokedAt: timestamp('revoked_at', { withTimezone: true }),
    lastUsedAt: timestamp('last_used_at', { withTimezone: true }),
  },
  (t) => [index('api_tokens_jurisdiction_idx').on(t.jurisdiction), index('api_tokens_active_idx').on(t.tokenHash).where(sql`revoked_at is null`)],
);

/**
 * Failed sign-ins counted in the database, so parallel attempts and several replicas count as one: a row
 * per username and client address (`account:<username>|<address>`), whose backoff slows guessing without
 * letting anyone lock an account for everyone, and a row per address (`address:<address>`), which limits
 * guessing across accounts. Keys are kept whether or not the username exists, so the answer says nothing
 * about which usernames do.
 */
export const loginThrottle = pgTable('login_throttle', {
  key: text('key').primaryKey(),
  failures: integer('failures').notNull(),
  windowStartedAt: timestamp('window_started_at', { withTimezone: true }).notNull(),
  lockedUntil: timestamp('locked_until', { withTimezone: true }),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull(),
});
