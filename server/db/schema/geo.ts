import { sql } from 'drizzle-orm';
import { bigint, bigserial, boolean, date, doublePrecision, index, jsonb, pgTable, real, smallint, text, timestamp, uniqueIndex } from 'drizzle-orm/pg-core';

/**
 * The gazetteer: administrative areas by OCHA P-code, versioned. A changed geometry closes the current
 * version (valid_to) and opens a new one, so decisions keep pointing at the boundary they were made on.
 */
export const areas = pgTable(
  'areas',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    code: text('code').notNull(),
    name: text('name').notNull(),
    /** Normalised name for forgiving lookup ("D.G. Khan" = "Dera Ghazi Khan"). */
    nameKey: text('name_key').notNull(),
    /** 0 country, 1 province, 2 district, 3 tehsil, 4 union council. */
    level: smallint('level').notNull(),
    parentCode: text('parent_code'),
    geometry: jsonb('geometry').notNull(),
    /** [minLon, minLat, maxLon, maxLat] */
    bbox: real('bbox').array().notNull(),
    geometryHash: text('geometry_hash').notNull(),
    population: bigint('population', { mode: 'number' }),
    source: text('source').notNull(),
    validFrom: date('valid_from').notNull(),
    validTo: date('valid_to'),
    importedAt: timestamp('imported_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex('areas_current_code_idx').on(t.code).where(sql`valid_to is null`),
    index('areas_level_idx').on(t.level),
    index('areas_parent_idx').on(t.parentCode),
    index('areas_name_key_idx').on(t.nameKey),
  ],
);

/**
 * Registry households (NSER, PSER, …). Identity columns (cnic, head_name, phone, payment_account) are read
 * only by services that check the caller's role and audit the read. Points are indexed by H3 cell and area
 * codes; there is no PostGIS.
 */
export const households = pgTable(
  'households',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    source: text('source').notNull(),
    householdId: text('household_id').notNull(),
    cnic: text('cnic').notNull(),
    headName: text('head_name').notNull(),
    phone: text('phone'),
    lat: doublePrecision('lat').notNull(),
    lon: doublePrecision('lon').notNull(),
    /** H3 cell at resolution 8, as a signed 64-bit integer; read into the in-memory index, not queried by SQL. */
    h3: bigint('h3', { mode: 'bigint' }).notNull(),
    province: text('province'),
    district: text('district'),
    tehsil: text('tehsil'),
    size: smallint('size').notNull(),
    pmt: real('pmt').notNull(),
    femaleHeaded: boolean('female_headed').notNull(),
    hasDisabled: boolean('has_disabled').notNull(),
    hasElderly: boolean('has_elderly').notNull(),
    childrenUnder5: boolean('children_under5').notNull(),
    enrolments: text('enrolments').array().notNull(),
    paymentChannel: text('payment_channel'),
    paymentAccount: text('payment_account'),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex('households_source_id_idx').on(t.source, t.householdId),
    // One index serves lists by area and by jurisdiction: P-codes nest by prefix (PK7 ⊃ PK703 ⊃ PK70301),
    // so both are a prefix range on the household's finest area code (fewer indexes: a faster import).
    index('households_area_idx').on(sql`(coalesce(${t.tehsil}, ${t.district}, ${t.province}, 'PK')) text_pattern_ops`),
  ],
);
