import { createHash } from 'node:crypto';
import { and, eq, sql } from 'drizzle-orm';
import { recordAudit } from '../audit/service.ts';
import { withTransaction, type Ctx, type TxCtx } from '../context.ts';
import { queryRows, type Db } from '../db/client.ts';
import { copyField, CopyWriter, rawOf } from '../db/copy.ts';
import { CsvReader } from '../registry/csv.ts';
import { batches, overpayments, paymentInstructions, reconciliations } from '../db/schema/index.ts';
import { cancelLines, cancellationFiles } from './cancel.ts';
import { PayloadTooLargeError, ValidationError, type FieldProblem } from '../errors.ts';
import { getPaymentFile } from './files.ts';
import { messagesFor } from './messages.ts';

/** The columns of a bank's answer, in this order (README: "Reconciliation file"). */
export const RECONCILIATION_COLUMNS = ['instruction_id', 'status', 'amount_paid_pkr', 'paid_at', 'bank_reference', 'reason'] as const;
const OUTCOMES = ['paid', 'failed', 'unclaimed', 'cancelled'] as const;
type Outcome = (typeof OUTCOMES)[number];

/** At most this many problems are listed (with how many more there were): a file wrong throughout says so soon. */
const MAX_PROBLEMS = 200;
/** An instruction id as Madad makes it (`MDD<batch>-<line>-<attempt>`). */
const INSTRUCTION_ID = /^MDD[0-9A-F]{10}-\d{8}-\d+$/;
/** Up to this many instructions paid by one answer, their texts are made by id rather than by reading the whole file. */
const PAID_BY_ID = 100_000;
/** An answer row is at most this many bytes on average (a bank reference and a reason of some length). */
const MAX_BYTES_PER_ROW = 512;
const ISO_WITH_OFFSET = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/;

