import { sql } from 'drizzle-orm';
import { bigint, check, customType, index, integer, jsonb, pgTable, primaryKey, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';

const bytea = customType<{ data: Buffer; driverData: Buffer | Uint8Array }>({
  dataType: () => 'bytea',
  fromDriver: (v) => Buffer.from(v),
});

/**
 * A data-sharing agreement between two agencies: what each side may receive of which registry (a whitelist
 * of fields per share), for which jurisdiction (a P-code prefix), how households are linked (`pseudonymous`:
 * keyed hashes of the head's CNIC only; `identified`), and when. It is in force once an officer of each
 * party has signed (neither the one who drafted it), between `valid_from` and `valid_to`, until revoked.
 * `link_key` is the agreement's own 32-byte HMAC key: never selected by a listing, shown once to the second
 * signer.
 */
export const agreements = pgTable(
  'agreements',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    title: text('title').notNull(),
    partyA: text('party_a').notNull(),
    partyB: text('party_b').notNull(),
    /** `dedup`, `disaster_response` or `targeting`. */
    purpose: text('purpose').notNull(),
    jurisdiction: text('jurisdiction').notNull(),
    /** `pseudonymous` or `identified`. */
    linkage: text('linkage').notNull(),
    /** [{source, from, to, fields}]: which registry of `from` the agency `to` may receive, and which fields. */
    shares: jsonb('shares').notNull(),
    validFrom: timestamp('valid_from', { withTimezone: true }).notNull(),
    validTo: timestamp('valid_to', { withTimezone: true }).notNull(),
    linkKey: bytea('link_key').notNull(),
    madeBy: text('made_by').notNull(),
    madeAt: timestamp('made_at', { withTimezone: true }).notNull(),
    signedABy: text('signed_a_by'),
    signedAAt: timestamp('signed_a_at', { withTimezone: true }),
    signedBBy: text('signed_b_by'),
    signedBAt: timestamp('signed_b_at', { withTimezone: true }),
    revokedBy: text('revoked_by'),
    revokedAt: timestamp('revoked_at', { withTimezone: true }),
    revokeReason: text('revoke_reason'),
  },
  (t) => [
    check('agreements_parties_check', sql`${t.partyA} <> ${t.partyB}`),
    check('agreements_purpose_check', sql`${t.purpose} in ('dedup', 'disaster_response', 'targeting')`),
    check('agreements_linkage_check', sql`${t.linkage} in ('pseudonymous', 'identified')`),
    check('agreements_window_check', sql`${t.validTo} > ${t.validFrom}`),
    // Maker-checker: the one who drafted signs for neither party, and one person never signs twice.
    check('agreements_maker_checker', sql`${t.signedABy} is distinct from ${t.madeBy} and ${t.signedBBy} is distinct from ${t.madeBy} and (${t.signedABy} is null or ${t.signedABy} is distinct from ${t.signedBBy})`),
    check('agreements_key_check', sql`octet_length(${t.linkKey}) = 32`),
  ],
);

/**
 * A registry slice exported under an agreement: its manifest. The bytes are kept (in chunks, below) only
 * until `expires_at`; after that they are purged and the file cannot be downloaded again.
 */
export const exchangeExports = pgTable(
  'exchange_exports',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    agreementId: uuid('agreement_id')
      .notNull()
      .references(() => agreements.id),
    source: text('source').notNull(),
    recipient: text('recipient').notNull(),
    format: text('format').notNull(),
    fields: text('fields').array().notNull(),
    jurisdiction: text('jurisdiction').notNull(),
    rows: bigint('rows', { mode: 'number' }).notNull(),
    bytes: bigint('bytes', { mode: 'number' }).notNull(),
    sha256: text('sha256').notNull(),
    madeBy: text('made_by').notNull(),
    madeAt: timestamp('made_at', { withTimezone: true }).notNull(),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
    /** Whether Madad keeps the bytes to download (an HTTP export) or only the manifest (written by the CLI). */
    kept: text('kept').notNull(),
    purgedAt: timestamp('purged_at', { withTimezone: true }),
  },
  (t) => [index('exchange_exports_agreement_idx').on(t.agreementId), check('exchange_exports_format_check', sql`${t.format} in ('csv', 'ndjson')`)],
);

