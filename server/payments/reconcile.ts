import { createHash } from 'node:crypto';
import { CsvError, parse } from 'csv-parse/sync';
import { and, eq, sql } from 'drizzle-orm';
import { recordAudit } from '../audit/service.ts';
import { withTransaction, type Ctx, type TxCtx } from '../context.ts';
import { queryRows, type Db } from '../db/client.ts';
import { batches, overpayments, paymentInstructions, reconciliations } from '../db/schema/index.ts';
import { cancelLines, cancellationFiles } from './cancel.ts';
import { ValidationError, type FieldProblem } from '../errors.ts';
import { getPaymentFile } from './files.ts';
import { messagesFor } from './messages.ts';

/** The columns of a bank's answer, in this order (README: "Reconciliation file"). */
export const RECONCILIATION_COLUMNS = ['instruction_id', 'status', 'amount_paid_pkr', 'paid_at', 'bank_reference', 'reason'] as const;
const OUTCOMES = ['paid', 'failed', 'unclaimed', 'cancelled'] as const;
type Outcome = (typeof OUTCOMES)[number];

/** At most this many problems are listed (with how many more there were): a file wrong throughout says so soon. */
const MAX_PROBLEMS = 200;
const ISO_WITH_OFFSET = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/;

interface Answer {
  row: number;
  /** Refused already while reading: not checked again against the instructions. */
  refused: boolean;
  id: string;
  status: Outcome;
  paidPkr: number;
  paidAt: string | null;
  bankReference: string;
  reason: string;
}

export interface ReconciliationReport {
  fileId: string;
  sha256: string;
  /** True when this very file was applied before: nothing changed now. */
  repeated: boolean;
  rows: number;
  moved: Record<string, number>;
  unchanged: number;
  paidPkr: number;
  /** Paid less than the instruction: the rest is still owed. */
  partial: { instructions: number; outstandingPkr: number };
  /** Instructions of the file with no answer yet. */
  outstanding: { instructions: number; pkr: number };
  /**
   * What a payment of a line's earlier attempt did to its other attempts (a bank answering late): one not
   * yet exported is cancelled, one exported is asked to be stopped, one paid too is an overpayment.
   */
  otherAttempts: { cancelled: number; cancelRequested: number; overpayments: number };
}

/**
 * A line is paid once: when the bank says an attempt was paid and the line has other attempts (it was made
 * again after failing), the one not yet exported is cancelled, an exported one is asked to be stopped (a
 * cancellation file), and one the bank paid as well is an overpayment to recover, recorded and audited loudly.
 */
async function settleOtherAttempts(t: TxCtx, batch: typeof batches.$inferSelect, paid: { id: string; lineNo: number }[], reconciliationId: string) {
  const out = { cancelled: 0, cancelRequested: 0, overpayments: 0 };
  if (paid.length === 0) return out;
  const multi = new Set(
    (
      await queryRows<{ line_no: number }>(
        t.tx as unknown as Db,
        sql`select line_no from payment_instructions where batch_id = ${batch.id}::uuid group by line_no having count(*) > 1`,
      )
    ).map((r) => r.line_no),
  );
  const stamp = t.now.toISOString();
  for (const p of paid.filter((x) => multi.has(x.lineNo))) {
    const others = await t.tx
      .select()
      .from(paymentInstructions)
      .where(and(eq(paymentInstructions.batchId, batch.id), eq(paymentInstructions.lineNo, p.lineNo)));
    for (const o of others.filter((x) => x.id !== p.id)) {
      const why = `attempt ${p.id} was paid`;
      if (o.state === 'released') {
        await t.tx.execute(sql`update payment_instructions set state = 'cancelled', reason = ${why}, updated_at = ${stamp}::timestamptz where id = ${o.id}`);
        out.cancelled++;
      } else if (o.state === 'exported') {
        await t.tx.execute(sql`update payment_instructions set state = 'cancel_requested', reason = ${why}, updated_at = ${stamp}::timestamptz where id = ${o.id}`);
        out.cancelRequested++;
      } else if (o.state === 'paid') {
        const all = others.filter((x) => x.state === 'paid' || x.id === p.id);
        const [mine] = await t.tx.select().from(paymentInstructions).where(eq(paymentInstructions.id, p.id));
        const paidPkr = all.reduce((s, x) => s + (x.id === p.id ? (mine!.paidPkr ?? 0) : (x.paidPkr ?? 0)), 0);
        const over = paidPkr - mine!.amountPkr;
        await t.tx
          .insert(overpayments)
          .values({ batchId: batch.id, lineNo: p.lineNo, instructionIds: all.map((x) => x.id).sort(), paidPkr, overPkr: over, foundAt: t.now, foundIn: reconciliationId })
          .onConflictDoUpdate({ target: [overpayments.batchId, overpayments.lineNo], set: { instructionIds: all.map((x) => x.id).sort(), paidPkr, overPkr: over, foundAt: t.now, foundIn: reconciliationId } });
        await recordAudit(t.tx, t, {
          action: 'payments.overpayment',
          subject: `batch:${batch.id}`,
          jurisdiction: batch.jurisdiction,
          summary: { batchId: batch.id, lineNo: p.lineNo, instructions: all.map((x) => x.id), paidPkr, overPkr: over, note: 'paid twice by a late answer: recover the overpayment' },
        });
        out.overpayments++;
      }
    }
  }
  if (out.cancelRequested > 0) await cancellationFiles(t, batch);
  return out;
}

