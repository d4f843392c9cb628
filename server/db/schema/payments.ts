import { sql } from 'drizzle-orm';
import { check, index, integer, jsonb, pgTable, smallint, text, timestamp, uniqueIndex, uuid, bigint } from 'drizzle-orm/pg-core';
import { batches } from './batches.ts';

/**
 * One payment instruction per batch line and attempt: what a bank, a wallet or a payment camp executes. Its
 * id is deterministic (batch, line, attempt) and is the reference the bank sees and sends back. The state
 * moves one way (a trigger in the migration); at most one attempt of a line is in flight at a time (the
 * partial unique index: released, exported, or asked to be stopped), so two attempts are never sent
 * together. A bank that pays an attempt late, after another was paid, makes an overpayment, recorded below.
 */
export const paymentInstructions = pgTable(
  'payment_instructions',
  {
    id: text('id').primaryKey(),
    /** Its batch: checked once per statement by a trigger (migration 0019), not per row by a foreign key. */
    batchId: uuid('batch_id').notNull(),
    lineNo: integer('line_no').notNull(),
    attempt: smallint('attempt').notNull(),
    /** `biometric_cash`, `bank_transfer` or `mobile_wallet`: the file the instruction goes in. */
    channel: text('channel').notNull(),
    account: text('account'),
    amountPkr: integer('amount_pkr').notNull(),
    /** `released`, `exported`, `paid`, `failed`, `unclaimed`, `cancel_requested`, `cancelled`. */
    state: text('state').notNull(),
    fileId: uuid('file_id'),
    /** The cancellation file that asked the bank to stop it, once it was exported and its activation stopped. */
    cancelFileId: uuid('cancel_file_id'),
    paidPkr: integer('paid_pkr'),
    paidAt: timestamp('paid_at', { withTimezone: true }),
    bankReference: text('bank_reference'),
    reason: text('reason'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull(),
  },
  (t) => [
    uniqueIndex('payment_instructions_attempt_idx').on(t.batchId, t.lineNo, t.attempt),
    uniqueIndex('payment_instructions_one_in_flight_idx')
      .on(t.batchId, t.lineNo)
      .where(sql`state in ('released', 'exported', 'cancel_requested')`),
    // A file is read in id order, a page after the other (its bytes, its texts): (file, id) keeps each page a
    // range read; by file alone every page sorted the whole file again. Only rows in a file are indexed: an
    // instruction is written without an entry, and the few ever asked to be stopped are the only ones in the
    // cancellation index (every instruction written is an entry written into each index that holds it).
    index('payment_instructions_file_idx')
      .on(t.fileId, t.id)
      .where(sql`file_id is not null`),
    index('payment_instructions_cancel_file_idx')
      .on(t.cancelFileId, t.id)
      .where(sql`cancel_file_id is not null`),
    // The instructions waiting for a file of their channel, in id order, as the export pages through them.
    index('payment_instructions_waiting_idx')
      .on(t.batchId, t.channel, t.id)
      .where(sql`state = 'released' and file_id is null`),
    // Those asked to be stopped and not yet in a cancellation file, as a cancellation file gathers them.
    index('payment_instructions_to_cancel_idx')
      .on(t.batchId, t.channel)
      .where(sql`state = 'cancel_requested' and cancel_file_id is null`),
    // Attempts after the first (a line paid again): a reconciliation looks for its paid lines among them.
    index('payment_instructions_reissued_idx')
      .on(t.batchId, t.lineNo)
      .where(sql`attempt > 1`),
    check('payment_instructions_state_check', sql`${t.state} in ('released', 'exported', 'paid', 'failed', 'unclaimed', 'cancel_requested', 'cancelled')`),
    check('payment_instructions_paid_check', sql`${t.paidPkr} is null or (${t.paidPkr} >= 0 and ${t.paidPkr} <= ${t.amountPkr})`),
  ],
);

/**
 * A payment file as made: its manifest. The bytes are not stored: they are written again from the file's
 * instructions, the same bytes each time, and checked against `sha256` on every download.
 */
export const paymentFiles = pgTable(
  'payment_files',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    batchId: uuid('batch_id')
      .notNull()
      .references(() => batches.id),
    channel: text('channel').notNull(),
    /** `payment` (instructions to pay) or `cancellation` (exported instructions the bank is asked to stop). */
    kind: text('kind').notNull(),
    /** The payers whose released shares the file pays, e.g. `BISP (federal)`. */
    payers: jsonb('payers').notNull(),
    /** The jurisdiction whose finance officers may fetch it: the payers' (federal when several). */
    jurisdiction: text('jurisdiction').notNull(),
    seq: integer('seq').notNull(),
    sha256: text('sha256').notNull(),
    count: integer('count').notNull(),
    totalPkr: bigint('total_pkr', { mode: 'number' }).notNull(),
    madeBy: text('made_by').notNull(),
    madeAt: timestamp('made_at', { withTimezone: true }).notNull(),
  },
  (t) => [
    uniqueIndex('payment_files_seq_idx').on(t.batchId, t.kind, t.channel, t.seq),
    check('payment_files_kind_check', sql`${t.kind} in ('payment', 'cancellation')`),
  ],
);

