import { and, asc, eq, inArray } from 'drizzle-orm';
import { hasRole } from '../access/principal.ts';
import { within } from '../access/scope.ts';
import { recordAudit } from '../audit/service.ts';
import { withTransaction, type Ctx } from '../context.ts';
import { changeSetRows, changeSets, exchangeImports, households, householdFieldSources, settings } from '../db/schema/index.ts';
import { ConflictError, ForbiddenError, NotFoundError, ValidationError } from '../errors.ts';
import { agreementInForce, getAgreement, shareOf } from './agreements.ts';
import { CHANGEABLE_FIELDS, LINKAGE_KEY, type ChangeableField } from './fields.ts';
import { earlierImport, matchLinkageKeys, Problems, readReceived } from './received.ts';

type Value = number | boolean;
export type Diff = Partial<Record<ChangeableField, { before: Value; after: Value }>>;

const FIELD_NAMES = Object.keys(CHANGEABLE_FIELDS) as ChangeableField[];
const BOOLEAN = new Set<ChangeableField>(['female_headed', 'has_disabled', 'has_elderly', 'children_under5']);

function readValue(field: ChangeableField, text: string): Value | string {
  if (BOOLEAN.has(field)) return text === '1' || text === 'true' ? true : text === '0' || text === 'false' ? false : 'expected 0 or 1 (or true, false)';
  const n = Number(text);
  if (field === 'household_size') return /^\d+$/.test(text) && n >= 1 && n <= 50 ? n : 'expected a whole number of members, 1 to 50';
  return /^\d+(\.\d+)?$/.test(text) && n >= 0 && n <= 100 ? n : 'expected a PMT score from 0 to 100';
}

/** A household's current values of the changeable fields, as a change set compares them. */
function valuesOf(h: typeof households.$inferSelect): Record<ChangeableField, Value> {
  return {
    household_size: h.size,
    pmt_score: Math.round(h.pmt * 10) / 10,
    female_headed: h.femaleHeaded,
    has_disabled: h.hasDisabled,
    has_elderly: h.hasElderly,
    children_under5: h.childrenUnder5,
  };
}

export interface ChangeSetReport {
  changeSetId: string;
  already: boolean;
  rows: number;
  staged: number;
  unchanged: number;
}

/**
 * Stages a provincial survey's changes to the households of a registry it received under an agreement
 * (the declaration's joint NSER update): a CSV of `agreement, linkage_key` and the changed fields, each one
 * the agreement shares and a survey may change. Every row is checked first (the agreement, the key's form
 * and match within the agreement's jurisdiction, each value); any problem refuses the file with row, column
 * and reason, and nothing is staged. Rows that change nothing are not kept.
 */