interface Answer {
  row: number;
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

/** A problem list that stops growing at MAX_PROBLEMS, saying that more follow. */
class Problems {
  readonly list: FieldProblem[] = [];
  get full(): boolean {
    return this.list.length > MAX_PROBLEMS;
  }
  add(row: number, column: string, message: string): void {
    if (this.list.length < MAX_PROBLEMS) this.list.push({ field: `row ${row}.${column}`, message });
    else if (this.list.length === MAX_PROBLEMS) this.list.push({ field: 'file', message: 'more problems follow; correct these first' });
  }
}

/** Row and column checks of one answer (the file's line; the header is row 1); null when it is refused. */
function answerOf(row: number, r: string[], problems: Problems): Answer | null {
  if (r.length !== RECONCILIATION_COLUMNS.length) {
    problems.add(row, 'instruction_id', `expected ${RECONCILIATION_COLUMNS.length} columns, found ${r.length}`);
    return null;
  }
  const before = problems.list.length;
  const bad = (column: string, message: string) => problems.add(row, column, message);
  const [id, status, amount, paidAt, bankReference, reason] = r.map((x) => x.trim()) as [string, string, string, string, string, string];
  if (!INSTRUCTION_ID.test(id)) bad('instruction_id', `expected an instruction id such as MDD3F2A9C01B7-00000123-1, found "${id.slice(0, 40)}"`);
  if (!(OUTCOMES as readonly string[]).includes(status)) bad('status', `expected one of ${OUTCOMES.join(', ')}, found "${status.slice(0, 40)}"`);
  const paidPkr = /^\d{1,12}$/.test(amount) ? Number(amount) : NaN;
  if (!Number.isSafeInteger(paidPkr)) bad('amount_paid_pkr', `expected whole rupees (0 or more, no separators), found "${amount.slice(0, 40)}"`);
  else if (status === 'paid' && paidPkr === 0) bad('amount_paid_pkr', 'a paid instruction needs the amount paid (more than 0)');
  else if (status !== 'paid' && paidPkr !== 0) bad('amount_paid_pkr', `a ${status} instruction paid nothing: expected 0`);
  let at: string | null = null;
  if (paidAt) {
    const d = new Date(paidAt);
    if (!ISO_WITH_OFFSET.test(paidAt) || Number.isNaN(d.getTime())) bad('paid_at', `expected an ISO 8601 time with its offset, e.g. 2026-09-02T14:30:00+05:00, found "${paidAt.slice(0, 40)}"`);
    else at = d.toISOString();
  } else if (status === 'paid') bad('paid_at', 'a paid instruction needs the time it was paid');
  if (problems.list.length > before) return null;
  return { row, id, status: status as Outcome, paidPkr, paidAt: at, bankReference, reason };
}

/** What a bank's answer arrives as: the whole text, or a stream of bytes (an upload, a file being read). */
export type AnswerBody = string | Uint8Array | AsyncIterable<Uint8Array | string>;

async function* piecesOf(body: AnswerBody): AsyncGenerator<Uint8Array | string> {
  if (typeof body === 'string' || body instanceof Uint8Array) yield body;
  else yield* body;
}

/**
 * Reads the bank's CSV as it arrives, checks each row on its own (columns, id form, status, amount, date),
 * and copies the rows that pass into `reconciliation_rows`, a table of this transaction only; the sha256 is
 * made from the same bytes. Nothing is held but the rows not yet copied.
 */
async function stageAnswers(t: TxCtx, body: AnswerBody, maxBytes: number, problems: Problems): Promise<{ sha256: string; rows: number }> {
  // A caller's transaction may reconcile several files: each starts with a table of its own.
  await t.tx.execute(sql`drop table if exists pg_temp.reconciliation_rows, pg_temp.reconciliation_moved`);
  await t.tx.execute(sql`
    create temp table reconciliation_rows (row int not null, id text not null, status text not null, paid_pkr bigint not null,
      paid_at timestamptz, bank_reference text, reason text) on commit drop`);
  const writer = await CopyWriter.open(rawOf(t.tx), 'reconciliation_rows (row, id, status, paid_pkr, paid_at, bank_reference, reason)');
  const hash = createHash('sha256');
  const decoder = new TextDecoder('utf-8', { fatal: false });
  const reader = new CsvReader();
  let header: string[] | null = null;
  let rows = 0;
  let bytes = 0;
  let text: string[] = [];
  let textBytes = 0;
  const take = (fields: string[], line: number) => {
    if (!header) {
      header = fields.map((h) => h.trim().toLowerCase());
      if (header.join(',') !== RECONCILIATION_COLUMNS.join(','))
        throw new ValidationError('The reconciliation file has the wrong header.', [
          { field: 'row 1', message: `expected the columns ${RECONCILIATION_COLUMNS.join(',')}; found ${header.join(',') || 'nothing'}` },
        ]);
      return;
    }
    if (fields[0] === 'TRAILER') return;
    rows++;
    const a = answerOf(line, fields, problems);
    if (!a) return;
    const row = `${a.row}\t${copyField(a.id)}\t${copyField(a.status)}\t${a.paidPkr}\t${copyField(a.paidAt)}\t${copyField(a.bankReference || null)}\t${copyField(a.reason || null)}\n`;
    text.push(row);
    textBytes += row.length;
  };
  try {
    for await (const piece of piecesOf(body)) {
      const chunk = typeof piece === 'string' ? Buffer.from(piece) : piece;
      bytes += chunk.length;
      if (bytes > maxBytes) throw new PayloadTooLargeError(`The reconciliation file is larger than ${maxBytes.toLocaleString('en')} bytes, the most an answer to this file can be.`);
      hash.update(chunk);
      reader.read(decoder.decode(chunk, { stream: true }), take);
      if (problems.full) break;
      if (textBytes >= 1 << 20) {
        await writer.write(Buffer.from(text.join('')));
        text = [];
        textBytes = 0;
      }
    }
    if (!problems.full) reader.read(decoder.decode(), take);
    if (!problems.full) reader.finish(take);
    if (!header) throw new ValidationError('The body is empty: send the bank\u2019s reconciliation CSV.', [{ field: 'body', message: 'empty' }]);
    if (text.length > 0) await writer.write(Buffer.from(text.join('')));
    await writer.end();
  } catch (err) {
    await writer.abort(err);
    throw err;
  }
  return { sha256: hash.digest('hex'), rows };
}

/** The answers that cannot apply to the instructions as they are now, by row: what only the database knows. */
async function checkAgainstInstructions(t: TxCtx, file: { id: string; kind: string }, problems: Problems): Promise<void> {
  if (problems.full) return;
  const fileColumn = file.kind === 'cancellation' ? sql`i.cancel_file_id` : sql`i.file_id`;
  const another = file.kind === 'cancellation' ? 'cancellation' : 'payment';
  const moves = sql.raw(
    Object.entries(MOVES)
      .flatMap(([from, to]) => to.map((x) => `('${from}', '${x}')`))
      .join(', '),
  );
  const found = await queryRows<{ row: number; col: string; message: string }>(
    t.tx as unknown as Db,
    sql`
    with twice as (select id, min(row) as first from reconciliation_rows group by id having count(*) > 1)
    select row, col, message from (
      select r.row, 'instruction_id' as col, r.id || ' is answered twice in this file (first in row ' || w.first || ')' as message
      from reconciliation_rows r join twice w on w.id = r.id and r.row > w.first
      union all
      select r.row,
        case when i.id is null or ${fileColumn} is distinct from ${file.id}::uuid then 'instruction_id' when r.paid_pkr > i.amount_pkr then 'amount_paid_pkr' else 'status' end,
        case
          when i.id is null then 'no instruction ' || r.id
          when ${fileColumn} is distinct from ${file.id}::uuid then r.id || ${` is an instruction of another ${another} file`}
          when r.paid_pkr > i.amount_pkr then r.paid_pkr || ' is more than the instruction''s PKR ' || i.amount_pkr
          else r.id || ' is ' || replace(i.state, '_', ' ') || ': it cannot become ' || r.status
        end
      from reconciliation_rows r left join payment_instructions i on i.id = r.id
      where i.id is null or ${fileColumn} is distinct from ${file.id}::uuid or r.paid_pkr > i.amount_pkr
        or (not (i.state = r.status and coalesce(i.paid_pkr, 0) = r.paid_pkr) and (i.state, r.status) not in (${moves}))
    ) p order by row limit ${MAX_PROBLEMS + 1}`,
  );
  for (const p of found) problems.add(p.row, p.col, p.message);
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
 * The answer is read as it arrives and checked in the database: memory does not grow with the file.
 */
export async function reconcile(ctx: Ctx, input: { fileId: string; text: AnswerBody }): Promise<ReconciliationReport> {
  const file = await getPaymentFile(ctx, input.fileId);
  return withTransaction(ctx, async (t) => {
    // One reconciliation of a file at a time: the second waits, then finds the first's hash.
    await t.tx.execute(sql`select pg_advisory_xact_lock(hashtext(${`reconcile:${file.id}`}))`);
    const problems = new Problems();
    const { sha256, rows } = await stageAnswers(t, input.text, MAX_BYTES_PER_ROW * (file.count + 1) + 64 * 1024, problems);
    // A file applied before had no problem of its own: it is the same answer again.
    if (problems.list.length === 0) {
      const [before] = await t.tx.select().from(reconciliations).where(and(eq(reconciliations.fileId, file.id), eq(reconciliations.sha256, sha256)));
      if (before) return { ...(before.report as ReconciliationReport), repeated: true };
    }
    // The rows that passed their own checks are checked against the instructions too: one refusal lists all.
    await checkAgainstInstructions(t, file, problems);
    if (problems.list.length > 0) throw refusal(problems);

    const reconciliationId = crypto.randomUUID();
    const cancelling = file.kind === 'cancellation';
    await t.tx.execute(sql`create temp table reconciliation_moved (row int not null, id text not null, status text not null, paid_pkr bigint not null, line_no int not null) on commit drop`);
    await t.tx.execute(sql`
      with moved as (
        update payment_instructions i set state = r.status, paid_pkr = nullif(r.paid_pkr, 0), paid_at = r.paid_at, bank_reference = r.bank_reference,
          reason = r.reason, updated_at = ${t.now.toISOString()}::timestamptz
        from reconciliation_rows r
        where i.id = r.id and not (i.state = r.status and coalesce(i.paid_pkr, 0) = r.paid_pkr)
        returning r.row, i.id, r.status, r.paid_pkr, i.line_no)
      insert into reconciliation_moved select row, id, status, paid_pkr, line_no from moved`);
    const counts = await queryRows<{ status: Outcome; n: number; pkr: string }>(
      t.tx as unknown as Db,
      // In the order the file first gives each state, as a person reading it down would count them.
      sql`select status, count(*)::int as n, sum(paid_pkr)::text as pkr from reconciliation_moved group by status order by min(row)`,
    );
    const moved: Record<string, number> = {};
    let applied = 0;
    for (const c of counts) {
      moved[c.status] = c.n;
      applied += c.n;
    }
    const [batch] = await t.tx.select().from(batches).where(eq(batches.id, file.batchId));
    // The bank stopped these: their households are free again for the incident (the reservation goes).
    const stopped = await queryRows<{ line_no: number }>(t.tx as unknown as Db, sql`select line_no from reconciliation_moved where status = 'cancelled' order by line_no`);
    if (stopped.length > 0) {
      await cancelLines(t, batch!, stopped.map((r) => r.line_no));
      const ids = await queryRows<{ id: string }>(t.tx as unknown as Db, sql`select id from reconciliation_moved where status = 'cancelled'`);
      await messagesFor(t, { instructionIds: ids.map((r) => r.id), moment: 'cancelled' });
    }
    // Lines paid again after failing: their other attempts are settled (a late answer to the first one).
    const again = await queryRows<{ id: string; line_no: number }>(
      t.tx as unknown as Db,
      sql`select m.id, m.line_no from reconciliation_moved m
          where m.status = 'paid' and m.line_no in (select line_no from payment_instructions where batch_id = ${file.batchId}::uuid and attempt > 1)
          order by m.id`,
    );
    const late = await settleOtherAttempts(t, batch!, again.map((r) => ({ id: r.id, lineNo: r.line_no })), reconciliationId);
    // The texts telling each household it was paid, in the same transaction (each text is made once).
    // A later, smaller answer names its instructions; a first answer to a large file reads the file's pages.
    if (moved.paid) {
      if (cancelling || moved.paid <= PAID_BY_ID) {
        const paid = await queryRows<{ id: string }>(t.tx as unknown as Db, sql`select id from reconciliation_moved where status = 'paid'`);
        await messagesFor(t, { instructionIds: paid.map((r) => r.id), moment: 'paid' });
      } else await messagesFor(t, { fileId: file.id, moment: 'paid' });
    }
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
      rows,
      moved,
      unchanged: rows - applied,
      paidPkr: Number(counts.find((c) => c.status === 'paid')?.pkr ?? 0),
      partial: { instructions: left!.partial, outstandingPkr: Number(left!.owed) },
      outstanding: { instructions: left!.n, pkr: Number(left!.pkr) },
      otherAttempts: late,
    };
    await t.tx.insert(reconciliations).values({ id: reconciliationId, fileId: file.id, sha256, rows, report, appliedBy: `${t.actor.kind}:${t.actor.name}`, appliedAt: t.now });
    await recordAudit(t.tx, t, { action: 'payments.reconciled', subject: `payment-file:${file.id}`, jurisdiction: file.jurisdiction, summary: { ...report } });
    return report;
  });
}

const refusal = (problems: Problems) =>
  new ValidationError(`The reconciliation file has ${problems.list.length} problem${problems.list.length === 1 ? '' : 's'}; nothing was applied.`, problems.list);
