import { createHash } from 'node:crypto';
import { and, asc, eq, max, sql } from 'drizzle-orm';
import { hasRole, type Actor } from '../access/principal.ts';
import { batchScope } from '../access/scope.ts';
import { recordAudit, recordAuditAlone } from '../audit/service.ts';
import { signingJurisdiction } from '../batches/budgets.ts';
import { withTransaction, type Ctx, type TxCtx } from '../context.ts';
import { queryRows, type Db, type Tx } from '../db/client.ts';
import { batches, batchPayers, paymentFiles } from '../db/schema/index.ts';
import { ConflictError, ForbiddenError, NotFoundError } from '../errors.ts';
import { issueInstructions } from './instructions.ts';
import { messagesFor } from './messages.ts';
import { CHANNELS, csvLine, headerLine, LAYOUTS, trailerLine, type Channel, type InstructionLine } from './layouts.ts';

export type PaymentFileRow = typeof paymentFiles.$inferSelect;

/** Instructions read per query while a file is written. */
const PAGE = 50_000;

/**
 * Which instructions a file holds: those already in it (a payment file, or a cancellation file asking the
 * bank to stop them), or, for a file being made, the channel's instructions waiting for one.
 */
export type Selection =
  | { fileId: string; kind: FileKind }
  | { batchId: string; channel: Channel; kind: 'payment' }
  | { batchId: string; channel: Channel; kind: 'cancellation' };
export type FileKind = 'payment' | 'cancellation';

/**
 * A cancellation file: the references the bank is asked to stop, whatever the channel. Only frozen fields:
 * the instruction's reason changes with the bank's answer, and the file must come back byte for byte.
 */
export const CANCELLATION_COLUMNS = ['reference', 'amount_pkr'] as const;

/**
 * The lines of a file, in instruction order, page by page: the file is streamed, never held whole. The
 * same instructions always give the same bytes (the order, the fields and their encoding are fixed).
 */
export async function* fileText(db: Db | Tx, which: Selection, channel: Channel): AsyncGenerator<string> {
  const layout = LAYOUTS[channel];
  const cancelling = which.kind === 'cancellation';
  yield cancelling ? csvLine(CANCELLATION_COLUMNS) : headerLine(channel);
  let count = 0;
  let total = 0;
  let after = '';
  const where =
    'fileId' in which
      ? cancelling
        ? sql`i.cancel_file_id = ${which.fileId}::uuid`
        : sql`i.file_id = ${which.fileId}::uuid`
      : cancelling
        ? sql`i.batch_id = ${which.batchId}::uuid and i.channel = ${which.channel} and i.state = 'cancel_requested' and i.cancel_file_id is null`
        : sql`i.batch_id = ${which.batchId}::uuid and i.channel = ${which.channel} and i.state = 'released' and i.file_id is null`;
  for (;;) {
    const rows = await queryRows<{ id: string; amount_pkr: number; account: string | null; cnic: string; head_name: string; district: string; tehsil: string }>(
      db as Db,
      sql`select i.id, i.amount_pkr, i.account, l.cnic, l.head_name, l.district, l.tehsil
          from payment_instructions i join batch_lines l on l.batch_id = i.batch_id and l.line_no = i.line_no
          where ${where} and i.id > ${after} order by i.id limit ${PAGE}`,
    );
    if (rows.length === 0) break;
    let chunk = '';
    for (const r of rows) {
      const line: InstructionLine = { id: r.id, amountPkr: r.amount_pkr, account: r.account, cnic: r.cnic, headName: r.head_name, district: r.district, tehsil: r.tehsil };
      chunk += csvLine(cancelling ? [r.id, r.amount_pkr] : layout.row(line));
      count++;
      total += r.amount_pkr;
    }
    yield chunk;
    after = rows.at(-1)!.id;
    if (rows.length < PAGE) break;
  }
  yield trailerLine(count, total);
}

