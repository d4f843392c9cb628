import { sql } from 'drizzle-orm';
import { bigserial, check, index, integer, jsonb, pgTable, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { activations, ruleVersions } from './rules.ts';

/**
 * One action of an incident's joint response plan: who does what, where, by when, paid by whom. An incident
 * is `event:<id>` or `alert-chain:<chain id>`, the key batches use. Actions come from a firing stage of a
 * rule (copied once per activation and rule action, frozen with the rule version) or are added by an
 * officer. Cash actions are not stored here: each batch of the incident is one, read live from the ledger.
 * Overdue is never stored: it is `due_at < now` while the status is not done or cancelled. The status moves
 * only along the machine (a trigger in the migration); every change is a row of `plan_updates`.
 */
export const planActions = pgTable(
  'plan_actions',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    incident: text('incident').notNull(),
    title: text('title').notNull(),
    sector: text('sector').notNull(),
    leadAgency: text('lead_agency').notNull(),
    supportingAgencies: text('supporting_agencies').array().notNull(),
    areaCodes: text('area_codes').array().notNull(),
    /** The deepest area holding all the action's areas: audit entries are filed under it. */
    jurisdiction: text('jurisdiction').notNull(),
    /** Points such as payment camps: [{name, lat, lon, capacity?, openingDays?}]. */
    locations: jsonb('locations').notNull(),
    /** `readiness`, `activation` or `response`. */
    stage: text('stage').notNull(),
    /** The moment the action's stage fired (or the incident began), that `T+h` counts from. */
    triggerAt: timestamp('trigger_at', { withTimezone: true }).notNull(),
    dueAt: timestamp('due_at', { withTimezone: true }).notNull(),
    targetHouseholds: integer('target_households'),
    targetPeople: integer('target_people'),
    reachedHouseholds: integer('reached_households'),
    reachedPeople: integer('reached_people'),
    /** [{funder, pkr}] in whole rupees. */
    budget: jsonb('budget').notNull(),
    status: text('status').notNull(),
    statusReason: text('status_reason'),
    /** `rule` (copied from a firing stage) or `officer` (added by hand). */
    origin: text('origin').notNull(),
    ruleId: text('rule_id'),
    ruleVersion: text('rule_version'),
    ruleVersionId: uuid('rule_version_id').references(() => ruleVersions.id),
    activationId: uuid('activation_id').references(() => activations.id),
    /** The action's key in the rule file, with the area it was copied for (`sms-beneficiaries`, `camps@PK701`). */
    ruleActionKey: text('rule_action_key'),
    acceptedBy: text('accepted_by'),
    acceptedAt: timestamp('accepted_at', { withTimezone: true }),
    createdBy: text('created_by').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull(),
  },
  (t) => [
    // A firing stage's actions are copied once, however often the copy is attempted.
    uniqueIndex('plan_actions_once_per_activation_idx').on(t.activationId, t.ruleActionKey).where(sql`activation_id is not null`),
    // And once per incident: an Update of an alert is its own subject and fires its stages again, but the
    // plan of the chain already holds their actions (a new district of the update gets its own).
    uniqueIndex('plan_actions_once_per_incident_idx').on(t.incident, t.ruleId, t.ruleActionKey).where(sql`rule_action_key is not null`),
    index('plan_actions_incident_idx').on(t.incident),
    index('plan_actions_area_codes_idx').using('gin', t.areaCodes),
    check('plan_actions_status_check', sql`${t.status} in ('planned', 'ready', 'in_progress', 'done', 'blocked', 'cancelled')`),
    check('plan_actions_stage_check', sql`${t.stage} in ('readiness', 'activation', 'response')`),
    check('plan_actions_origin_check', sql`${t.origin} in ('rule', 'officer')`),
    check('plan_actions_reason_check', sql`${t.status} not in ('blocked', 'cancelled') or ${t.statusReason} is not null`),
    check('plan_actions_due_check', sql`${t.dueAt} >= ${t.triggerAt}`),
    check(
      'plan_actions_counts_check',
      sql`coalesce(${t.targetHouseholds}, 0) >= 0 and coalesce(${t.targetPeople}, 0) >= 0 and coalesce(${t.reachedHouseholds}, 0) >= 0 and coalesce(${t.reachedPeople}, 0) >= 0`,
    ),
  ],
);

/**
 * The history of an action: its creation, each status change, progress, acceptance and reassignment, with
 * who, when, a note and optional evidence. Append-only (a trigger refuses update and delete); a status
 * change must be one the machine allows (a check).
 */
export const planUpdates = pgTable(
  'plan_updates',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    /** The order updates were written in (several may share a moment). */
    seq: bigserial('seq', { mode: 'number' }).notNull(),
    actionId: uuid('action_id')
      .notNull()
      .references(() => planActions.id),
    /** `created`, `status`, `progress`, `accepted`, `reassigned`. */
    kind: text('kind').notNull(),
    fromStatus: text('from_status'),
    toStatus: text('to_status').notNull(),
    note: text('note').notNull(),
    evidence: text('evidence'),
    /** What else changed: reached figures, the lead agency before and after. */
    changes: jsonb('changes').notNull(),
    madeBy: text('made_by').notNull(),
    agency: text('agency').notNull(),
    madeAt: timestamp('made_at', { withTimezone: true }).notNull(),
  },
  (t) => [
    index('plan_updates_action_idx').on(t.actionId, t.seq),
    check('plan_updates_kind_check', sql`${t.kind} in ('created', 'status', 'progress', 'accepted', 'reassigned')`),
    check(
      'plan_updates_transition_check',
      sql`${t.fromStatus} is null or ${t.fromStatus} = ${t.toStatus} or (${t.fromStatus}, ${t.toStatus}) in (
        ('planned', 'ready'), ('ready', 'in_progress'), ('in_progress', 'done'),
        ('planned', 'blocked'), ('ready', 'blocked'), ('in_progress', 'blocked'),
        ('blocked', 'planned'), ('blocked', 'ready'), ('blocked', 'in_progress'),
        ('planned', 'cancelled'), ('ready', 'cancelled'), ('in_progress', 'cancelled'), ('blocked', 'cancelled'))`,
    ),
  ],
);
