import { and, desc, eq, isNull, max, sql } from 'drizzle-orm';
import { actorOf, hasRole, type Actor } from '../access/principal.ts';
import { batchScope } from '../access/scope.ts';
import { recordAudit } from '../audit/service.ts';
import { maskAccount } from '../batches/service.ts';
import { withTransaction, type Ctx, type TxCtx } from '../context.ts';
import { batches, batchLines, paymentInstructions, reissues } from '../db/schema/index.ts';
import { ConflictError, ForbiddenError, NotFoundError, ValidationError } from '../errors.ts';
import { pgCode } from '../batches/approvals.ts';
import { payersOf } from './files.ts';
import { instructionIdSql } from './instructions.ts';
import type { Channel } from './layouts.ts';

export type ReissueRow = typeof reissues.$inferSelect;

/** What an account must look like for its channel: an IBAN for a bank, a Pakistani mobile number for a wallet. */
const ACCOUNT_FORMS: Partial<Record<Channel, { pattern: RegExp; example: string }>> = {
  bank_transfer: { pattern: /^PK\d{2}[A-Z]{4}[0-9A-Z]{16}$/, example: 'PK36SCBL0000001123456702' },
  mobile_wallet: { pattern: /^03\d{9}$/, example: '03001234567' },
};

function requireManagerOf(actor: Actor, payers: { signedFor: string; agency: string }[], what: string) {
  if (!hasRole(actor, 'program_manager') || !payers.some((p) => p.signedFor === actor.jurisdiction))
    throw new ForbiddenError(`Only a programme manager of the batch's payers (${[...new Set(payers.map((p) => p.signedFor))].join(', ')}) may ${what}.`);
}

async function visibleInstruction(t: TxCtx, id: string) {
  const [i] = await t.tx.select().from(paymentInstructions).where(eq(paymentInstructions.id, id));
  const [b] = i ? await t.tx.select().from(batches).where(and(eq(batches.id, i.batchId), batchScope.where(t.actor))) : [];
  if (!i || !b) throw new NotFoundError(`No payment instruction ${id}.`);
  return { instruction: i, batch: b };
}

export interface ReissueInput {
  instructionId: string;
  channel?: Channel | undefined;
  account?: string | undefined;
  reason: string;
}

/**
 * Asks to pay a failed or unclaimed line again: a new attempt through the same or another channel and
 * account. A second programme manager decides (approveReissue). Refused while another attempt of the line
 * is in flight or paid, or while a request for it is open.
 */
export async function requestReissue(ctx: Ctx, input: ReissueInput): Promise<ReissueRow> {
  return withTransaction(ctx, async (t) => {
    const { instruction: i, batch } = await visibleInstruction(t, input.instructionId);
    requireManagerOf(t.actor, await payersOf(t.tx, batch.id), 'ask for a payment to be made again');
    if (i.state !== 'failed' && i.state !== 'unclaimed')
      throw new ConflictError(`Instruction ${i.id} is ${i.state.replace('_', ' ')}: only a failed or unclaimed payment is made again.`);
    const [line] = await t.tx.select().from(batchLines).where(and(eq(batchLines.batchId, i.batchId), eq(batchLines.lineNo, i.lineNo)));
    if (line?.state !== 'live') throw new ConflictError(`Line ${i.lineNo} of batch ${i.batchId} is ${line?.state ?? 'gone'}: it is not paid again.`);
    const attempts = await t.tx.select().from(paymentInstructions).where(and(eq(paymentInstructions.batchId, i.batchId), eq(paymentInstructions.lineNo, i.lineNo)));
    const busy = attempts.find((a) => a.id !== i.id && ['released', 'exported', 'cancel_requested', 'paid'].includes(a.state));
    if (busy) throw new ConflictError(`Line ${i.lineNo} already has attempt ${busy.id}, ${busy.state.replace('_', ' ')}: it is not paid again.`);
    if (attempts.some((a) => a.attempt > i.attempt)) throw new ConflictError(`Instruction ${i.id} is not the line's latest attempt; ask for the latest.`);
    const channel = input.channel ?? (i.channel as Channel);
    const account = channel === 'biometric_cash' ? null : (input.account ?? (channel === i.channel ? i.account : null));
    const form = ACCOUNT_FORMS[channel];
    if (form && !(account && form.pattern.test(account)))
      throw new ValidationError(`A ${channel.replace('_', ' ')} needs an account such as ${form.example}.`, [{ field: 'body.account', message: `expected an account such as ${form.example}` }]);
    let row: ReissueRow;
    try {
      [row] = (await t.tx
        .insert(reissues)
        .values({
          batchId: i.batchId,
          lineNo: i.lineNo,
          instructionId: i.id,
          fromChannel: i.channel,
          fromAccount: i.account,
          channel,
          account,
          reason: input.reason,
          requestedBy: actorOf(t.actor),
          requestedAt: t.now,
        })
        .returning()) as [ReissueRow];
    } catch (err) {
      if (pgCode(err) === '23505') throw new ConflictError(`A request to pay line ${i.lineNo} again is already open; decide that one first.`);
      throw err;
    }
    await recordAudit(t.tx, t, {
      action: 'payments.reissue_requested',
      subject: `payment-instruction:${i.id}`,
      jurisdiction: batch.jurisdiction,
      summary: { reissueId: row.id, instructionId: i.id, from: { channel: i.channel, account: mask(i.account) }, to: { channel, account: mask(account) }, reason: input.reason },
    });
    return row;
  });
}

