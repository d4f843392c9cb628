import { asc, eq, inArray, sql, type SQL } from 'drizzle-orm';
import type { Rule } from '../../triggers/index.ts';
import { pkrText } from '../../triggers/money-text.ts';
import { hasRole } from '../access/principal.ts';
import { recordAudit } from '../audit/service.ts';
import { withTransaction, type Ctx } from '../context.ts';
import { queryRows, type Db, type Tx } from '../db/client.ts';
import { budgetAmendments, budgetLines } from '../db/schema/index.ts';
import { ConflictError, ForbiddenError, NotFoundError } from '../errors.ts';
import { actorOf } from '../access/principal.ts';

export type BudgetLineRow = typeof budgetLines.$inferSelect;

/** A payer's jurisdiction as a user's: federal and donor money is signed for federally (`PK`). */
export function signingJurisdiction(payerJurisdiction: string): string {
  return /^PK[1-7]$/.test(payerJurisdiction) ? payerJurisdiction : 'PK';
}

export interface BudgetFigures {
  ceilingPkr: number;
  /** Held by live lines of batches not yet released for this payer. */
  committedPkr: number;
  releasedPkr: number;
  /** Ceiling less committed and released: what a new batch may still take. */
  headroomPkr: number;
}

/**
 * Committed and released of budget lines, summed from the batches' lines and releases (nothing stored twice):
 * committed is the payer's share of every live line of a payment batch not cancelled and not yet released by
 * that payer; released is what that payer's releases took, less the shares of lines cancelled since (a stop
 * the bank confirmed gives the money back to the budget).
 */
export async function budgetFigures(db: Db | Tx, ids: readonly string[]): Promise<Map<string, BudgetFigures>> {
  if (ids.length === 0) return new Map();
  const list = sql.join(ids.map((id) => sql`${id}::uuid`), sql`, `);
  const rows = await queryRows<{ id: string; ceiling: string; committed: string; released: string }>(
    db as Db,
    sql`
      select bl.id, bl.ceiling_pkr::text as ceiling,
        coalesce((select sum(${payerShare(sql`p`, 'live')})
          from batch_payers p join batches b on b.id = p.batch_id
          where p.budget_line_id = bl.id and p.released_at is null and b.kind = 'payment' and b.status <> 'cancelled'), 0)::text as committed,
        ${released} as released
      from budget_lines bl where bl.id in (${list})`,
  );
  return new Map(
    rows.map((r) => {
      const ceilingPkr = Number(r.ceiling);
      const committedPkr = Number(r.committed);
      const releasedPkr = Number(r.released);
      return [r.id, { ceilingPkr, committedPkr, releasedPkr, headroomPkr: Math.max(0, ceilingPkr - committedPkr - releasedPkr) }];
    }),
  );
}

/** Released of budget lines (as `budgetFigures` sums it), without committed: what a release checks. */
export async function releasedFigures(db: Db | Tx, ids: readonly string[]): Promise<Map<string, { ceilingPkr: number; releasedPkr: number }>> {
  if (ids.length === 0) return new Map();
  const list = sql.join(ids.map((id) => sql`${id}::uuid`), sql`, `);
  const rows = await queryRows<{ id: string; ceiling: string; released: string }>(
    db as Db,
    sql`select bl.id, bl.ceiling_pkr::text as ceiling, ${released} as released from budget_lines bl where bl.id in (${list})`,
  );
  return new Map(rows.map((r) => [r.id, { ceilingPkr: Number(r.ceiling), releasedPkr: Number(r.released) }]));
}

/**
 * The share of payer `p` (a `batch_payers` row in the query) in its batch's lines in `state`. Summed over
 * the lines of that one batch, each line's share found by the payer's position in it (a line the payer is
 * not in adds null, which the sum leaves out). Asked per payer row, so the lines are read by the batch's
 * key and summed as they come; joined to the payer rows instead, millions of lines were first gathered
 * (written to disk) and then summed, three to four times slower.
 */
function payerShare(p: SQL, state: 'live' | 'cancelled'): SQL {
  return sql`(select sum(l.shares_pkr[array_position(l.payer_idx, ${p}.idx)]) from batch_lines l where l.batch_id = ${p}.batch_id and l.state = ${state})`;
}

/** What the payers' releases took from budget line `bl`, less the shares of lines cancelled since. */
const released = sql`(coalesce((select sum(p.released_pkr) from batch_payers p where p.budget_line_id = bl.id and p.released_at is not null), 0)
          - coalesce((select sum(${payerShare(sql`p`, 'cancelled')}) from batch_payers p where p.budget_line_id = bl.id and p.released_at is not null), 0))::text`;

/**
 * The budget line of each concrete payer of a rule, opened on first use with the payer's share of the rule's
 * `funding.ceiling_pkr` (a payer standing for "the household's province" gets that share for each province;
 * finance amends a line to the figure agreed). Returns the lines by `agency|jurisdiction`.
 */
