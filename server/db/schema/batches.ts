import { sql } from 'drizzle-orm';
import { bigint, check, index, integer, jsonb, pgTable, primaryKey, real, smallint, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { activations, ruleVersions } from './rules.ts';

/**
 * The money a rule may spend for one payer: one line per (rule, payer agency, payer jurisdiction), opened
 * with the rule's ceiling (its payer's share of it). The ceiling in force is the one column that changes,
 * and only through an amendment (kept below). Committed, released and headroom are sums over batch lines,
 * never stored.
 */
export const budgetLines = pgTable(
  'budget_lines',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    ruleId: text('rule_id').notNull(),
    programme: text('programme').notNull(),
    agency: text('agency').notNull(),
    /** `federal`, `donor` or a province P-code (PK1..PK7). */
    jurisdiction: text('jurisdiction').notNull(),
    ceilingPkr: bigint('ceiling_pkr', { mode: 'number' }).notNull(),
    openedAt: timestamp('opened_at', { withTimezone: true }).notNull(),
    openedBy: text('opened_by').notNull(),
  },
  (t) => [uniqueIndex('budget_lines_payer_idx').on(t.ruleId, t.agency, t.jurisdiction), check('budget_lines_ceiling_check', sql`${t.ceilingPkr} >= 0`)],
);

/** Every change of a budget line's ceiling, with its reason and reference (a notification, a minute). */
export const budgetAmendments = pgTable(
  'budget_amendments',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    budgetLineId: uuid('budget_line_id')
      .notNull()
      .references(() => budgetLines.id),
    ceilingBeforePkr: bigint('ceiling_before_pkr', { mode: 'number' }).notNull(),
    ceilingAfterPkr: bigint('ceiling_after_pkr', { mode: 'number' }).notNull(),
    reason: text('reason').notNull(),
    reference: text('reference').notNull(),
    madeBy: text('made_by').notNull(),
    madeAt: timestamp('made_at', { withTimezone: true }).notNull(),
  },
  (t) => [index('budget_amendments_line_idx').on(t.budgetLineId)],
);

/**
 * A batch: the households one activation pays (or, for a readiness stage, a prepared list without money),
 * frozen at build time with the rule version, the caseload figures and a sha256 of its lines. Its status
 * moves one way (the trigger in the migration refuses any other move): see the README's state table.
 */
export const batches = pgTable(
  'batches',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    activationId: uuid('activation_id')
      .notNull()
      .references(() => activations.id),
    ruleId: text('rule_id').notNull(),
    ruleVersionId: uuid('rule_version_id')
      .notNull()
      .references(() => ruleVersions.id),
    ruleVersion: text('rule_version').notNull(),
    programme: text('programme').notNull(),
    purpose: text('purpose').notNull(),
    /** `event:<id>` or `alert-chain:<chain id>`: one top-up per household per incident and purpose. */
    incident: text('incident').notNull(),
    subjectKind: text('subject_kind').notNull(),
    subjectId: uuid('subject_id').notNull(),
    stage: text('stage').notNull(),
    /** `payment` (a draft with money) or `prepared` (a readiness list: the caseload without money). */
    kind: text('kind').notNull(),
    status: text('status').notNull(),
    /** The deepest area holding all the batch's areas, and the districts its lines live in: for scoping. */
    jurisdiction: text('jurisdiction').notNull(),
    areaCodes: text('area_codes').array().notNull(),
    /** The concrete payers, in the rule's order: [{agency, jurisdiction, budgetLineId}]; lines index into it. */
    payers: jsonb('payers').notNull(),
    /** The distinct reason lists, frozen; each line points at one by position. */
    reasons: jsonb('reasons').notNull(),
    /** Caseload figures at build time: eligible, cut-offs, excluded, requested, ceiling cut, netted, dropped. */
    figures: jsonb('figures').notNull(),
    registryVersion: text('registry_version').notNull(),
    linesSha256: text('lines_sha256').notNull(),
    lineCount: integer('line_count').notNull(),
    totalPkr: bigint('total_pkr', { mode: 'number' }).notNull(),
    /** How many times the draft was built (1 at first; a rebuild from a refreshed registry adds one). */
    build: integer('build').notNull(),
    /** Approval round: a rejection sends the batch back to draft and the next submission starts a new round. */
    round: integer('round').notNull().default(0),
    builtBy: text('built_by').notNull(),
    builtAt: timestamp('built_at', { withTimezone: true }).notNull(),
    submittedBy: text('submitted_by'),
    submittedAt: timestamp('submitted_at', { withTimezone: true }),
    /** The approval steps of the current round (the tier the total falls in), fixed at submission. */
    steps: jsonb('steps'),
    statusReason: text('status_reason'),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull(),
  },
  (t) => [
    // One live batch per activation: a second build of the same activation is a rebuild, not a new batch.
    uniqueIndex('batches_one_live_per_activation_idx').on(t.activationId).where(sql`status <> 'cancelled'`),
    index('batches_incident_idx').on(t.incident, t.purpose),
    index('batches_area_codes_idx').using('gin', t.areaCodes),
    check('batches_kind_check', sql`${t.kind} in ('payment', 'prepared')`),
    check('batches_status_check', sql`${t.status} in ('prepared', 'draft', 'submitted', 'approved', 'partly_released', 'released', 'cancelled')`),
    check('batches_total_check', sql`${t.totalPkr} >= 0`),
  ],
);