const mask = (account: string | null) => (account ? maskAccount(account) : null);

/**
 * Approves a request to pay again, by a programme manager who did not make it (the database refuses the
 * maker as checker): the line's next attempt is made, released, for the amount already released. No new
 * money, no new release; the next export puts it in a file.
 */
export async function approveReissue(ctx: Ctx, input: { id: string; comment: string }) {
  return decide(ctx, input.id, 'approved', input.comment);
}

/** Refuses a request to pay again, with the reason; the line stays failed or unclaimed. */
export async function rejectReissue(ctx: Ctx, input: { id: string; reason: string }) {
  return decide(ctx, input.id, 'rejected', input.reason);
}

async function decide(ctx: Ctx, id: string, decision: 'approved' | 'rejected', comment: string): Promise<ReissueRow> {
  return withTransaction(ctx, async (t) => {
    const [r] = await t.tx.select().from(reissues).where(eq(reissues.id, id)).for('update');
    const [b] = r ? await t.tx.select().from(batches).where(and(eq(batches.id, r.batchId), batchScope.where(t.actor))) : [];
    if (!r || !b) throw new NotFoundError(`No request ${id} to pay again.`);
    requireManagerOf(t.actor, await payersOf(t.tx, b.id), 'decide a request to pay again');
    if (r.decision) throw new ConflictError(`Request ${id} was already ${r.decision} by ${r.decidedBy}.`);
    const me = actorOf(t.actor);
    if (r.requestedBy === me) throw new ForbiddenError(`You asked for this payment to be made again; another programme manager must decide (maker-checker).`);
    let newId: string | null = null;
    if (decision === 'approved') {
      const [old] = await t.tx.select().from(paymentInstructions).where(eq(paymentInstructions.id, r.instructionId));
      const [{ last } = { last: 0 }] = await t.tx
        .select({ last: max(paymentInstructions.attempt) })
        .from(paymentInstructions)
        .where(and(eq(paymentInstructions.batchId, r.batchId), eq(paymentInstructions.lineNo, r.lineNo)));
      const attempt = (last ?? 0) + 1;
      try {
        const [made] = await t.tx
          .insert(paymentInstructions)
          .values({
            id: sql`${instructionIdSql(r.batchId, sql`${r.lineNo}`, sql`${attempt}`)}` as unknown as string,
            batchId: r.batchId,
            lineNo: r.lineNo,
            attempt,
            channel: r.channel,
            account: r.account,
            amountPkr: old!.amountPkr,
            state: 'released',
            createdAt: t.now,
            updatedAt: t.now,
          })
          .returning({ id: paymentInstructions.id });
        newId = made!.id;
      } catch (err) {
        if (pgCode(err) === '23505') throw new ConflictError(`Line ${r.lineNo} already has an attempt in flight; it is not paid again.`);
        throw err;
      }
    }
    const [row] = await t.tx
      .update(reissues)
      .set({ decision, decidedBy: me, decidedAt: t.now, comment, newInstructionId: newId })
      .where(and(eq(reissues.id, r.id), isNull(reissues.decision)))
      .returning();
    await recordAudit(t.tx, t, {
      action: decision === 'approved' ? 'payments.reissue_approved' : 'payments.reissue_rejected',
      subject: `payment-instruction:${r.instructionId}`,
      jurisdiction: b.jurisdiction,
      summary: { reissueId: r.id, instructionId: r.instructionId, newInstructionId: newId, requestedBy: r.requestedBy, comment },
    });
    return row!;
  });
}

/** Requests to pay again in the reader's scope, newest first, with the old and the new account side by side (masked). */
export async function listReissues(ctx: Ctx, q: { open?: boolean | undefined; id?: string | undefined }) {
  const rows = await ctx.db
    .select({ r: reissues })
    .from(reissues)
    .innerJoin(batches, eq(batches.id, reissues.batchId))
    .where(and(batchScope.where(ctx.actor), q.open ? isNull(reissues.decision) : undefined, q.id ? eq(reissues.id, q.id) : undefined))
    .orderBy(desc(reissues.requestedAt));
  return rows.map(({ r }) => ({
    id: r.id,
    batchId: r.batchId,
    lineNo: r.lineNo,
    instructionId: r.instructionId,
    from: { channel: r.fromChannel, account: mask(r.fromAccount) },
    to: { channel: r.channel, account: mask(r.account) },
    accountChanged: r.fromChannel !== r.channel || r.fromAccount !== r.account,
    reason: r.reason,
    requestedBy: r.requestedBy,
    requestedAt: r.requestedAt.toISOString(),
    decision: r.decision as 'approved' | 'rejected' | null,
    decidedBy: r.decidedBy,
    decidedAt: r.decidedAt?.toISOString() ?? null,
    comment: r.comment,
    newInstructionId: r.newInstructionId,
  }));
}