export async function stageChangeSet(ctx: Ctx, input: { agreementId: string; source?: string; text: string }): Promise<ChangeSetReport> {
  return withTransaction(ctx, async (t) => {
    const a = await agreementInForce(t.tx, t, input.agreementId, 'send changes under it');
    const share = shareOf(a, input.source);
    if (t.actor.kind !== 'system' && t.actor.agency !== share.to)
      throw new ForbiddenError(`Changes to ${share.source} come from ${share.to}, which received it under this agreement.`);
    const allowed = FIELD_NAMES.filter((f) => (share.fields as string[]).includes(f));
    const file = readReceived(input.text, ['agreement', 'linkage_key'], allowed, 'change set');
    const before = await earlierImport(t.tx, a.id, 'changes', file.sha256);
    if (before) {
      const [cs] = await t.tx.select().from(changeSets).where(eq(changeSets.importId, before.id));
      return { changeSetId: cs!.id, already: true, rows: before.rows, staged: before.matched, unchanged: before.rows - before.matched };
    }
    const at = (c: string) => file.header.indexOf(c);
    const fields = allowed.filter((f) => file.header.includes(f));
    const problems = new Problems();
    const seen = new Set<string>();
    const rows: { row: number; key: string; values: Partial<Record<ChangeableField, Value>> }[] = [];
    for (const r of file.records) {
      const get = (c: string) => (r.fields[at(c)] ?? '').trim();
      if (get('agreement') !== a.id) problems.add(r.line, 'agreement', `this row belongs to agreement ${get('agreement') || '(none)'}, not to ${a.id} it was sent under`);
      const key = get('linkage_key');
      if (!LINKAGE_KEY.test(key)) problems.add(r.line, 'linkage_key', 'expected 43 base64url characters: HMAC-SHA256 of the head\u2019s CNIC under the agreement\u2019s key');
      else if (seen.has(key)) problems.add(r.line, 'linkage_key', 'the same household appears twice in the change set');
      seen.add(key);
      const values: Partial<Record<ChangeableField, Value>> = {};
      for (const f of fields) {
        const text = get(f);
        if (text === '') continue;
        const v = readValue(f, text);
        if (typeof v === 'string') problems.add(r.line, f, v);
        else values[f] = v;
      }
      rows.push({ row: r.line, key, values });
    }
    if (file.records.length === 0) problems.add(2, 'linkage_key', 'the change set holds no households');
    problems.refuse('change set');

    const matches = await matchLinkageKeys(t.tx, a.linkKey, a.jurisdiction, new Set(rows.map((r) => r.key)), share.source);
    for (const r of rows)
      if (!matches.has(r.key)) problems.add(r.row, 'linkage_key', `no ${share.source} household within ${a.jurisdiction} has this linkage key (it is outside the agreement\u2019s jurisdiction, or unknown)`);
    problems.refuse('change set');

    const ids = [...matches.values()].map((m) => m.id);
    const current = new Map<number, typeof households.$inferSelect>();
    for (let i = 0; i < ids.length; i += 5000) for (const h of await t.tx.select().from(households).where(inArray(households.id, ids.slice(i, i + 5000)))) current.set(h.id, h);
    const staged: { rowNo: number; household: number; area: string; changes: Diff }[] = [];
    for (const r of rows) {
      const m = matches.get(r.key)!;
      const now = valuesOf(current.get(m.id)!);
      const diff: Diff = {};
      for (const [f, v] of Object.entries(r.values) as [ChangeableField, Value][]) if (now[f] !== v) diff[f] = { before: now[f], after: v };
      if (Object.keys(diff).length) staged.push({ rowNo: r.row, household: m.id, area: m.area, changes: diff });
    }
    const [imp] = await t.tx
      .insert(exchangeImports)
      .values({ agreementId: a.id, kind: 'changes', sha256: file.sha256, rows: rows.length, matched: staged.length, madeBy: `${t.actor.kind}:${t.actor.name}`, madeAt: t.now })
      .returning();
    const [cs] = await t.tx
      .insert(changeSets)
      .values({ importId: imp!.id, agreementId: a.id, target: share.source, sender: share.to, jurisdiction: a.jurisdiction, madeBy: `${t.actor.kind}:${t.actor.name}`, madeAt: t.now })
      .returning();
    for (let i = 0; i < staged.length; i += 1000) await t.tx.insert(changeSetRows).values(staged.slice(i, i + 1000).map((s) => ({ changeSetId: cs!.id, ...s })));
    await recordAudit(t.tx, t, {
      action: 'exchange.changes_staged',
      subject: `change-set:${cs!.id}`,
      jurisdiction: a.jurisdiction,
      summary: { agreement: a.id, target: share.source, sender: share.to, sha256: file.sha256, rows: rows.length, staged: staged.length, fields },
    });
    return { changeSetId: cs!.id, already: false, rows: rows.length, staged: staged.length, unchanged: rows.length - staged.length };
  });
}

/** A change set with its field-by-field diff per household, for the parties to its agreement. */
export async function getChangeSet(ctx: Ctx, id: string) {
  const [cs] = await ctx.db.select().from(changeSets).where(eq(changeSets.id, id));
  if (!cs) throw new NotFoundError(`No change set ${id}.`);
  await getAgreement(ctx, cs.agreementId).catch(() => {
    throw new NotFoundError(`No change set ${id}.`);
  });
  const rows = await ctx.db
    .select({ rowNo: changeSetRows.rowNo, householdId: households.householdId, area: changeSetRows.area, changes: changeSetRows.changes, decision: changeSetRows.decision, decidedBy: changeSetRows.decidedBy, decidedAt: changeSetRows.decidedAt, reason: changeSetRows.reason })
    .from(changeSetRows)
    .innerJoin(households, eq(households.id, changeSetRows.household))
    .where(eq(changeSetRows.changeSetId, id))
    .orderBy(asc(changeSetRows.rowNo));
  return { changeSet: cs, rows: rows.map((r) => ({ ...r, changes: r.changes as Diff })) };
}

export interface Decision {
  row: number;
  decision: 'merge' | 'refuse';
  reason?: string | undefined;
}

/**
 * An officer of the registry's keeper over the agreement's jurisdiction (for NSER, BISP's federal officers) merges or refuses a change set's households, each on its own.
 * A merge writes the new values and records, per field, which source changed it and when; a household
 * changed since the set was staged is refused as a whole (nothing applied) so the officer sees it again.
 */