/** A bank's answer to a payment file, applied whole or not at all; the same file twice is recognised by its hash. */
export const reconciliations = pgTable(
  'reconciliations',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    fileId: uuid('file_id')
      .notNull()
      .references(() => paymentFiles.id),
    sha256: text('sha256').notNull(),
    rows: integer('rows').notNull(),
    report: jsonb('report').notNull(),
    appliedBy: text('applied_by').notNull(),
    appliedAt: timestamp('applied_at', { withTimezone: true }).notNull(),
  },
  (t) => [uniqueIndex('reconciliations_file_hash_idx').on(t.fileId, t.sha256)],
);

/**
 * A request to pay a failed or unclaimed line again (a new attempt, the same or another channel and
 * account), made by one programme manager and decided by another: the check refuses the maker as checker.
 * No new money: the new attempt pays the amount already released for the line. One open request per line.
 */
export const reissues = pgTable(
  'reissues',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    batchId: uuid('batch_id')
      .notNull()
      .references(() => batches.id),
    lineNo: integer('line_no').notNull(),
    /** The attempt that failed or went unclaimed. */
    instructionId: text('instruction_id')
      .notNull()
      .references(() => paymentInstructions.id),
    fromChannel: text('from_channel').notNull(),
    fromAccount: text('from_account'),
    channel: text('channel').notNull(),
    account: text('account'),
    reason: text('reason').notNull(),
    requestedBy: text('requested_by').notNull(),
    requestedAt: timestamp('requested_at', { withTimezone: true }).notNull(),
    decision: text('decision'),
    decidedBy: text('decided_by'),
    decidedAt: timestamp('decided_at', { withTimezone: true }),
    comment: text('comment'),
    newInstructionId: text('new_instruction_id'),
  },
  (t) => [
    uniqueIndex('reissues_one_open_idx').on(t.batchId, t.lineNo).where(sql`decision is null`),
    check('reissues_maker_checker', sql`${t.decidedBy} is null or ${t.decidedBy} <> ${t.requestedBy}`),
    check('reissues_decision_check', sql`${t.decision} is null or ${t.decision} in ('approved', 'rejected')`),
  ],
);

/** A line paid by two attempts (a bank answering late): money to recover, recorded once and shown loudly. */
export const overpayments = pgTable(
  'overpayments',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    batchId: uuid('batch_id')
      .notNull()
      .references(() => batches.id),
    lineNo: integer('line_no').notNull(),
    /** The attempts the bank says it paid. */
    instructionIds: text('instruction_ids').array().notNull(),
    paidPkr: bigint('paid_pkr', { mode: 'number' }).notNull(),
    /** What was paid above the line's amount: to recover. */
    overPkr: bigint('over_pkr', { mode: 'number' }).notNull(),
    foundAt: timestamp('found_at', { withTimezone: true }).notNull(),
    foundIn: uuid('found_in').notNull(),
  },
  (t) => [uniqueIndex('overpayments_line_idx').on(t.batchId, t.lineNo)],
);

/**
 * Texts to beneficiaries, made when a line's instruction is exported (where and from when to collect) and
 * when it is paid, in Urdu and in English, from the template files in server/payments/messages/. Each is
 * handed to the SMS gateway once: `exported_at` is set by the export that takes it, and the unique index
 * keeps one text per instruction, moment and language.
 */
export const messages = pgTable(
  'messages',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    /** Its instruction: checked once per statement by a trigger (migration 0019), not per row by a foreign key. */
    instructionId: text('instruction_id').notNull(),
    /** `exported` (the payment is on its way), `paid`, or `cancelled` (a payment the household was told about, stopped). */
    moment: text('moment').notNull(),
    language: text('language').notNull(),
    msisdn: text('msisdn').notNull(),
    body: text('body').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull(),
    /** When an export for the SMS gateway took it (null: waiting). */
    exportedAt: timestamp('exported_at', { withTimezone: true }),
    exportId: uuid('export_id'),
  },
  (t) => [
    uniqueIndex('messages_once_idx').on(t.instructionId, t.moment, t.language),
    index('messages_waiting_idx').on(t.createdAt).where(sql`exported_at is null`),
    check('messages_moment_check', sql`${t.moment} in ('exported', 'paid', 'cancelled')`),
  ],
);

/**
 * Emails to officials about what waits for them (a batch to approve or release, a request to pay again),
 * one per person and reason: the unique index keeps a retried job from mailing twice. The inbox itself is
 * computed from the batches' state, so it is never stale; this table only remembers what was mailed.
 */
export const notifications = pgTable(
  'notifications',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    username: text('username').notNull(),
    email: text('email').notNull(),
    /** What waits, e.g. `batch:<id>:approve:round 1`. */
    reason: text('reason').notNull(),
    subject: text('subject').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull(),
    sentAt: timestamp('sent_at', { withTimezone: true }),
    error: text('error'),
  },
  (t) => [uniqueIndex('notifications_once_idx').on(t.username, t.reason)],
);
