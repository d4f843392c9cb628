import { createHash } from 'node:crypto';
import { accessSync, constants, createReadStream, statSync } from 'node:fs';
import { readFile, rename, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import { asc, eq } from 'drizzle-orm';
import { pkrText } from '../../triggers/index.ts';
import type { Ctx } from '../context.ts';
import { batches, paymentFiles } from '../db/schema/index.ts';
import { ValidationError } from '../errors.ts';
import { downloadPaymentFile, exportPaymentFiles, getPaymentFile, type PaymentFileRow } from '../payments/files.ts';
import { LAYOUTS, type Channel } from '../payments/layouts.ts';
import { eventPayments, MONEY_STATES } from '../payments/ledger.ts';
import { reconcile, RECONCILIATION_COLUMNS, type ReconciliationReport } from '../payments/reconcile.ts';
import { eventPaymentsSchema, type EventPayments } from '../payments/schema.ts';
import { actingAs, AS_HELP, refusing, requireRolesFor, uuidOf } from './batches.ts';
import { cliCtx, printTable, withDatabase } from './context.ts';
import { CliError } from './errors.ts';
import { writeSynced } from './partial-file.ts';

/** A file's manifest as the CLI writes it next to the file: what GET /api/payment-files/{id} gives, and the file's name. */
export interface Manifest {
  id: string;
  file: string;
  batchId: string;
  kind: 'payment' | 'cancellation';
  channel: Channel;
  seq: number;
  payers: { agency: string; jurisdiction: string; signedFor: string }[];
  sha256: string;
  count: number;
  totalPkr: number;
  madeBy: string;
  madeAt: string;
}

/** `madad-payment-bank_transfer-3f2a9c01-1.csv`: kind, channel, the batch id's first 8 digits, the file's number. */
export const fileNameOf = (f: Pick<PaymentFileRow, 'kind' | 'channel' | 'batchId' | 'seq'>) => `madad-${f.kind}-${f.channel}-${f.batchId.slice(0, 8)}-${f.seq}.csv`;

export const manifestOf = (f: PaymentFileRow): Manifest => ({
  id: f.id,
  file: fileNameOf(f),
  batchId: f.batchId,
  kind: f.kind as Manifest['kind'],
  channel: f.channel as Channel,
  seq: f.seq,
  payers: f.payers as Manifest['payers'],
  sha256: f.sha256,
  count: f.count,
  totalPkr: f.totalPkr,
  madeBy: f.madeBy,
  madeAt: f.madeAt.toISOString(),
});

const rupees = (n: number) => pkrText(n).slice(4);
const plural = (n: number, one: string, many = `${one}s`) => `${n.toLocaleString('en')} ${n === 1 ? one : many}`;

async function sha256OfFile(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** A folder to write into, checked before the database opens. */
function folderOf(dir: string | undefined): string {
  const target = path.resolve(dir ?? '.');
  let isDir = false;
  try {
    isDir = statSync(target).isDirectory();
  } catch {
    throw new CliError(`--out: there is no folder ${target}`);
  }
  if (!isDir) throw new CliError(`--out: ${target} is not a folder`);
  try {
    accessSync(target, constants.W_OK);
  } catch {
    throw new CliError(`--out: the folder ${target} is not writable`);
  }
  return target;
}

/** A bank's answer to read, checked before the database opens. */
function answerFileOf(file: string): string {
  const target = path.resolve(file);
  let size: number;
  try {
    const s = statSync(target);
    if (!s.isFile()) throw new CliError(`${file} is not a file: give the bank's reconciliation CSV`);
    size = s.size;
  } catch (err) {
    if (err instanceof CliError) throw err;
    throw new CliError(`there is no file ${file}: give the bank's reconciliation CSV`);
  }
  if (size === 0) throw new CliError(`${file} is empty: give the bank's reconciliation CSV (${RECONCILIATION_COLUMNS.join(',')})`);
  return target;
}

/** How a file stands after an export: made now, made before and written now, or already in the folder. */
type Written = 'new' | 'written' | 'in folder';

/**
 * Puts one file in the folder. Its bytes are streamed from the database into `<name>.partial`, synced, then
 * hashed from the disk; only bytes whose sha256 is the manifest's are renamed to the file's name, so a file
 * under its name is always whole and the registered one. A file already there is checked, never overwritten.
 */
async function writeFileOf(ctx: Ctx, file: PaymentFileRow, dir: string): Promise<Exclude<Written, 'new'>> {
  const name = fileNameOf(file);
  const target = path.join(dir, name);
  const manifestPath = `${target.slice(0, -'.csv'.length)}.manifest.json`;
  const manifest = `${JSON.stringify(manifestOf(file), null, 2)}\n`;
  let exists = false;
  try {
    exists = statSync(target).isFile();
  } catch {
    exists = false;
  }
  if (exists) {
    const found = await sha256OfFile(target);
    if (found !== file.sha256)
      throw new CliError(
        `${target} is already there, but its sha256 is ${found} and the manifest of payment file ${file.id} says ${file.sha256}: it is not the file that was made (changed or damaged since). Nothing was overwritten; move it away and export again to write the file anew.`,
      );
    if ((await readFile(manifestPath, 'utf8').catch(() => '')) !== manifest) await replaceFile(manifestPath, manifest);
    return 'in folder';
  }
  const partial = `${target}.partial`;
  const { text } = await downloadPaymentFile(ctx, file.id);
  await writeSynced(partial, 'w', async (write) => {
    for await (const chunk of text) await write(chunk);
  });
  const written = await sha256OfFile(partial);
  if (written !== file.sha256) {
    await unlink(partial).catch(() => undefined);
    throw new CliError(
      `the bytes written for ${name} have sha256 ${written}, but the manifest of payment file ${file.id} says ${file.sha256}. The file was NOT kept: what the database holds for it changed after it was made, so it is not the registered file. Do not send it; report it.`,
    );
  }
  await rename(partial, target);
  await replaceFile(manifestPath, manifest);
  return 'written';
}

/** Writes a small file whole or not at all (a crash leaves the old one or the new one). */
async function replaceFile(target: string, text: string): Promise<void> {
  await writeFile(`${target}.partial`, text);
  await rename(`${target}.partial`, target);
}

/** The files of a batch as a table; `status` says what this run did with each, when it wrote them. */
function printFiles(files: PaymentFileRow[], status?: Map<string, Written>): void {
  printTable(
    files.map((f) => ({
      file: fileNameOf(f),
      id: f.id,
      kind: f.kind,
      channel: f.channel,
      instructions: f.count,
      'total PKR': rupees(f.totalPkr),
      sha256: f.sha256,
      'made by': f.madeBy,
      'made at': f.madeAt,
      ...(status ? { status: status.get(f.id) ?? '' } : {}),
    })),
    status
      ? ['file', 'id', 'kind', 'instructions', 'total PKR', 'sha256', 'status']
      : ['file', 'id', 'kind', 'channel', 'instructions', 'total PKR', 'sha256', 'made by', 'made at'],
  );
}

/** `row 4.paid_at` as the verb names a problem, as an operator reads it: `row 4, column paid_at`. */
export function problemText(p: { field: string; message: string }): string {
  const m = /^row (\d+)\.(.+)$/.exec(p.field);
  return `${m ? `row ${m[1]}, column ${m[2]}` : p.field}: ${p.message}`;
}

/** What a reconciliation did, for a person to read. */
export function reportText(r: ReconciliationReport, file: PaymentFileRow, source: string): string {
  const moved = Object.entries(r.moved);
  const lines = [
    r.repeated
      ? `Already applied: this very answer (sha256 ${r.sha256}) was applied to ${fileNameOf(file)} before; nothing changed now. What it did then:`
      : `Applied ${source} to ${fileNameOf(file)} (payment file ${file.id}): ${plural(r.rows, 'row')}.`,
    `  moved        ${moved.length ? moved.map(([state, n]) => `${state} ${n.toLocaleString('en')}`).join(', ') : 'nothing'}`,
    `  unchanged    ${plural(r.unchanged, 'row')} (already so)`,
    `  paid         ${pkrText(r.paidPkr)}`,
    `  partial      ${plural(r.partial.instructions, 'instruction')} paid less than instructed, ${pkrText(r.partial.outstandingPkr)} still owed`,
    `  outstanding  ${plural(r.outstanding.instructions, 'instruction')} (${pkrText(r.outstanding.pkr)}) of the file with no answer yet`,
  ];
  // A bank answering late for a line that was made again: its other attempts are settled, an overpayment said
  // loudly. (A report kept from before attempts were settled has no such figures.)
  const other = r.otherAttempts as ReconciliationReport['otherAttempts'] | undefined;
  if (other && other.cancelled + other.cancelRequested + other.overpayments > 0)
    lines.push(
      `  other attempts of the lines paid: ${other.cancelled.toLocaleString('en')} cancelled, ${other.cancelRequested.toLocaleString('en')} asked to be stopped (a cancellation file: madad payments files), ${other.overpayments.toLocaleString('en')} paid as well`,
      ...(other.overpayments > 0 ? [`  OVERPAID: ${plural(other.overpayments, 'line')} paid twice; recover the overpayment`] : []),
    );
  return `${lines.join('\n')}\n`;
}

/** One by-state cell as text: households and rupees, `hidden` where the reader's role gets no figure. */
const cell = (c: { households: number | null; pkr: number | null }) =>
  c.households === null ? 'hidden' : c.households === 0 ? '0' : `${c.households.toLocaleString('en')} / ${c.pkr === null ? 'hidden' : rupees(c.pkr)}`;

/** An event's money, for a person to read: totals by state, then by programme, district and channel. */
export function statusText(m: EventPayments): string {
  const out: string[] = [`Money of event ${m.eventId} (incident ${m.incident}), jurisdiction ${m.jurisdiction}, by state:`];
  const widths = { state: Math.max(...MONEY_STATES.map((s) => s.length)), households: 'households'.length };
  out.push(`  ${'state'.padEnd(widths.state)}  households  PKR`);
  for (const s of MONEY_STATES) {
    const c = m.totals[s];
    out.push(`  ${s.padEnd(widths.state)}  ${(c.households === null ? 'hidden' : c.households.toLocaleString('en')).padEnd(widths.households)}  ${c.pkr === null ? 'hidden' : rupees(c.pkr)}`);
  }
  for (const [title, rows] of [
    ['programme', m.byProgramme],
    ['district', m.byDistrict],
    ['channel', m.byChannel],
  ] as const) {
    // Only the states that hold something for one of the rows, so the table stays readable.
    const states = MONEY_STATES.filter((s) => rows.some((r) => r[s].households !== 0));
    out.push('', `By ${title} (households / PKR)`);
    if (rows.length === 0) {
      out.push('  (none)');
      continue;
    }
    const columns = [title, ...states];
    const table = rows.map((r) => [r.key, ...states.map((s) => cell(r[s]))]);
    const w = columns.map((c, i) => Math.max(c.length, ...table.map((r) => r[i]!.length)));
    const line = (values: string[]) => `  ${values.map((v, i) => v.padEnd(w[i]!)).join('  ')}`.trimEnd();
    out.push(line(columns), ...table.map(line));
  }
  return `${out.join('\n')}\n`;
}

export function registerPaymentCommands(program: Command): void {
  const payments = program
    .command('payments')
    .description('payment files of released batches (export, files), the bank\u2019s answer (reconcile), and an event\u2019s money by state (status)')
    .addHelpText(
      'after',
      `
export and reconcile need --as <username>: a finance officer of the batch's payers, on whose behalf you
act; the audit trail records them as the actor, with a cli-... request id. files and status read as the
CLI system actor (federal, every jurisdiction, exact counts).

A file is written as madad-<kind>-<channel>-<batch id's first 8 digits>-<seq>.csv (kind: payment or
cancellation), with <same>.manifest.json beside it (id, batchId, kind, channel, seq, payers, sha256, count,
totalPkr, madeBy, madeAt). Channels and their columns:
${Object.entries(LAYOUTS)
  .map(([channel, l]) => `  ${channel.padEnd(15)}${l.columns.join(',')}`)
  .join('\n')}
The bank's answer (reconcile) has the columns ${RECONCILIATION_COLUMNS.join(',')}.`,
    );

  payments
    .command('export <batchId>')
    .description('make the payment files of a released batch (one per channel for the instructions not yet in a file) and write every file of the batch missing from the folder, each checked against its manifest\u2019s sha256')
    .requiredOption('--as <username>', AS_HELP)
    .option('--out <dir>', 'the folder to write into (default: the current folder)')
    .action((id: string, o: { as: string; out?: string }) => {
      const batchId = uuidOf(id, 'a batch');
      const dir = folderOf(o.out);
      return withDatabase(async (database) => {
        const ctx = await actingAs(database, o.as);
        const actor = `${ctx.actor.kind}:${ctx.actor.name}`;
        const { made, files } = await refusing(async () => {
          requireRolesFor(ctx, 'finance_officer');
          // A batch of millions takes a while: say what is under way.
          process.stdout.write(`Making the payment files of batch ${batchId} as ${actor}\u2026\n`);
          return exportPaymentFiles(ctx, { batchId });
        });
        const status = new Map<string, Written>();
        const madeNow = new Set(made.map((f) => f.id));
        for (const file of files) {
          const done = await refusing(() => writeFileOf(ctx, file, dir));
          status.set(file.id, madeNow.has(file.id) ? 'new' : done);
        }
        if (files.length === 0) {
          process.stdout.write(`Batch ${batchId} has no instruction to pay: no payment file.\n`);
          return;
        }
        printFiles(files, status);
        if (made.length > 0) {
          const count = made.reduce((s, f) => s + f.count, 0);
          const total = made.reduce((s, f) => s + f.totalPkr, 0);
          process.stdout.write(`Made ${plural(made.length, 'new payment file')} of batch ${batchId} as ${actor}: ${plural(count, 'instruction')}, ${pkrText(total)}; written to ${dir}.\n`);
        } else process.stdout.write(`Nothing new: every instruction of batch ${batchId} was in a file already.\n`);
        const again = files.filter((f) => status.get(f.id) === 'written');
        if (again.length > 0) process.stdout.write(`Wrote ${plural(again.length, 'file')} made before and missing from ${dir}.\n`);
      });
    });

  payments
    .command('files <batchId>')
    .description('the payment and cancellation files of a batch, with their manifests (as the CLI system actor)')
    .option('--json', 'print the manifests as JSON')
    .action((id: string, o: { json?: boolean }) => {
      const batchId = uuidOf(id, 'a batch');
      return withDatabase(async (database) => {
        const [b] = await database.db.select({ id: batches.id }).from(batches).where(eq(batches.id, batchId));
        if (!b) throw new CliError(`not found: No batch ${batchId}.`);
        const files = await database.db
          .select()
          .from(paymentFiles)
          .where(eq(paymentFiles.batchId, batchId))
          .orderBy(asc(paymentFiles.kind), asc(paymentFiles.channel), asc(paymentFiles.seq));
        if (o.json) process.stdout.write(`${JSON.stringify(files.map(manifestOf), null, 2)}\n`);
        else if (files.length === 0) process.stdout.write(`Batch ${batchId} has no payment file yet (madad payments export ${batchId} --as <finance officer>).\n`);
        else printFiles(files);
      });
    });

  payments
    .command('reconcile <file>')
    .description('apply the bank\u2019s answer to a payment file: checked whole first (each problem named by row and column, nothing applied), then applied whole; the same answer twice changes nothing')
    .requiredOption('--file <paymentFileId>', 'the payment (or cancellation) file the answer is for')
    .requiredOption('--as <username>', AS_HELP)
    .action((answer: string, o: { file: string; as: string }) => {
      const fileId = uuidOf(o.file, 'a payment file');
      const source = answerFileOf(answer);
      return withDatabase(async (database) => {
        const ctx = await actingAs(database, o.as);
        const file = await refusing(async () => {
          requireRolesFor(ctx, 'finance_officer');
          return getPaymentFile(ctx, fileId);
        });
        const report = await refusing(async () => {
          process.stdout.write(`Applying ${path.basename(source)} to ${fileNameOf(file)} as ${ctx.actor.kind}:${ctx.actor.name}\u2026\n`);
          try {
            return await reconcile(ctx, { fileId, text: createReadStream(source) });
          } catch (err) {
            // A refused answer lists every problem, one a line: the operator corrects the file and sends it again.
            if (err instanceof ValidationError) throw new CliError(refusedText(err));
            throw err;
          }
        });
        process.stdout.write(reportText(report, file, path.basename(source)));
      });
    });

  payments
    .command('status <eventId>')
    .description('the money of an event by state (reserved, released, exported, paid, failed, unclaimed, cancel requested, cancelled), by programme, district and channel (as the CLI system actor, exact counts)')
    .option('--json', 'print it as JSON, as GET /api/events/{id}/payments gives it')
    .action((id: string, o: { json?: boolean }) => {
      const eventId = uuidOf(id, 'an event');
      return withDatabase(async (database) => {
        const money = eventPaymentsSchema.parse(await refusing(() => eventPayments(cliCtx(database), eventId, { minCell: 1 })));
        process.stdout.write(o.json ? `${JSON.stringify(money, null, 2)}\n` : statusText(money));
      });
    });
}

/** The problems of a refused answer, one a line, under the verb's sentence. */
export function refusedText(err: ValidationError): string {
  return [err.message, ...err.fields.map(problemText)].join('\n');
}