export const exchangeExportChunks = pgTable(
  'exchange_export_chunks',
  {
    exportId: uuid('export_id')
      .notNull()
      .references(() => exchangeExports.id),
    seq: integer('seq').notNull(),
    bytes: bytea('bytes').notNull(),
  },
  (t) => [primaryKey({ columns: [t.exportId, t.seq] })],
);

/** A file received under an agreement (payments, a change set): once per agreement, kind and sha256. */
export const exchangeImports = pgTable(
  'exchange_imports',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    agreementId: uuid('agreement_id')
      .notNull()
      .references(() => agreements.id),
    kind: text('kind').notNull(),
    sha256: text('sha256').notNull(),
    rows: integer('rows').notNull(),
    matched: integer('matched').notNull(),
    madeBy: text('made_by').notNull(),
    madeAt: timestamp('made_at', { withTimezone: true }).notNull(),
  },
  (t) => [uniqueIndex('exchange_imports_once_idx').on(t.agreementId, t.kind, t.sha256), check('exchange_imports_kind_check', sql`${t.kind} in ('payments', 'changes')`)],
);

/**
 * A payment another programme made outside Madad, received under an agreement: it holds the household's
 * reservation for its incident and purpose, so a batch nets it off ("paid by that programme").
 * `household` and `dedup_key` are null when the linkage key matched none of our households.
 */
export const externalPayments = pgTable(
  'external_payments',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    importId: uuid('import_id')
      .notNull()
      .references(() => exchangeImports.id),
    agreementId: uuid('agreement_id')
      .notNull()
      .references(() => agreements.id),
    rowNo: integer('row_no').notNull(),
    linkageKey: text('linkage_key').notNull(),
    household: bigint('household', { mode: 'number' }),
    dedupKey: text('dedup_key'),
    incident: text('incident').notNull(),
    purpose: text('purpose').notNull(),
    programme: text('programme').notNull(),
    amountPkr: integer('amount_pkr').notNull(),
    paidAt: timestamp('paid_at', { withTimezone: true }).notNull(),
    reference: text('reference').notNull(),
  },
  (t) => [
    uniqueIndex('external_payments_row_idx').on(t.importId, t.rowNo),
    index('external_payments_incident_idx').on(t.incident, t.purpose),
    check('external_payments_amount_check', sql`${t.amountPkr} > 0`),
  ],
);

/** A provincial survey's changes to households, staged under an agreement until a federal officer decides. */
export const changeSets = pgTable('change_sets', {
  id: uuid('id').primaryKey().defaultRandom(),
  importId: uuid('import_id')
    .notNull()
    .references(() => exchangeImports.id),
  agreementId: uuid('agreement_id')
    .notNull()
    .references(() => agreements.id),
  /** The registry changed (e.g. NSER) and who sent the changes (e.g. SSPA). */
  target: text('target').notNull(),
  sender: text('sender').notNull(),
  jurisdiction: text('jurisdiction').notNull(),
  madeBy: text('made_by').notNull(),
  madeAt: timestamp('made_at', { withTimezone: true }).notNull(),
});

/** One household of a change set: its field-by-field diff and the decision on it. */
export const changeSetRows = pgTable(
  'change_set_rows',
  {
    changeSetId: uuid('change_set_id')
      .notNull()
      .references(() => changeSets.id),
    rowNo: integer('row_no').notNull(),
    household: bigint('household', { mode: 'number' }).notNull(),
    area: text('area').notNull(),
    /** {field: {before, after}} for the fields that differ when staged. */
    changes: jsonb('changes').notNull(),
    /** null (waiting), `merged` or `refused`. */
    decision: text('decision'),
    decidedBy: text('decided_by'),
    decidedAt: timestamp('decided_at', { withTimezone: true }),
    reason: text('reason'),
  },
  (t) => [
    primaryKey({ columns: [t.changeSetId, t.rowNo] }),
    check('change_set_rows_decision_check', sql`${t.decision} is null or ${t.decision} in ('merged', 'refused')`),
  ],
);

/** Which source last changed a household's field through a joint update, and when. */
export const householdFieldSources = pgTable(
  'household_field_sources',
  {
    household: bigint('household', { mode: 'number' }).notNull(),
    field: text('field').notNull(),
    source: text('source').notNull(),
    changeSetId: uuid('change_set_id')
      .notNull()
      .references(() => changeSets.id),
    changedAt: timestamp('changed_at', { withTimezone: true }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.household, t.field] })],
);
