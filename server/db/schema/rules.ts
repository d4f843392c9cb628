import { sql } from 'drizzle-orm';
import { boolean, index, jsonb, pgTable, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';

/** A pre-agreed rule, by its id in the YAML file; its versions are below. */
export const rules = pgTable('rules', {
  id: text('id').primaryKey(),
  title: text('title').notNull(),
  /** The version in force: the last file content loaded. */
  currentVersionId: uuid('current_version_id'),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull(),
});

/**
 * One row per distinct file content (sha256): a changed file is a new version, and evaluations and
 * activations keep pointing at the version that made them.
 */
export const ruleVersions = pgTable(
  'rule_versions',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    ruleId: text('rule_id')
      .notNull()
      .references(() => rules.id),
    contentHash: text('content_hash').notNull(),
    versionLabel: text('version_label').notNull(),
    yaml: text('yaml').notNull(),
    parsed: jsonb('parsed').notNull(),
    sourceFile: text('source_file'),
    loadedAt: timestamp('loaded_at', { withTimezone: true }).notNull(),
  },
  (t) => [uniqueIndex('rule_versions_rule_hash_idx').on(t.ruleId, t.contentHash)],
);

/**
 * An event declared by a disaster management authority: the subject of declaration-driven rules.
 * It belongs to the jurisdictions of its areas.
 */
export const events = pgTable(
  'events',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    name: text('name').notNull(),
    hazard: text('hazard').notNull(),
    status: text('status').notNull(),
    areaCodes: text('area_codes').array().notNull(),
    alertIds: uuid('alert_ids').array().notNull(),
    /** The notification as submitted (P-codes or names) and how each line resolved. */
    notification: jsonb('notification').notNull(),
    /** The longest P-code prefix common to the event's areas; scoping uses it. */
    jurisdiction: text('jurisdiction').notNull(),
    createdBy: text('created_by').notNull(),
    declaredAt: timestamp('declared_at', { withTimezone: true }),
    closedAt: timestamp('closed_at', { withTimezone: true }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull(),
  },
  (t) => [index('events_jurisdiction_idx').on(t.jurisdiction), index('events_area_codes_idx').using('gin', t.areaCodes)],
);

/** Every evaluation of a rule version against a subject, fired or not, with its reasons. */
export const evaluations = pgTable(
  'evaluations',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    ruleVersionId: uuid('rule_version_id')
      .notNull()
      .references(() => ruleVersions.id),
    ruleId: text('rule_id').notNull(),
    subjectKind: text('subject_kind').notNull(),
    subjectId: uuid('subject_id').notNull(),
    stage: text('stage'),
    fired: boolean('fired').notNull(),
    decision: jsonb('decision').notNull(),
    /** What caused it: `alert.created`, `event.declared`, `rules.loaded`, … */
    cause: text('cause').notNull(),
    evaluatedAt: timestamp('evaluated_at', { withTimezone: true }).notNull(),
  },
  (t) => [index('evaluations_subject_idx').on(t.subjectKind, t.subjectId), index('evaluations_rule_idx').on(t.ruleId)],
);

/** One activation per (rule version, subject, stage); a Cancel or a stop stage marks it stopped. */
export const activations = pgTable(
  'activations',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    ruleVersionId: uuid('rule_version_id')
      .notNull()
      .references(() => ruleVersions.id),
    ruleId: text('rule_id').notNull(),
    subjectKind: text('subject_kind').notNull(),
    subjectId: uuid('subject_id').notNull(),
    stage: text('stage').notNull(),
    evaluationId: uuid('evaluation_id')
      .notNull()
      .references(() => evaluations.id),
    status: text('status').notNull(),
    stoppedReason: text('stopped_reason'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull(),
    stoppedAt: timestamp('stopped_at', { withTimezone: true }),
  },
  (t) => [
    uniqueIndex('activations_once_idx').on(t.ruleVersionId, t.subjectKind, t.subjectId, t.stage),
    index('activations_active_idx').on(t.subjectKind, t.subjectId).where(sql`status = 'active'`),
  ],
);