/** Reads the bank's CSV; every problem names its row (the file's line, the header is row 1) and column. */
function readAnswers(text: string): { answers: Answer[]; problems: FieldProblem[] } {
  const problems: FieldProblem[] = [];
  const bad = (row: number, column: string, message: string) => {
    if (problems.length < MAX_PROBLEMS) problems.push({ field: `row ${row}.${column}`, message });
    else if (problems.length === MAX_PROBLEMS) problems.push({ field: 'file', message: 'more problems follow; correct these first' });
  };
  let records: string[][];
  try {
    records = parse(text.replace(/\r\n/g, '\n'), { relax_column_count: true, skip_empty_lines: true, bom: true }) as string[][];
  } catch (err) {
    if (err instanceof CsvError) throw new ValidationError('The reconciliation file is not readable CSV.', [{ field: 'file', message: err.message }]);
    throw err;
  }
  const header = records[0]?.map((h) => h.trim().toLowerCase()) ?? [];
  if (header.join(',') !== RECONCILIATION_COLUMNS.join(','))
    throw new ValidationError('The reconciliation file has the wrong header.', [
      { field: 'row 1', message: `expected the columns ${RECONCILIATION_COLUMNS.join(',')}; found ${header.join(',') || 'nothing'}` },
    ]);
  const answers: Answer[] = [];
  const seen = new Map<string, number>();
  for (let i = 1; i < records.length; i++) {
    const row = i + 1;
    const r = records[i]!;
    if (r[0] === 'TRAILER') continue;
    if (r.length !== RECONCILIATION_COLUMNS.length) {
      bad(row, 'instruction_id', `expected ${RECONCILIATION_COLUMNS.length} columns, found ${r.length}`);
      continue;
    }
    const before = problems.length;
    const [id, status, amount, paidAt, bankReference, reason] = r.map((x) => x.trim()) as [string, string, string, string, string, string];
    if (!/^MDD[0-9A-F]{10}-\d{8}-\d+$/.test(id)) bad(row, 'instruction_id', `expected an instruction id such as MDD3F2A9C01B7-00000123-1, found "${id.slice(0, 40)}"`);
    else if (seen.has(id)) bad(row, 'instruction_id', `${id} is answered twice in this file (first in row ${seen.get(id)})`);
    seen.set(id, row);
    if (!(OUTCOMES as readonly string[]).includes(status)) bad(row, 'status', `expected one of ${OUTCOMES.join(', ')}, found "${status.slice(0, 40)}"`);
    const paidPkr = /^\d{1,12}$/.test(amount) ? Number(amount) : NaN;
    if (!Number.isSafeInteger(paidPkr)) bad(row, 'amount_paid_pkr', `expected whole rupees (0 or more, no separators), found "${amount.slice(0, 40)}"`);
    else if (status === 'paid' && paidPkr === 0) bad(row, 'amount_paid_pkr', 'a paid instruction needs the amount paid (more than 0)');
    else if (status !== 'paid' && paidPkr !== 0) bad(row, 'amount_paid_pkr', `a ${status} instruction paid nothing: expected 0`);
    let at: string | null = null;
    if (paidAt) {
      const d = new Date(paidAt);
      if (!ISO_WITH_OFFSET.test(paidAt) || Number.isNaN(d.getTime())) bad(row, 'paid_at', `expected an ISO 8601 time with its offset, e.g. 2026-09-02T14:30:00+05:00, found "${paidAt.slice(0, 40)}"`);
      else at = d.toISOString();
    } else if (status === 'paid') bad(row, 'paid_at', 'a paid instruction needs the time it was paid');
    answers.push({ row, id, status: status as Outcome, paidPkr, paidAt: at, bankReference, reason, refused: problems.length > before });
  }
  return { answers, problems };
}