export async function ensureBudgetLines(
  tx: Tx,
  ctx: Ctx,
  rule: Rule,
  payers: readonly { agency: string; jurisdiction: string; share_bp: number }[],
): Promise<Map<string, BudgetLineRow>> {
  const wanted = payers.filter((p) => p.jurisdiction !== 'province-unknown');
  if (wanted.length > 0) {
    const opened = await tx
      .insert(budgetLines)
      .values(
        wanted.map((p) => ({
          ruleId: rule.id,
          programme: rule.programme,
          agency: p.agency,
          jurisdiction: p.jurisdiction,
          // In BigInt: past about PKR 1 trillion, ceiling × share_bp is no longer exact as a double, and its floor could be a rupee over.
          ceilingPkr: Number((BigInt(rule.funding.ceiling_pkr) * BigInt(p.share_bp)) / 10000n),
          openedAt: ctx.now,
          openedBy: actorOf(ctx.actor),
        })),
      )
      .onConflictDoNothing()
      .returning();
    for (const line of opened)
      await recordAudit(tx, ctx, {
        action: 'budget.opened',
        subject: `budget:${line.id}`,
        jurisdiction: signingJurisdiction(line.jurisdiction),
        summary: { budgetLineId: line.id, ruleId: line.ruleId, agency: line.agency, jurisdiction: line.jurisdiction, ceilingPkr: line.ceilingPkr },
      });
  }
  const rows = await tx.select().from(budgetLines).where(eq(budgetLines.ruleId, rule.id));
  return new Map(rows.map((r) => [`${r.agency}|${r.jurisdiction}`, r]));
}

/** Budget lines the actor may see: federal sees all, a province only the lines its own finance officers sign for. */
export async function listBudgets(ctx: Ctx) {
  const rows = await ctx.db.select().from(budgetLines).orderBy(asc(budgetLines.ruleId), asc(budgetLines.agency), asc(budgetLines.jurisdiction));
  const visible = rows.filter((r) => ctx.actor.jurisdiction === 'PK' || signingJurisdiction(r.jurisdiction) === ctx.actor.jurisdiction);
  const figures = await budgetFigures(ctx.db, visible.map((r) => r.id));
  const amendments = visible.length
    ? await ctx.db.select().from(budgetAmendments).where(inArray(budgetAmendments.budgetLineId, visible.map((r) => r.id))).orderBy(asc(budgetAmendments.madeAt))
    : [];
  return visible.map((r) => ({ ...r, ...figures.get(r.id)!, amendments: amendments.filter((a) => a.budgetLineId === r.id) }));
}

export interface AmendInput {
  id: string;
  ceilingPkr: number;
  reason: string;
  reference: string;
}

/**
 * Changes a budget line's ceiling, by a finance officer of the payer's jurisdiction, with a reason and a
 * reference (the 2022 ceiling went from PKR 28 bn to 70 bn mid-response). The line is locked, so no release
 * runs between the check and the change; a ceiling below what is already released is refused.
 */
export async function amendBudget(ctx: Ctx, input: AmendInput) {
  return withTransaction(ctx, async (t) => {
    const [line] = await t.tx.select().from(budgetLines).where(eq(budgetLines.id, input.id)).for('update');
    const jurisdiction = line ? signingJurisdiction(line.jurisdiction) : '';
    if (!line || !(ctx.actor.jurisdiction === 'PK' || ctx.actor.jurisdiction === jurisdiction)) throw new NotFoundError(`No budget line ${input.id}.`);
    if (!hasRole(ctx.actor, 'finance_officer') || ctx.actor.jurisdiction !== jurisdiction)
      throw new ForbiddenError(`Only a finance officer of ${jurisdiction} may amend the ${line.agency} budget line of ${line.ruleId}.`);
    const figures = (await budgetFigures(t.tx, [line.id])).get(line.id)!;
    if (input.ceilingPkr < figures.releasedPkr)
      throw new ConflictError(
        `The ceiling cannot go below what is already released (${pkrText(figures.releasedPkr)}); ${pkrText(input.ceilingPkr)} was asked. Amend to at least ${pkrText(figures.releasedPkr)}.`,
        { releasedPkr: figures.releasedPkr },
      );
    const [amendment] = await t.tx
      .insert(budgetAmendments)
      .values({
        budgetLineId: line.id,
        ceilingBeforePkr: line.ceilingPkr,
        ceilingAfterPkr: input.ceilingPkr,
        reason: input.reason,
        reference: input.reference,
        madeBy: actorOf(ctx.actor),
        madeAt: ctx.now,
      })
      .returning();
    await t.tx.update(budgetLines).set({ ceilingPkr: input.ceilingPkr }).where(eq(budgetLines.id, line.id));
    await recordAudit(t.tx, t, {
      action: 'budget.amended',
      subject: `budget:${line.id}`,
      jurisdiction,
      summary: { budgetLineId: line.id, ruleId: line.ruleId, agency: line.agency, before: line.ceilingPkr, after: input.ceilingPkr, reason: input.reason, reference: input.reference },
    });
    return { ...line, ...figures, ceilingPkr: input.ceilingPkr, headroomPkr: Math.max(0, input.ceilingPkr - figures.committedPkr - figures.releasedPkr), amendment: amendment! };
  });
}