export async function decideChangeSet(ctx: Ctx, id: string, decisions: Decision[]) {
  return withTransaction(ctx, async (t) => {
    const [cs] = await t.tx.select().from(changeSets).where(eq(changeSets.id, id)).for('update');
    if (!cs) throw new NotFoundError(`No change set ${id}.`);
    const a = await agreementInForce(t.tx, t, cs.agreementId, 'decide its change sets').catch((e) => {
      if (e instanceof NotFoundError) throw new NotFoundError(`No change set ${id}.`);
      throw e;
    });
    const share = shareOf(a, cs.target);
    if (t.actor.kind !== 'system' && (t.actor.agency !== share.from || !within(a.jurisdiction, t.actor.jurisdiction) || !hasRole(t.actor, 'program_manager')))
      throw new ForbiddenError(`A programme manager of ${share.from}, which keeps ${cs.target}, over all of ${a.jurisdiction} (for NSER: a federal officer) decides its changes.`);
    const rows = await t.tx.select().from(changeSetRows).where(eq(changeSetRows.changeSetId, id));
    const byRow = new Map(rows.map((r) => [r.rowNo, r]));
    const problems: { field: string; message: string }[] = [];
    const seen = new Set<number>();
    for (const [i, d] of decisions.entries()) {
      const r = byRow.get(d.row);
      if (!r) problems.push({ field: `decisions.${i}.row`, message: `the change set has no row ${d.row}` });
      else if (r.decision) problems.push({ field: `decisions.${i}.row`, message: `row ${d.row} was already ${r.decision}` });
      if (seen.has(d.row)) problems.push({ field: `decisions.${i}.row`, message: `row ${d.row} is decided twice` });
      seen.add(d.row);
    }
    if (problems.length) throw new ValidationError('The decisions cannot be applied; nothing was.', problems);
    let merged = 0;
    let refused = 0;
    for (const d of decisions) {
      const r = byRow.get(d.row)!;
      const diff = r.changes as Diff;
      if (d.decision === 'merge') {
        const [h] = await t.tx.select().from(households).where(eq(households.id, r.household)).for('update');
        const now = valuesOf(h!);
        const moved = (Object.entries(diff) as [ChangeableField, { before: Value }][]).filter(([f, c]) => now[f] !== c.before).map(([f]) => f);
        if (moved.length) throw new ConflictError(`Row ${d.row}: the household's ${moved.join(', ')} changed since the set was staged; nothing was applied. Refuse it and ask for a new change set.`);
        const set: Record<string, unknown> = { updatedAt: t.now };
        const to = { household_size: 'size', pmt_score: 'pmt', female_headed: 'femaleHeaded', has_disabled: 'hasDisabled', has_elderly: 'hasElderly', children_under5: 'childrenUnder5' } as const;
        for (const [f, c] of Object.entries(diff) as [ChangeableField, { after: Value }][]) set[to[f]] = c.after;
        await t.tx.update(households).set(set).where(eq(households.id, r.household));
        for (const f of Object.keys(diff))
          await t.tx
            .insert(householdFieldSources)
            .values({ household: r.household, field: f, source: `${cs.sender} (agreement ${a.id})`, changeSetId: id, changedAt: t.now })
            .onConflictDoUpdate({ target: [householdFieldSources.household, householdFieldSources.field], set: { source: `${cs.sender} (agreement ${a.id})`, changeSetId: id, changedAt: t.now } });
        merged++;
      } else refused++;
      await t.tx
        .update(changeSetRows)
        .set({ decision: d.decision === 'merge' ? 'merged' : 'refused', decidedBy: `${t.actor.kind}:${t.actor.name}`, decidedAt: t.now, reason: d.reason ?? null })
        .where(and(eq(changeSetRows.changeSetId, id), eq(changeSetRows.rowNo, d.row)));
    }
    // Every server reloads its registry in memory: merged values count in the next caseload.
    if (merged) {
      const value = `${t.now.getTime()}-${Math.random().toString(36).slice(2, 8)}`;
      await t.tx.insert(settings).values({ key: 'registry_version', value }).onConflictDoUpdate({ target: settings.key, set: { value, updatedAt: t.now } });
    }
    await recordAudit(t.tx, t, {
      action: 'exchange.changes_decided',
      subject: `change-set:${id}`,
      jurisdiction: cs.jurisdiction,
      summary: { merged, refused, rows: decisions.map((d) => ({ row: d.row, decision: d.decision, fields: Object.keys(byRow.get(d.row)!.changes as object) })) },
    });
    return { merged, refused, waiting: rows.filter((r) => !r.decision && !seen.has(r.rowNo)).length };
  });
}

/** Which source last changed each field of a household by a joint update (empty: the registry's own import). */
export async function fieldSources(ctx: Ctx, household: number) {
  return ctx.db.select().from(householdFieldSources).where(eq(householdFieldSources.household, household)).orderBy(asc(householdFieldSources.field));
}


