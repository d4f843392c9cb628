import { sql, type AnyColumn, type SQL } from 'drizzle-orm';
import { alerts, batches, events, households } from '../db/schema/index.ts';
import type { Actor } from './principal.ts';

/**
 * Which events, alerts, areas and households an actor may see, written once. Each rule exists in two
 * forms built from one definition: `where` for queries (scoping lives in SQL, so a list never loads what
 * it may not show) and `allows` for a row already in hand. `test/access/scope.test.ts` checks on random
 * codes that both forms agree. Out of scope reads as "not found" (404), never "forbidden": the caller may
 * not learn that the thing exists.
 */
export interface Visibility<Row> {
  where(actor: Pick<Actor, 'jurisdiction'>): SQL;
  allows(actor: Pick<Actor, 'jurisdiction'>, row: Row): boolean;
}

/** A P-code lies within a jurisdiction when it starts with it (`PK703` within `PK7`; P-codes nest by prefix). */
export function within(code: string, jurisdiction: string): boolean {
  return code.startsWith(jurisdiction);
}

/**
 * Codes touch a jurisdiction when one lies within it or contains it: a Sindh officer sees a federal event
 * that names Sindh districts, and a district officer sees a province-wide event. Matching the row's own
 * jurisdiction as a prefix was rejected: a PK event over Punjab and KP would then show in Sindh.
 */
export function touches(codes: readonly string[], jurisdiction: string): boolean {
  return codes.some((c) => c.startsWith(jurisdiction) || jurisdiction.startsWith(c));
}

/** Rows whose array column of area codes touches the actor's jurisdiction. */
function touching<Row>(column: AnyColumn, codesOf: (row: Row) => readonly string[]): Visibility<Row> {
  return {
    where: ({ jurisdiction: j }) => sql`exists (select 1 from unnest(${column}) as c where starts_with(c, ${j}) or starts_with(${j}, c))`,
    allows: ({ jurisdiction: j }, row) => touches(codesOf(row), j),
  };
}

/** `like` pattern for "starts with `prefix`", so a text_pattern_ops index serves it as a range. */
export const prefixPattern = (prefix: string) => `${prefix.replace(/[\\%_]/g, '\\$&')}%`;

/** Rows whose one area code (a text expression) lies within the actor's jurisdiction. */
function inside<Row>(expression: SQL, codeOf: (row: Row) => string): Visibility<Row> {
  return {
    where: ({ jurisdiction: j }) => sql`${expression} like ${prefixPattern(j)}`,
    allows: ({ jurisdiction: j }, row) => within(codeOf(row), j),
  };
}

/** Rows whose column equals `value`, for everyone. */
function whenEquals<Row>(column: AnyColumn, value: string, valueOf: (row: Row) => string): Visibility<Row> {
  return {
    where: () => sql`${column} = ${value}`,
    allows: (_, row) => valueOf(row) === value,
  };
}

/** Everything, for a federal actor (jurisdiction `PK`). */
function federal<Row>(): Visibility<Row> {
  return {
    where: ({ jurisdiction: j }) => (j === 'PK' ? sql`true` : sql`false`),
    allows: ({ jurisdiction: j }) => j === 'PK',
  };
}

function anyOf<Row>(...rules: Visibility<Row>[]): Visibility<Row> {
  return {
    where: (actor) => sql`(${sql.join(rules.map((r) => sql`(${r.where(actor)})`), sql` or `)})`,
    allows: (actor, row) => rules.some((r) => r.allows(actor, row)),
  };
}

/** Events: everyone whose jurisdiction they touch. */
export const eventScope: Visibility<{ areaCodes: readonly string[] }> = touching(events.areaCodes, (e) => e.areaCodes);

/**
 * Alerts: public warnings (CAP `scope` Public, which is every feed we know) to everyone signed in; a
 * Restricted or Private message (CAP 1.2 §3.2.1: for users with an operational requirement, or named
 * addressees) only where its areas touch the actor's jurisdiction, and federally.
 */
export const alertScope: Visibility<{ scope: string; areaCodes: readonly string[] }> = anyOf(
  whenEquals(alerts.scope, 'Public', (a) => a.scope),
  touching(alerts.areaCodes, (a) => a.areaCodes),
  federal(),
);

/**
 * Batches: where their areas (the decision's and the districts of their lines) touch the actor's
 * jurisdiction, and federally. A Sindh officer sees a federal batch with Sindh lines (the totals it is
 * shown are of its Sindh lines only: server/batches/service.ts), never a Punjab batch.
 */
export const batchScope: Visibility<{ areaCodes: readonly string[] }> = anyOf(touching(batches.areaCodes, (b) => b.areaCodes), federal());

/**
 * Where a household counts for scoping and lists: its finest area code (unlocated households are federal
 * only). Indexed with text_pattern_ops, so "inside area X" is a prefix range on it.
 */
export const householdArea = sql`coalesce(${households.tehsil}, ${households.district}, ${households.province}, 'PK')`;

type HouseholdCodes = { province: string | null; district: string | null; tehsil: string | null };
const finestCode = (h: HouseholdCodes) => h.tehsil ?? h.district ?? h.province ?? 'PK';

/** Households: those whose finest area lies within the actor's jurisdiction. */
export const householdScope: Visibility<HouseholdCodes> = inside(householdArea, finestCode);

/** Areas an actor acts on (declares an event over, creates a user or token for): those within its jurisdiction. */
export function areaInScope(actor: Pick<Actor, 'jurisdiction'>, code: string): boolean {
  return within(code, actor.jurisdiction);
}
