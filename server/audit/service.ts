import { and, asc, desc, eq, gt, gte, lte, sql, type SQL } from 'drizzle-orm';
import { actorOf, scopeCondition, type Principal } from '../access/principal.ts';
import { withTransaction, type Ctx } from '../context.ts';
import type { Db, Tx } from '../db/client.ts';
import { auditLog } from '../db/schema/index.ts';
import { chainStart, entryHash, GENESIS_HASH, storableFields, verifyChain, type ChainCheck } from './chain.ts';

/** What a verb says about its change; who, when and which request come from its context. */
export interface AuditEntry {
  action: string;
  subject: string;
  /** The jurisdiction (P-code prefix) the entry concerns. */
  jurisdiction: string;
  /** What changed: `{ before, after }`, or what was read; never secrets. */
  summary: Record<string, unknown>;
}

/**
 * Appends one entry, chained to the last, inside the transaction that makes the change (the `Tx` type
 * makes that a compile-time rule), so a change and its audit entry land together or not at all. Actor,
 * time and request id come from `ctx`. The advisory lock orders concurrent appends.
 */
export function recordAudit(tx: Tx, ctx: Ctx, entry: AuditEntry): Promise<void> {
  return recordAudits(tx, ctx, [entry]);
}

/**
 * Appends several entries of one change in order, each chained to the one before, under one lock and in
 * one insert: the chain is the same as `recordAudit` once per entry would make (a body of 500 alerts makes
 * 500 entries). The rows of one multi-row insert take their `seq` in the order they are listed.
 */
export async function recordAudits(tx: Tx, ctx: Ctx, entries: readonly AuditEntry[]): Promise<void> {
  if (entries.length === 0) return;
  // The read of the last entry is sent with the lock: the server runs it after the lock is granted, so it
  // sees every entry committed before, in one round trip instead of two.
  const [, [last]] = await Promise.all([
    tx.execute(sql`select pg_advisory_xact_lock(hashtext('audit_log'))`),
    tx.select({ hash: auditLog.hash }).from(auditLog).orderBy(desc(auditLog.seq)).limit(1),
  ]);
  let prevHash = last?.hash ?? GENESIS_HASH;
  const rows = entries.map((entry) => {
    // Made storable once, before hashing, and stored as made: what PostgreSQL returns hashes the same.
    const fields = storableFields({
      at: ctx.now,
      actor: actorOf(ctx.actor),
      action: entry.action,
      subject: entry.subject,
      jurisdiction: entry.jurisdiction,
      summary: entry.summary,
      requestId: ctx.requestId ?? null,
    });
    const hash = entryHash(prevHash, fields);
    const row = { ...fields, at: ctx.now, prevHash, hash };
    prevHash = hash;
    return row;
  });
  // In parts of a bounded size, in order, so each part's rows take the next `seq` values.
  for (let i = 0; i < rows.length; i += 100) await tx.insert(auditLog).values(rows.slice(i, i + 100));
}

/** Appends in the caller's transaction or one of its own, for what changes nothing else (a read, a failed login). */
export function recordAuditAlone(ctx: Ctx, entry: AuditEntry): Promise<void> {
  return withTransaction(ctx, (t) => recordAudit(t.tx, t, entry));
}

export interface AuditFilter {
  action?: string;
  actor?: string;
  subject?: string;
  from?: Date;
  to?: Date;
  page: number;
  pageSize: number;
}

export async function listAudit(db: Db, principal: Principal, filter: AuditFilter) {
  const conditions: SQL[] = [scopeCondition(auditLog.jurisdiction, principal)];
  if (filter.action) conditions.push(eq(auditLog.action, filter.action));
  if (filter.actor) conditions.push(eq(auditLog.actor, filter.actor));
  if (filter.subject) conditions.push(eq(auditLog.subject, filter.subject));
  if (filter.from) conditions.push(gte(auditLog.at, filter.from));
  if (filter.to) conditions.push(lte(auditLog.at, filter.to));
  const where = and(...conditions);
  const [rows, [count]] = await Promise.all([
    db
      .select()
      .from(auditLog)
      .where(where)
      .orderBy(desc(auditLog.seq))
      .limit(filter.pageSize)
      .offset((filter.page - 1) * filter.pageSize),
    db.select({ n: sql<number>`count(*)::int` }).from(auditLog).where(where),
  ]);
  return {
    total: count?.n ?? 0,
    items: rows.map((r) => ({ ...r, at: r.at.toISOString() })),
  };
}

/** Checks the whole chain in pages, so a long trail never sits in memory at once, and names every broken link. */
export async function verifyAudit(db: Db, pageSize = 5000): Promise<ChainCheck> {
  let state = chainStart();
  let after = 0;
  for (;;) {
    const rows = await db.select().from(auditLog).where(gt(auditLog.seq, after)).orderBy(asc(auditLog.seq)).limit(pageSize);
    if (rows.length === 0) return { ok: state.brokenCount === 0, entries: state.entries, broken: state.broken, brokenCount: state.brokenCount };
    state = verifyChain(rows, state);
    after = rows.at(-1)!.seq;
  }
}