async function digest(text: AsyncIterable<string>) {
  const hash = createHash('sha256');
  for await (const chunk of text) hash.update(chunk);
  return hash.digest('hex');
}

/** The payers of a batch as a file's manifest names them, and whether the actor is a finance officer of one. */
async function payersOf(db: Db | Tx, batchId: string) {
  const rows = await db.select().from(batchPayers).where(eq(batchPayers.batchId, batchId)).orderBy(asc(batchPayers.idx));
  return rows.map((p) => ({ agency: p.agency, jurisdiction: p.jurisdiction, signedFor: signingJurisdiction(p.jurisdiction) }));
}

function requireFinanceOf(actor: Actor, payers: { signedFor: string; agency: string }[], what: string) {
  if (!hasRole(actor, 'finance_officer') || !payers.some((p) => p.signedFor === actor.jurisdiction))
    throw new ForbiddenError(
      `Only a finance officer of the batch's payers (${[...new Set(payers.map((p) => `${p.agency}: ${p.signedFor}`))].join(', ')}) may ${what}.`,
    );
}

/**
 * Makes the payment files of a released batch: one per channel its instructions use, holding the
 * instructions not yet in a file, with a manifest (sha256 of the bytes, count, total, batch, payers, channel,
 * made by, made at). In one transaction with marking the instructions exported, so a file is registered
 * exactly when its instructions are marked (a crash leaves neither). Asking again makes files only for what
 * is new, and returns every file of the batch.
 */
export async function exportPaymentFiles(ctx: Ctx, input: { batchId: string }): Promise<{ made: PaymentFileRow[]; files: PaymentFileRow[] }> {
  return withTransaction(ctx, async (t) => {
    const [b] = await t.tx.select().from(batches).where(and(eq(batches.id, input.batchId), batchScope.where(t.actor))).for('update');
    if (!b) throw new NotFoundError(`No batch ${input.batchId}.`);
    const payers = await payersOf(t.tx, b.id);
    requireFinanceOf(t.actor, payers, 'make its payment files');
    if (b.status !== 'released') throw new ConflictError(`Batch ${b.id} is ${b.status.replace('_', ' ')}: payment files are made once every payer has released its share.`);
    await issueInstructions(t, { batchId: b.id });
    const waiting = await queryRows<{ channel: Channel; n: number; pkr: string }>(
      t.tx as unknown as Db,
      sql`select channel, count(*)::int as n, sum(amount_pkr)::text as pkr from payment_instructions
          where batch_id = ${b.id}::uuid and state = 'released' and file_id is null group by channel`,
    );
    const made: PaymentFileRow[] = [];
    for (const channel of CHANNELS) {
      const w = waiting.find((x) => x.channel === channel);
      if (!w) continue;
      const file = await registerFile(t, b, payers, 'payment', channel, { count: w.n, totalPkr: Number(w.pkr) });
      await t.tx.execute(sql`update payment_instructions set state = 'exported', file_id = ${file!.id}::uuid, updated_at = ${t.now.toISOString()}::timestamptz
        where batch_id = ${b.id}::uuid and channel = ${channel} and state = 'released' and file_id is null`);
      // The texts telling each household that its payment is on its way, in the same transaction.
      await messagesFor(t, { fileId: file!.id, moment: 'exported' });
      made.push(file!);
    }
    const files = await t.tx.select().from(paymentFiles).where(eq(paymentFiles.batchId, b.id)).orderBy(asc(paymentFiles.kind), asc(paymentFiles.channel), asc(paymentFiles.seq));
    return { made, files };
  });
}

/**
 * Registers a file of the instructions waiting for one (a payment file, or a cancellation file): its manifest
 * with the sha256 of the bytes it will always be, and its audit entry. The caller then marks the instructions
 * as in it, in the same transaction.
 */