/**
 * One household of a batch, as it was at build time: identity, place, PMT, amount, the payers' shares
 * (indexes into the batch's payers, adding up to the amount), channel and account, and why it is in.
 * `state`: `live` (to be paid), `dropped` (another programme already paid it all for this incident and
 * purpose: amount 0, `net_text` says who), `cancelled` (stopped before release).
 */
export const batchLines = pgTable(
  'batch_lines',
  {
    /** Its batch: checked once per statement by a trigger (migration 0019), not per row by a foreign key. */
    batchId: uuid('batch_id').notNull(),
    lineNo: integer('line_no').notNull(),
    source: text('source').notNull(),
    householdId: text('household_id').notNull(),
    /** HMAC-SHA256 of the head's CNIC under MADAD_DEDUP_KEY (base64url): the same family in two registries is one key. */
    dedupKey: text('dedup_key').notNull(),
    cnic: text('cnic').notNull(),
    headName: text('head_name').notNull(),
    province: text('province').notNull(),
    district: text('district').notNull(),
    tehsil: text('tehsil').notNull(),
    pmt: real('pmt').notNull(),
    requestedPkr: integer('requested_pkr').notNull(),
    amountPkr: integer('amount_pkr').notNull(),
    payerIdx: smallint('payer_idx').array().notNull(),
    sharesPkr: integer('shares_pkr').array().notNull(),
    paymentChannel: text('payment_channel'),
    paymentAccount: text('payment_account'),
    reasonsIdx: integer('reasons_idx').notNull(),
    netText: text('net_text'),
    state: text('state').notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.batchId, t.lineNo] }),
    // Lines cancelled after release give their shares back to the budget; few, so a small index finds them.
    index('batch_lines_cancelled_idx').on(t.batchId).where(sql`state = 'cancelled'`),
    check('batch_lines_state_check', sql`${t.state} in ('live', 'dropped', 'cancelled')`),
    check('batch_lines_amount_check', sql`${t.amountPkr} >= 0 and ${t.amountPkr} <= ${t.requestedPkr}`),
  ],
);

/**
 * The guard of "one top-up per household per incident and purpose, whichever programme pays": one row per
 * (incident, purpose, dedup key) while any live line holds it. `reserved_pkr` is what the live lines hold
 * together (a second programme only tops up to its own amount); `held_by` names each holding line. The
 * primary key is the guard: a second build that missed the first one's rows cannot insert its own.
 * Cancelling a line takes its part out; the row goes when nothing holds it.
 */
export const reservations = pgTable(
  'reservations',
  {
    incident: text('incident').notNull(),
    purpose: text('purpose').notNull(),
    dedupKey: text('dedup_key').notNull(),
    reservedPkr: bigint('reserved_pkr', { mode: 'number' }).notNull(),
    /** [{batchId, lineNo, programme, amount}] */
    heldBy: jsonb('held_by').notNull(),
  },
  (t) => [primaryKey({ columns: [t.incident, t.purpose, t.dedupKey] }), check('reservations_positive_check', sql`${t.reservedPkr} > 0`)],
);

/** A payer's share of a batch: released once, by a finance officer of the payer's jurisdiction, against its budget line. */
export const batchPayers = pgTable(
  'batch_payers',
  {
    batchId: uuid('batch_id')
      .notNull()
      .references(() => batches.id),
    idx: smallint('idx').notNull(),
    agency: text('agency').notNull(),
    jurisdiction: text('jurisdiction').notNull(),
    budgetLineId: uuid('budget_line_id').references(() => budgetLines.id),
    releasedBy: text('released_by'),
    releasedAt: timestamp('released_at', { withTimezone: true }),
    releasedPkr: bigint('released_pkr', { mode: 'number' }),
  },
  (t) => [primaryKey({ columns: [t.batchId, t.idx] }), index('batch_payers_budget_idx').on(t.budgetLineId)],
);

/**
 * Signatures on a batch. The database holds the maker-checker rules: the submitter never signs (the
 * submitter is copied from the locked batch row into the insert and checked), one user signs a round once,
 * and each step of a round is signed once.
 */
export const batchApprovals = pgTable(
  'batch_approvals',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    batchId: uuid('batch_id')
      .notNull()
      .references(() => batches.id),
    round: integer('round').notNull(),
    /** The step signed (its position in the round's steps); null for a rejection. */
    step: integer('step'),
    decision: text('decision').notNull(),
    signedBy: text('signed_by').notNull(),
    submittedBy: text('submitted_by').notNull(),
    role: text('role').notNull(),
    jurisdiction: text('jurisdiction').notNull(),
    comment: text('comment').notNull(),
    linesSha256: text('lines_sha256').notNull(),
    signedAt: timestamp('signed_at', { withTimezone: true }).notNull(),
  },
  (t) => [
    uniqueIndex('batch_approvals_one_signature_idx').on(t.batchId, t.round, t.signedBy),
    uniqueIndex('batch_approvals_step_idx').on(t.batchId, t.round, t.step),
    check('batch_approvals_maker_checker', sql`${t.signedBy} <> ${t.submittedBy}`),
    check('batch_approvals_decision_check', sql`${t.decision} in ('approve', 'reject')`),
  ],
);
