import { and, asc, eq, sql } from 'drizzle-orm';
import { approvalTier, type Rule } from '../../triggers/index.ts';
import { actorOf, hasRole, type Actor } from '../access/principal.ts';
import { batchScope } from '../access/scope.ts';
import { recordAudit } from '../audit/service.ts';
import { withTransaction, type Ctx, type TxCtx } from '../context.ts';
import { batchApprovals, batches, batchLines, batchPayers, ruleVersions } from '../db/schema/index.ts';
import { ConflictError, ForbiddenError, NotFoundError } from '../errors.ts';
import { signingJurisdiction } from './budgets.ts';
import { freeReservations, rowCount } from './reservations.ts';
import type { BatchRow } from './build.ts';

/** One signature a round needs: a role, from a jurisdiction, by a deadline. */
export interface Step {
  step: number;
  role: string;
  jurisdiction: string;
  dueAt: string;
}

export interface ApprovalPolicy {
  /** How long a step may wait before it shows as overdue (MADAD_APPROVAL_HOURS). */
  stepHours: number;
}

export const DEFAULT_APPROVAL_POLICY: ApprovalPolicy = { stepHours: 24 };

/** The PostgreSQL error code behind a failed statement (drizzle wraps the driver's error in `cause`). */
export function pgCode(err: unknown): string | undefined {
  const e = err as { code?: string; cause?: { code?: string } };
  return e?.cause?.code ?? e?.code;
}

/**
 * The steps of a round: the rule's tier for the batch total decides the roles; `jurisdiction: payer` asks a
 * signer of each payer's jurisdiction for each role (a co-financed Sindh batch: a federal and a Sindh
 * programme manager), `federal` one federal signer per role, `province` one of the batch's province.
 */
export function stepsFor(rule: Rule, batch: Pick<BatchRow, 'totalPkr' | 'jurisdiction'>, payerJurisdictions: readonly string[], now: Date, policy: ApprovalPolicy) {
  const tier = approvalTier(rule.approvals, batch.totalPkr);
  const province = /^PK[1-7]/.test(batch.jurisdiction) ? batch.jurisdiction.slice(0, 3) : 'PK';
  const jurisdictions =
    tier.jurisdiction === 'payer' ? [...new Set(payerJurisdictions.map(signingJurisdiction))] : tier.jurisdiction === 'federal' ? ['PK'] : [province];
  const dueAt = new Date(now.getTime() + policy.stepHours * 3600_000).toISOString();
  const steps: Step[] = [];
  for (const role of tier.roles) for (const jurisdiction of jurisdictions) steps.push({ step: steps.length + 1, role, jurisdiction, dueAt });
  return { tier: tier.text, steps };
}

async function lockBatch(t: TxCtx, id: string): Promise<BatchRow> {
  const [row] = await t.tx.select().from(batches).where(and(eq(batches.id, id), batchScope.where(t.actor))).for('update');
  if (!row) throw new NotFoundError(`No batch ${id}.`);
  return row;
}

/**
 * The jurisdictions that pay a batch, in payer order. A batch without lines has no payers of its own: its
 * rule's payers stand in (one for "the household's province" as the batch's province), so its programme
 * managers can still cancel it, and its submission is refused for paying nothing, not for want of a manager.
 */
async function payerJurisdictionsOf(t: TxCtx, b: BatchRow): Promise<string[]> {
  const own = await t.tx.select({ jurisdiction: batchPayers.jurisdiction }).from(batchPayers).where(eq(batchPayers.batchId, b.id)).orderBy(asc(batchPayers.idx));
  if (own.length > 0) return own.map((p) => p.jurisdiction);
  const [version] = await t.tx.select({ parsed: ruleVersions.parsed }).from(ruleVersions).where(eq(ruleVersions.id, b.ruleVersionId));
  const province = /^PK[1-7]/.test(b.jurisdiction) ? b.jurisdiction.slice(0, 3) : 'PK';
  return (version!.parsed as Rule).funding.payers.map((p) => (p.jurisdiction === 'household-province' ? province : p.jurisdiction));
}

function requireManager(actor: Actor, what: string, jurisdictions: readonly string[]) {
  if (!hasRole(actor, 'program_manager')) throw new ForbiddenError(`Only a programme manager may ${what} a batch.`);
  const allowed = jurisdictions.map(signingJurisdiction);
  if (!allowed.includes(actor.jurisdiction))
    throw new ForbiddenError(`Only a programme manager of the batch's payers (${[...new Set(allowed)].join(', ')}) may ${what} it; you act for ${actor.jurisdiction}.`);
}

