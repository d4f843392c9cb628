import { and, asc, eq, inArray, sql } from 'drizzle-orm';
import { pkrText } from '../../triggers/index.ts';
import { actorOf, hasRole } from '../access/principal.ts';
import { batchScope } from '../access/scope.ts';
import { recordAudit } from '../audit/service.ts';
import { withTransaction, type Ctx } from '../context.ts';
import { queryRows, type Db } from '../db/client.ts';
import { activations, batches, batchPayers, budgetLines } from '../db/schema/index.ts';
import { ConflictError, ForbiddenError, NotFoundError } from '../errors.ts';
import { enqueue } from '../outbox/enqueue.ts';
import { releasedFigures, signingJurisdiction } from './budgets.ts';
import type { BatchRow } from './build.ts';

/**
 * Releases the shares of an approved batch that the actor's jurisdiction pays, by a finance officer of that
 * jurisdiction. Each share's budget line is locked (`select … for update`, in id order so two releases never
 * wait on each other crosswise), and the share is refused with the shortfall when the ceiling in force, less
 * what is already released, cannot hold it. The batch is `released` once every share is, `partly_released`
 * before. Concurrent releases against one budget line queue on its lock, so together they never pass its ceiling.
 */
export async function releaseBatch(ctx: Ctx, input: { id: string }): Promise<BatchRow> {
  return withTransaction(ctx, async (t) => {
    const [b] = await t.tx.select().from(batches).where(and(eq(batches.id, input.id), batchScope.where(t.actor))).for('update');
    if (!b) throw new NotFoundError(`No batch ${input.id}.`);
    if (!hasRole(t.actor, 'finance_officer')) throw new ForbiddenError('Only a finance officer may release a batch.');
    if (b.status !== 'approved' && b.status !== 'partly_released')
      throw new ConflictError(`Batch ${b.id} is ${b.status.replace('_', ' ')}: only an approved batch is released.`);
    // Shared lock: a stop of the activation waits for this release, or this release sees the stop.
    const [activation] = await t.tx.select({ status: activations.status, reason: activations.stoppedReason }).from(activations).where(eq(activations.id, b.activationId)).for('share');
    if (activation?.status !== 'active')
      throw new ConflictError(`The activation of batch ${b.id} stopped (${activation?.reason ?? 'stopped'}): nothing more of it is released.`);
    const payers = await t.tx.select().from(batchPayers).where(eq(batchPayers.batchId, b.id)).orderBy(asc(batchPayers.idx));
    const mine = payers.filter((p) => signingJurisdiction(p.jurisdiction) === t.actor.jurisdiction && p.releasedAt === null);
    if (mine.length === 0) {
      const open = payers.filter((p) => p.releasedAt === null).map((p) => `${p.agency} (${signingJurisdiction(p.jurisdiction)})`);
      throw (payers.some((p) => signingJurisdiction(p.jurisdiction) === t.actor.jurisdiction)
        ? new ConflictError(`Your share of batch ${b.id} is already released; ${open.length ? `it waits for ${open.join(', ')}` : 'nothing is left to release'}.`)
        : new ForbiddenError(`Batch ${b.id} is paid by ${payers.map((p) => `${p.agency} (${signingJurisdiction(p.jurisdiction)})`).join(', ')}; a finance officer of ${t.actor.jurisdiction} has no share to release.`));
    }
    const unplaced = mine.find((p) => p.budgetLineId === null);
    if (unplaced) throw new ConflictError(`Batch ${b.id} has lines whose province is unknown (${unplaced.agency} share): place those households in the registry and rebuild before release.`);

    const ids = [...new Set(mine.map((p) => p.budgetLineId!))].sort();
    const locked = await t.tx.select().from(budgetLines).where(inArray(budgetLines.id, ids)).orderBy(asc(budgetLines.id)).for('update');
    const figures = await releasedFigures(t.tx, ids);
    const shares = await sharesOf(t.tx as unknown as Db, b.id, mine.map((p) => p.idx));
    const taking = new Map<string, number>();
    for (const p of mine) taking.set(p.budgetLineId!, (taking.get(p.budgetLineId!) ?? 0) + (shares.get(p.idx) ?? 0));
    for (const line of locked) {
      const f = figures.get(line.id)!;
      const want = taking.get(line.id) ?? 0;
      const room = line.ceilingPkr - f.releasedPkr;
      if (want > room)
        throw new ConflictError(
          `Releasing ${pkrText(want)} from the ${line.agency} budget line of ${line.ruleId} would pass its ceiling of ${pkrText(line.ceilingPkr)}: ${pkrText(f.releasedPkr)} is already released, so ${pkrText(room)} is left and ${pkrText(want - room)} is missing. Amend the ceiling (POST /api/budgets/${line.id}/amend) or cancel lines.`,
          { budgetLineId: line.id, ceilingPkr: line.ceilingPkr, releasedPkr: f.releasedPkr, requestedPkr: want, shortfallPkr: want - room },
        );
    }
    for (const p of mine)
      await t.tx
        .update(batchPayers)
        .set({ releasedBy: actorOf(t.actor), releasedAt: t.now, releasedPkr: shares.get(p.idx) ?? 0 })
        .where(and(eq(batchPayers.batchId, b.id), eq(batchPayers.idx, p.idx)));
    const all = payers.every((p) => p.releasedAt !== null || mine.includes(p));
    const [row] = await t.tx.update(batches).set({ status: all ? 'released' : 'partly_released', updatedAt: t.now }).where(eq(batches.id, b.id)).returning();
    // The instructions (one per live line) are made after this commits, by the outbox: a release stays quick.
    if (all) await enqueue(t, 'batch.released', { batchId: b.id });
    await recordAudit(t.tx, t, {
      action: 'batch.released',
      subject: `batch:${b.id}`,
      jurisdiction: b.jurisdiction,
      summary: {
        batchId: b.id,
        ruleId: b.ruleId,
        shares: mine.map((p) => ({ agency: p.agency, jurisdiction: p.jurisdiction, budgetLineId: p.budgetLineId, amountPkr: shares.get(p.idx) ?? 0 })),
        status: row!.status,
        linesSha256: b.linesSha256,
      },
    });
    return row!;
  });
}

/** Each payer's share of a batch's live lines, by payer position: one pass over the lines for all payers. */
export async function sharesOf(db: Db, batchId: string, idx?: readonly number[]): Promise<Map<number, number>> {
  const payers = idx ?? (await queryRows<{ idx: number }>(db, sql`select idx::int as idx from batch_payers where batch_id = ${batchId}::uuid`)).map((p) => p.idx);
  if (payers.length === 0) return new Map();
  // A line the payer is not in adds null (no position), which the sum leaves out.
  const sums = sql.join(
    payers.map((p) => sql`coalesce(sum(l.shares_pkr[array_position(l.payer_idx, ${p}::smallint)]), 0)::text`),
    sql`, `,
  );
  const [row] = await queryRows<{ pkr: string[] }>(db, sql`select array[${sums}] as pkr from batch_lines l where l.batch_id = ${batchId}::uuid and l.state = 'live'`);
  return new Map(payers.map((p, i) => [p, Number(row!.pkr[i])]));
}
