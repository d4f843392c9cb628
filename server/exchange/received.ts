import { createHash } from 'node:crypto';
import { and, eq } from 'drizzle-orm';
import { householdArea, prefixPattern } from '../access/scope.ts';
import { queryRows, type Db, type Tx } from '../db/client.ts';
import { exchangeImports } from '../db/schema/index.ts';
import { ValidationError, type FieldProblem } from '../errors.ts';
import { CsvReader } from '../registry/csv.ts';
import { sql } from 'drizzle-orm';
import { linkageKeys } from './fields.ts';

/** At most this many problems are listed; the file is refused whole either way. */
export const MAX_PROBLEMS = 100;

/** A file received under an agreement, read: its header, its records with their lines, its sha256. */
export interface ReceivedFile {
  header: string[];
  records: { fields: string[]; line: number }[];
  sha256: string;
}

/** Reads a received CSV whose header must hold `required` (and may hold `optional`); a wrong header is refused at row 1. */
export function readReceived(text: string, required: readonly string[], optional: readonly string[] = [], what: string): ReceivedFile {
  const reader = new CsvReader();
  const all = [...reader.push(text), ...reader.end()];
  const header = (all[0]?.fields ?? []).map((h) => h.trim());
  const missing = required.filter((c) => !header.includes(c));
  const unknown = header.filter((c) => !required.includes(c) && !optional.includes(c));
  if (missing.length || unknown.length || all.length === 0)
    throw new ValidationError(`The ${what} has the wrong header; nothing was applied.`, [
      ...missing.map((c) => ({ field: `row 1.${c}`, message: 'missing column' })),
      ...unknown.map((c) => ({ field: `row 1.${c}`, message: `not a column of a ${what}${optional.length ? ` under this agreement (allowed: ${[...required, ...optional].join(', ')})` : ` (expected ${required.join(',')})`}` })),
    ]);
  return { header, records: all.slice(1), sha256: createHash('sha256').update(text).digest('hex') };
}

/** Collects row problems and refuses the file whole with them. */
export class Problems {
  readonly list: FieldProblem[] = [];
  add(row: number, column: string, message: string) {
    if (this.list.length < MAX_PROBLEMS) this.list.push({ field: `row ${row}.${column}`, message });
    else if (this.list.length === MAX_PROBLEMS) this.list.push({ field: 'file', message: 'more problems follow; correct these first' });
  }
  get count() {
    return this.list.length;
  }
  refuse(what: string) {
    if (this.list.length) throw new ValidationError(`The ${what} has ${this.list.length} problem${this.list.length === 1 ? '' : 's'}; nothing was applied.`, this.list);
  }
}

/** The earlier import of the same bytes under the same agreement and kind, if any: a file is applied once. */
export async function earlierImport(tx: Tx, agreementId: string, kind: 'payments' | 'changes', sha256: string) {
  const [row] = await tx.select().from(exchangeImports).where(and(eq(exchangeImports.agreementId, agreementId), eq(exchangeImports.kind, kind), eq(exchangeImports.sha256, sha256)));
  return row;
}

export interface Matched {
  id: number;
  cnic: string;
  area: string;
}

/**
 * Our households behind the linkage keys `wanted`: the agreement's HMAC of each household's head CNIC in
 * its jurisdiction (of one registry, or of any), page by page; only the matches are kept. Where a family is
 * listed in two registries, the first listing (lowest id) stands for it.
 */
export async function matchLinkageKeys(db: Db | Tx, key: Buffer, jurisdiction: string, wanted: ReadonlySet<string>, source?: string): Promise<Map<string, Matched>> {
  const out = new Map<string, Matched>();
  if (wanted.size === 0) return out;
  const keyOf = linkageKeys(key);
  const bySource = source ? sql`and source = ${source}` : sql``;
  const [span] = await queryRows<{ lo: string | number | null; hi: string | number | null }>(db as Db, sql`select min(id) as lo, max(id) as hi from households`);
  const hi = Number(span?.hi ?? 0);
  // Ranges of ids by the primary key, as an export reads them.
  for (let after = Number(span?.lo ?? 1) - 1; after < hi && out.size < wanted.size; after += 50_000) {
    const rows = await queryRows<{ id: number | string; cnic: string; area: string }>(
      db as Db,
      sql`select id, cnic, ${householdArea} as area from households where id > ${after} and id <= ${after + 50_000} and ${householdArea} like ${prefixPattern(jurisdiction)} ${bySource} order by id`,
    );
    for (const r of rows) {
      const k = keyOf(r.cnic);
      if (wanted.has(k) && !out.has(k)) out.set(k, { id: Number(r.id), cnic: r.cnic, area: r.area });
    }
  }
  return out;
}