export async function registerFile(
  t: TxCtx,
  b: { id: string; jurisdiction: string },
  payers: Awaited<ReturnType<typeof payersOf>>,
  kind: FileKind,
  channel: Channel,
  totals: { count: number; totalPkr: number },
): Promise<PaymentFileRow> {
  const sha256 = await digest(fileText(t.tx, { batchId: b.id, channel, kind } as Selection, channel));
  const [file] = await t.tx
    .insert(paymentFiles)
    .values({
      batchId: b.id,
      channel,
      kind,
      payers,
      jurisdiction: payers[0]?.signedFor ?? 'PK',
      seq: await nextSeq(t.tx, b.id, kind, channel),
      sha256,
      ...totals,
      madeBy: `${t.actor.kind}:${t.actor.name}`,
      madeAt: t.now,
    })
    .returning();
  await recordAudit(t.tx, t, {
    action: 'payments.file_made',
    subject: `payment-file:${file!.id}`,
    jurisdiction: b.jurisdiction,
    summary: { fileId: file!.id, batchId: b.id, kind, channel, seq: file!.seq, count: file!.count, totalPkr: file!.totalPkr, sha256 },
  });
  return file!;
}

/** The next number of a batch's files of one kind and channel (1, 2, …): files are named by it. */
async function nextSeq(tx: Tx, batchId: string, kind: FileKind, channel: Channel): Promise<number> {
  const [{ last } = { last: 0 }] = await tx
    .select({ last: max(paymentFiles.seq) })
    .from(paymentFiles)
    .where(and(eq(paymentFiles.batchId, batchId), eq(paymentFiles.kind, kind), eq(paymentFiles.channel, channel)));
  return (last ?? 0) + 1;
}

export { digest, payersOf };

/** A file's manifest, for a finance officer of its payers. */
export async function getPaymentFile(ctx: Ctx, id: string): Promise<PaymentFileRow> {
  const [file] = await ctx.db.select().from(paymentFiles).where(eq(paymentFiles.id, id));
  const [b] = file ? await ctx.db.select({ id: batches.id }).from(batches).where(and(eq(batches.id, file.batchId), batchScope.where(ctx.actor))) : [];
  if (!file || !b) throw new NotFoundError(`No payment file ${id}.`);
  requireFinanceOf(ctx.actor, file.payers as { signedFor: string; agency: string }[], 'fetch its payment files');
  return file;
}

/** Every file of a batch (payment and cancellation), for a finance officer of its payers; nothing is made. */
export async function listPaymentFiles(ctx: Ctx, batchId: string): Promise<PaymentFileRow[]> {
  const [b] = await ctx.db.select({ id: batches.id }).from(batches).where(and(eq(batches.id, batchId), batchScope.where(ctx.actor)));
  if (!b) throw new NotFoundError(`No batch ${batchId}.`);
  requireFinanceOf(ctx.actor, await payersOf(ctx.db, b.id), 'see its payment files');
  return ctx.db.select().from(paymentFiles).where(eq(paymentFiles.batchId, b.id)).orderBy(asc(paymentFiles.kind), asc(paymentFiles.channel), asc(paymentFiles.seq));
}

/**
 * The bytes of a file, streamed, written again from its instructions: the same bytes as when it was made
 * (its manifest's sha256, which the caller can check). The download is audited before the first byte.
 */
export async function downloadPaymentFile(ctx: Ctx, id: string): Promise<{ file: PaymentFileRow; text: AsyncIterable<string> }> {
  const file = await getPaymentFile(ctx, id);
  await recordAuditAlone(ctx, {
    action: 'payments.file_downloaded',
    subject: `payment-file:${file.id}`,
    jurisdiction: file.jurisdiction,
    summary: {
      fileId: file.id,
      batchId: file.batchId,
      kind: file.kind,
      channel: file.channel,
      count: file.count,
      totalPkr: file.totalPkr,
      sha256: file.sha256,
      fields: file.kind === 'cancellation' ? CANCELLATION_COLUMNS : LAYOUTS[file.channel as Channel].columns,
    },
  });
  return { file, text: fileText(ctx.db, { fileId: file.id, kind: file.kind as FileKind }, file.channel as Channel) };
}