/**
 * Refuses an actor who is not a programme manager of one of the batch's payers (the check of submit and
 * cancel), for other verbs that act on a batch, such as a rebuild.
 */
export async function requireBatchManager(t: TxCtx, b: BatchRow, what: string): Promise<void> {
  requireManager(t.actor, what, await payerJurisdictionsOf(t, b));
}

const audit = (t: TxCtx, action: string, b: BatchRow, summary: Record<string, unknown>) =>
  recordAudit(t.tx, t, { action, subject: `batch:${b.id}`, jurisdiction: b.jurisdiction, summary: { batchId: b.id, ruleId: b.ruleId, ...summary } });

/** Sends a draft for approval: the round's steps are fixed now, from the tier its total falls in. */
export async function submitBatch(ctx: Ctx, input: { id: string }, policy: ApprovalPolicy = DEFAULT_APPROVAL_POLICY): Promise<BatchRow> {
  return withTransaction(ctx, async (t) => {
    const b = await lockBatch(t, input.id);
    const payers = await payerJurisdictionsOf(t, b);
    requireManager(t.actor, 'submit', payers);
    if (b.status !== 'draft') throw new ConflictError(`Batch ${b.id} is ${b.status}: only a draft is submitted.`);
    if (b.totalPkr === 0) throw new ConflictError(`Batch ${b.id} pays nothing (every line was netted off, dropped or cut): there is nothing to approve.`);
    const [version] = await t.tx.select({ parsed: ruleVersions.parsed }).from(ruleVersions).where(eq(ruleVersions.id, b.ruleVersionId));
    const { tier, steps } = stepsFor(version!.parsed as Rule, b, payers, t.now, policy);
    const [row] = await t.tx
      .update(batches)
      .set({ status: 'submitted', submittedBy: actorOf(t.actor), submittedAt: t.now, round: b.round + 1, steps, statusReason: null, updatedAt: t.now })
      .where(eq(batches.id, b.id))
      .returning();
    await audit(t, 'batch.submitted', row!, { round: row!.round, totalPkr: b.totalPkr, linesSha256: b.linesSha256, tier, steps });
    return row!;
  });
}

/**
 * Signs the next step of the round the actor may sign. The database refuses a signature by the submitter
 * (a check on the row, with the submitter copied from the locked batch) and a second signature by one user
 * in a round (a unique index); these checks here only give the refusal its words.
 */
export async function approveBatch(ctx: Ctx, input: { id: string; comment: string; linesSha256?: string }): Promise<BatchRow> {
  return withTransaction(ctx, async (t) => {
    const b = await lockBatch(t, input.id);
    if (b.status !== 'submitted') throw new ConflictError(`Batch ${b.id} is ${b.status}: only a submitted batch is approved.`);
    if (input.linesSha256 && input.linesSha256 !== b.linesSha256)
      throw new ConflictError(`The lines changed since you read them: the batch's sha256 is ${b.linesSha256}, you approved ${input.linesSha256}. Read it again.`);
    const me = actorOf(t.actor);
    if (b.submittedBy === me) throw new ForbiddenError(`You submitted batch ${b.id}; another programme manager must approve it (maker-checker).`);
    const signed = await t.tx.select().from(batchApprovals).where(and(eq(batchApprovals.batchId, b.id), eq(batchApprovals.round, b.round)));
    if (signed.some((s) => s.signedBy === me)) throw new ConflictError(`You already signed batch ${b.id} in this round; one person signs a batch once.`);
    const steps = (b.steps as Step[]) ?? [];
    const open = steps.filter((s) => !signed.some((x) => x.step === s.step));
    const mine = open.find((s) => t.actor.roles.includes(s.role as never) && t.actor.jurisdiction === s.jurisdiction);
    if (!mine)
      throw new ForbiddenError(
        `Batch ${b.id} waits for ${open.map((s) => `a ${s.role} of ${s.jurisdiction}`).join(' and ')}; you are ${t.actor.roles.join(', ')} of ${t.actor.jurisdiction}.`,
      );
    try {
      await t.tx.execute(sql`
        insert into batch_approvals (batch_id, round, step, decision, signed_by, submitted_by, role, jurisdiction, comment, lines_sha256, signed_at)
        select id, round, ${mine.step}, 'approve', ${me}, submitted_by, ${mine.role}, ${mine.jurisdiction}, ${input.comment}, lines_sha256, ${t.now.toISOString()}::timestamptz
        from batches where id = ${b.id}::uuid`);
    } catch (err) {
      if (pgCode(err) === '23505' || pgCode(err) === '23514') throw new ConflictError(`The database refused the signature: ${me} may not sign batch ${b.id} again or as its submitter.`);
      throw err;
    }
    const done = open.length === 1;
    const [row] = done ? await t.tx.update(batches).set({ status: 'approved', updatedAt: t.now }).where(eq(batches.id, b.id)).returning() : [b];
    await audit(t, 'batch.approved', row!, { round: b.round, step: mine, comment: input.comment, linesSha256: b.linesSha256, approved: done, waiting: open.length - 1 });
    return row!;
  });
}