/** The moves a bank's answer may make, from the instruction's state now. */
const MOVES: Record<string, readonly Outcome[]> = {
  exported: ['paid', 'failed', 'unclaimed'],
  cancel_requested: ['cancelled', 'paid', 'failed', 'unclaimed'],
  // A bank answering late: the attempt was paid after all (its line's other attempts are settled below).
  failed: ['paid'],
  unclaimed: ['paid'],
};

/**
 * Applies a bank's answer to a payment file: checked whole first (an unknown instruction, one of another
 * file, an amount above the instruction, a bad status or date: each named by row and column, and nothing is
 * applied), then applied in one transaction with its report. The same file again (its sha256 is kept)
 * changes nothing and returns the first report. A partial payment is an amount below the instruction's.
 */
export async function reconcile(ctx: Ctx, input: { fileId: string; text: string }): Promise<ReconciliationReport> {
  const file = await getPaymentFile(ctx, input.fileId);
  const sha256 = createHash('sha256').update(input.text).digest('hex');
  return withTransaction(ctx, async (t) => {
    // One reconciliation of a file at a time: the second waits, then finds the first's hash.
    await t.tx.execute(sql`select pg_advisory_xact_lock(hashtext(${`reconcile:${file.id}`}))`);
    const [before] = await t.tx.select().from(reconciliations).where(and(eq(reconciliations.fileId, file.id), eq(reconciliations.sha256, sha256)));
    if (before) return { ...(before.report as ReconciliationReport), repeated: true };

    const reconciliationId = crypto.randomUUID();
    const { answers, problems } = readAnswers(input.text);
    const cancelling = file.kind === 'cancellation';
    const current = new Map<string, { file_id: string | null; cancel_file_id: string | null; state: string; amount_pkr: number; paid_pkr: number | null; line_no: number }>();
    for (let i = 0; i < answers.length; i += 50_000) {
      const ids = answers.slice(i, i + 50_000).map((a) => a.id);
      const rows = await queryRows<{ id: string; file_id: string | null; cancel_file_id: string | null; state: string; amount_pkr: number; paid_pkr: number | null; line_no: number }>(
        t.tx as unknown as Db,
        sql`select id, file_id::text, cancel_file_id::text, state, amount_pkr, paid_pkr, line_no from payment_instructions where id in (select jsonb_array_elements_text(${JSON.stringify(ids)}::jsonb))`,
      );
      for (const r of rows) current.set(r.id, r);
    }
    const apply: Answer[] = [];
    let unchanged = 0;
    for (const a of answers) {
      const now = current.get(a.id);
      const bad = (column: string, message: string) => {
        if (problems.length < MAX_PROBLEMS) problems.push({ field: `row ${a.row}.${column}`, message });
        else if (problems.length === MAX_PROBLEMS) problems.push({ field: 'file', message: 'more problems follow; correct these first' });
      };
      if (a.refused) continue;
      if (!now) bad('instruction_id', `no instruction ${a.id}`);
      else if ((cancelling ? now.cancel_file_id : now.file_id) !== file.id) bad('instruction_id', `${a.id} is an instruction of another ${cancelling ? 'cancellation' : 'payment'} file`);
      else if (a.paidPkr > now.amount_pkr) bad('amount_paid_pkr', `${a.paidPkr} is more than the instruction's PKR ${now.amount_pkr}`);
      else if (now.state === a.status && (now.paid_pkr ?? 0) === a.paidPkr) unchanged++;
      else if (!(MOVES[now.state] ?? []).includes(a.status)) bad('status', `${a.id} is ${now.state.replace('_', ' ')}: it cannot become ${a.status}`);
      else apply.push(a);
    }
    if (problems.length > 0) throw new ValidationError(`The reconciliation file has ${problems.length} problem${problems.length === 1 ? '' : 's'}; nothing was applied.`, problems);

    for (let i = 0; i < apply.length; i += 20_000) {
      const chunk = apply.slice(i, i + 20_000).map((a) => ({ id: a.id, st: a.status, p: a.paidPkr, at: a.paidAt, br: a.bankReference || null, rs: a.reason || null }));
      await t.tx.execute(sql`
        update payment_instructions i set state = x.st, paid_pkr = nullif(x.p, 0), paid_at = x.at, bank_reference = x.br, reason = x.rs,
          updated_at = ${t.now.toISOString()}::timestamptz
        from json_to_recordset(${JSON.stringify(chunk)}::json) as x(id text, st text, p int, at timestamptz, br text, rs text)
        where i.id = x.id`);
    }
    const [batch] = await t.tx.select().from(batches).where(eq(batches.id, file.batchId));
    // The bank stopped these: their households are free again for the incident (the reservation goes).
    const stopped = apply.filter((a) => a.status === 'cancelled').map((a) => current.get(a.id)!.line_no);
    if (stopped.length > 0) await cancelLines(t.tx, batch!, stopped);
    const late = await settleOtherAttempts(t, batch!, apply.filter((a) => a.status === 'paid').map((a) => ({ id: a.id, lineNo: current.get(a.id)!.line_no })), reconciliationId);
    // The texts telling each household it was paid, in the same transaction.
    await messagesFor(t, { instructionIds: apply.filter((a) => a.status === 'paid').map((a) => a.id), moment: 'paid' });
    const moved: Record<string, number> = {};
    for (const a of apply) moved[a.status] = (moved[a.status] ?? 0) + 1;
    const [left] = await queryRows<{ n: number; pkr: string; partial: number; owed: string }>(
      t.tx as unknown as Db,
      sql`select count(*) filter (where state in ('exported', 'cancel_requested'))::int as n,
            coalesce(sum(amount_pkr) filter (where state in ('exported', 'cancel_requested')), 0)::text as pkr,
            count(*) filter (where state = 'paid' and paid_pkr < amount_pkr)::int as partial,
            coalesce(sum(amount_pkr - paid_pkr) filter (where state = 'paid' and paid_pkr < amount_pkr), 0)::text as owed
          from payment_instructions where ${cancelling ? sql`cancel_file_id` : sql`file_id`} = ${file.id}::uuid`,
    );
    const report: ReconciliationReport = {
      fileId: file.id,
      sha256,
      repeated: false,
      rows: answers.length,
      moved,
      unchanged,
      paidPkr: apply.filter((a) => a.status === 'paid').reduce((s, a) => s + a.paidPkr, 0),
      partial: { instructions: left!.partial, outstandingPkr: Number(left!.owed) },
      outstanding: { instructions: left!.n, pkr: Number(left!.pkr) },
      otherAttempts: late,
    };
    await t.tx.insert(reconciliations).values({ id: reconciliationId, fileId: file.id, sha256, rows: answers.length, report, appliedBy: `${t.actor.kind}:${t.actor.name}`, appliedAt: t.now });
    await recordAudit(t.tx, t, { action: 'payments.reconciled', subject: `payment-file:${file.id}`, jurisdiction: file.jurisdiction, summary: { ...report } });
    return report;
  });
}