/** Sends a submitted batch back to draft with a reason; the next submission starts a new round. */
export async function rejectBatch(ctx: Ctx, input: { id: string; reason: string }): Promise<BatchRow> {
  return withTransaction(ctx, async (t) => {
    const b = await lockBatch(t, input.id);
    if (b.status !== 'submitted') throw new ConflictError(`Batch ${b.id} is ${b.status}: only a submitted batch is rejected.`);
    const steps = (b.steps as Step[]) ?? [];
    const me = actorOf(t.actor);
    const signer = steps.find((s) => t.actor.roles.includes(s.role as never) && t.actor.jurisdiction === s.jurisdiction);
    if (!signer) throw new ForbiddenError(`Only a signer of batch ${b.id} (${steps.map((s) => `${s.role} of ${s.jurisdiction}`).join(', ')}) may reject it.`);
    if (b.submittedBy === me) throw new ForbiddenError(`You submitted batch ${b.id}; to withdraw it, ask a signer to reject it or cancel it.`);
    try {
      await t.tx.execute(sql`
        insert into batch_approvals (batch_id, round, step, decision, signed_by, submitted_by, role, jurisdiction, comment, lines_sha256, signed_at)
        select id, round, null, 'reject', ${me}, submitted_by, ${signer.role}, ${signer.jurisdiction}, ${input.reason}, lines_sha256, ${t.now.toISOString()}::timestamptz
        from batches where id = ${b.id}::uuid`);
    } catch (err) {
      if (pgCode(err) === '23505') throw new ConflictError(`You already signed batch ${b.id} in this round; one person signs a batch once.`);
      throw err;
    }
    const [row] = await t.tx.update(batches).set({ status: 'draft', steps: null, statusReason: `rejected by ${me}: ${input.reason}`, updatedAt: t.now }).where(eq(batches.id, b.id)).returning();
    await audit(t, 'batch.rejected', row!, { round: b.round, reason: input.reason });
    return row!;
  });
}

/**
 * Cancels a batch before any of it is released: its live lines are cancelled and their reservations freed.
 * A batch with a released share is left to the payments work (its money is on the way).
 */
export async function cancelBatch(ctx: Ctx, input: { id: string; reason: string }): Promise<BatchRow> {
  return withTransaction(ctx, async (t) => {
    const b = await lockBatch(t, input.id);
    if (t.actor.kind !== 'system') requireManager(t.actor, 'cancel', await payerJurisdictionsOf(t, b));
    return cancelLocked(t, b, input.reason);
  });
}

/** Cancels a locked batch (the caller checked who may); refused once a share is released. */
export async function cancelLocked(t: TxCtx, b: BatchRow, reason: string): Promise<BatchRow> {
  if (b.status === 'cancelled') throw new ConflictError(`Batch ${b.id} is already cancelled.`);
  if (b.status === 'partly_released' || b.status === 'released')
    throw new ConflictError(`Batch ${b.id} is ${b.status.replace('_', ' ')}: released money is stopped through its payments, not by cancelling the batch.`);
  const freed = await freeReservations(t, b);
  const cancelled = rowCount(await t.tx.update(batchLines).set({ state: 'cancelled' }).where(and(eq(batchLines.batchId, b.id), eq(batchLines.state, 'live'))));
  const [row] = await t.tx.update(batches).set({ status: 'cancelled', statusReason: reason, updatedAt: t.now }).where(eq(batches.id, b.id)).returning();
  await audit(t, 'batch.cancelled', row!, { reason, linesCancelled: cancelled, reservationsFreed: freed, from: b.status });
  return row!;
}
