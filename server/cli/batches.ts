import type { Command } from 'commander';
import { eq } from 'drizzle-orm';
import { z } from 'zod';
import { pkrText } from '../../triggers/index.ts';
import { userPrincipal } from '../access/credentials.ts';
import { hasRole } from '../access/principal.ts';
import type { Role } from '../access/roles.ts';
import { approveBatch, cancelBatch, DEFAULT_APPROVAL_POLICY, rejectBatch, submitBatch } from '../batches/approvals.ts';
import { buildBatch, rebuildBatch } from '../batches/build.ts';
import { batchDeps, type BatchDeps } from '../batches/deps.ts';
import { releaseBatch } from '../batches/release.ts';
import { approveBody, BATCH_STATUSES, batchSchema, reasonBody, type Batch } from '../batches/schema.ts';
import { getActivation, getBatch, listBatches } from '../batches/service.ts';
import type { Ctx } from '../context.ts';
import type { Database } from '../db/client.ts';
import { users } from '../db/schema/index.ts';
import { parseEnv } from '../env.ts';
import { ConflictError, ForbiddenError, NotFoundError, ValidationError } from '../errors.ts';
import { cliCtx, printTable, withDatabase, cliRegistry } from './context.ts';
import { CliError } from './errors.ts';

/** The help text of `--as`: the CLI's operator acts for a named officer, and the trail says so. */
export const AS_HELP =
  'the officer (a Madad username) on whose behalf you act: their roles and jurisdiction decide what is allowed, and the audit trail records them as the actor';

/**
 * The context of an operator acting for a Madad user: that user's roles, agency and jurisdiction, so the
 * maker-checker rules meet a real person, with the CLI's request id (`cli-…`). A disabled user acts no more.
 */
export async function actingAs(database: Database, username: string): Promise<Ctx> {
  const [row] = await database.db.select().from(users).where(eq(users.username, username.trim()));
  if (!row) throw new CliError(`--as: no Madad user named ${JSON.stringify(username)} (madad users list shows them)`);
  if (row.disabledAt) throw new CliError(`--as: ${row.username} was disabled on ${row.disabledAt.toISOString()} and may not act`);
  return { ...cliCtx(database), actor: userPrincipal(row) };
}

/** The roles each route's guard lets in, asked here too: the CLI reaches the verbs without the routes. */
export function requireRolesFor(ctx: Ctx, ...roles: Role[]): void {
  if (!hasRole(ctx.actor, ...roles))
    throw new ForbiddenError(`${ctx.actor.name} is ${ctx.actor.roles.join(', ')} of ${ctx.actor.jurisdiction}; this needs a ${roles.join(' or a ')}.`);
}

/**
 * Runs a verb and turns its domain refusals into messages the operator reads, with a non-zero exit: the
 * domain's own words, after what kind of refusal it is.
 */
export async function refusing<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof NotFoundError) throw new CliError(`not found: ${err.message}`);
    if (err instanceof ForbiddenError) throw new CliError(`not allowed: ${err.message}`);
    if (err instanceof ValidationError) throw new CliError(`invalid: ${err.message}${err.fields.length ? ` (${err.fields.map((f) => `${f.field}: ${f.message}`).join('; ')})` : ''}`);
    if (err instanceof ConflictError) {
      const line = err.details?.budgetLineId;
      const hint = typeof line === 'string' ? `\nFrom the command line: madad budgets amend ${line} --ceiling <PKR> --reason <text> --reference <text> --as <finance officer>` : '';
      throw new CliError(`refused: ${err.message}${hint}`);
    }
    throw err;
  }
}

/** A value checked with the schema the HTTP body uses, its refusal naming the option. */
export function checked<T>(schema: z.ZodType<T>, value: unknown, options: Record<string, string> = {}): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  throw new CliError(
    result.error.issues
      .map((i) => {
        const field = String(i.path[0] ?? '');
        return `${options[field] ?? (field ? `--${field}` : 'options')}: ${i.message}`;
      })
      .join('; '),
  );
}

/** An id argument: a UUID, or a message saying what was expected. */
export function uuidOf(value: string, what: string): string {
  const id = value.trim().toLowerCase();
  if (!z.uuid().safeParse(id).success) throw new CliError(`expected ${what} id (a UUID such as 0b9f5c1e-…), got ${JSON.stringify(value)}`);
  return id;
}

/** The batch dependencies of the CLI: the registry in memory (closed after), the dedup key and approval hours from the settings. */
async function withBatchDeps<T>(database: Database, fn: (deps: BatchDeps) => Promise<T>): Promise<T> {
  const registry = cliRegistry(database);
  try {
    return await fn(batchDeps(database, registry, parseEnv()));
  } finally {
    registry.close();
  }
}

/**
 * One batch as GET /api/batches/{id} gives it, with exact counts: whoever runs the CLI reads the database
 * itself, so protecting small cells from them would hide nothing (a smallest cell of 1 protects nothing).
 */
const show = async (ctx: Ctx, id: string): Promise<Batch> => batchSchema.parse(await getBatch(ctx, id, { minCell: 1 }));

/** Rupees in a table: digits grouped, "hidden" where the reader's role gets no figure. */
const rupees = (n: number | null | undefined) => (n === null || n === undefined ? 'hidden' : pkrText(n).slice(4));
const money = (n: number | null | undefined) => (n === null || n === undefined ? 'hidden' : pkrText(n));

/** What the batch waits for, in a sentence. */
function waitingFor(b: Batch): string {
  if (b.status === 'submitted') {
    const open = b.steps.filter((s) => !s.signedBy);
    return `waits for ${open.map((s) => `a ${s.role} of ${s.jurisdiction} (due ${s.dueAt}${s.overdue ? ', OVERDUE' : ''})`).join(' and ')}`;
  }
  if (b.status === 'approved') return `approved: waits for release by a finance officer of ${[...new Set(b.payers.map((p) => p.signedFor))].join(' and ')}`;
  if (b.status === 'partly_released') return `partly released: waits for ${b.payers.filter((p) => !p.released).map((p) => `${p.agency} (${p.signedFor})`).join(', ')}`;
  if (b.status === 'draft') return b.statusReason ? `draft (${b.statusReason})` : 'draft: waits to be submitted';
  return b.statusReason ? `${b.status} (${b.statusReason})` : b.status;
}

/** The figures a build writes on its batch (server/batches/build.ts), or only a note for a partial reader. */
interface BuildFigures {
  stage?: string;
  asOf?: string;
  note?: string;
  householdsInArea?: number;
  eligible?: number;
  percent?: number | null;
  cutoffs?: { areaCode: string; percent: number; households: number; pmtCutoff: number; atOrUnder: number }[];
  excluded?: Record<string, number>;
  requestedPkr?: number;
  netted?: { lines: number; pkr: number };
  dropped?: { lines: number; pkr: number };
  heldByOthers?: Record<string, { households: number; pkr: number }>;
  ceiling?: { text: string };
}

/** One batch as plain text: what GET /api/batches/{id} gives, for a person to read. */
export function batchText(b: Batch): string {
  const out: string[] = [];
  const row = (label: string, value: string) => out.push(`  ${label.padEnd(13)}${value}`);
  out.push(`Batch ${b.id}: ${b.programme} ${b.kind === 'prepared' ? 'prepared list' : 'payment'}, ${b.status.replace('_', ' ')}`);
  row('rule', `${b.rule.id} version ${b.rule.version} (${b.rule.versionId})`);
  row('purpose', `${b.purpose}, stage ${b.stage}`);
  row('incident', b.incident);
  row('subject', `${b.subject.kind} ${b.subject.id}; activation ${b.activationId}`);
  row('jurisdiction', `${b.jurisdiction}; areas ${b.areaCodes.join(', ')}`);
  row('built', `${b.builtAt} by ${b.builtBy} (build ${b.build}, registry ${b.registryVersion})`);
  if (b.submittedBy) row('submitted', `${b.submittedAt} by ${b.submittedBy} (round ${b.round})`);
  const paid = b.status === 'cancelled' ? 'cancelled: nothing is paid' : b.status === 'released' ? 'released' : b.status === 'partly_released' ? 'released in part' : 'to pay';
  row('lines', b.whole ? `${b.lineCount} lines, ${money(b.totalPkr)} ${paid}` : 'only the lines of your jurisdiction are counted below');
  row('lines sha256', b.linesSha256);
  row('status', waitingFor(b));

  const f = b.figures as BuildFigures;
  out.push('', `Figures${f.asOf ? ` (registry as of ${f.asOf})` : ''}`);
  if (!b.whole) out.push(`  ${f.note}`);
  else {
    out.push(`  ${f.householdsInArea} households in the area, ${f.eligible} eligible${f.percent === null || f.percent === undefined ? '' : ` (${f.percent} %)`}; requested ${money(f.requestedPkr)}`);
    for (const c of f.cutoffs ?? [])
      out.push(`  cut-off in ${c.areaCode}: poorest ${c.percent} % of ${c.households} households, PMT at or under ${c.pmtCutoff} (${c.atOrUnder} households)`);
    const excluded = Object.entries(f.excluded ?? {}).filter(([, n]) => n > 0);
    if (excluded.length) out.push(`  excluded: ${excluded.map(([why, n]) => `${n} by ${why}`).join(', ')}`);
    out.push(`  netted: ${f.netted?.lines ? `${f.netted.lines} lines reduced by ${money(f.netted.pkr)}, part paid already for this incident and purpose` : 'none'}`);
    out.push(`  dropped: ${f.dropped?.lines ? `${f.dropped.lines} lines (${money(f.dropped.pkr)} requested), paid in full already by others` : 'none'}`);
    const held = Object.entries(f.heldByOthers ?? {});
    out.push(`  held by others: ${held.length ? held.map(([p, h]) => `${p} ${h.households} households, ${money(h.pkr)}`).join('; ') : 'none'}`);
    if (f.ceiling?.text) out.push(`  ceiling: ${f.ceiling.text}`);
    if (f.note) out.push(`  note: ${f.note}`);
  }

  const count = (n: number | null) => (n === null ? 'hidden' : String(n));
  out.push('', 'By district');
  out.push(
    ...table(
      b.byDistrict.map((d) => ({ district: d.district, households: count(d.households), 'amount PKR': rupees(d.amountPkr), netted: count(d.netted), dropped: count(d.dropped), cancelled: count(d.cancelled) })),
      ['district', 'households', 'amount PKR', 'netted', 'dropped', 'cancelled'],
    ),
  );
  out.push('', 'By payer, with its budget line');
  out.push(
    ...table(
      b.payers.map((p) => ({
        payer: `${p.agency} (${p.jurisdiction})`,
        'signed for': p.signedFor,
        households: count(p.households),
        'amount PKR': rupees(p.amountPkr),
        released: p.released ? `${rupees(p.released.amountPkr)} by ${p.released.by} at ${p.released.at}` : 'not yet',
        'ceiling PKR': p.budget ? rupees(p.budget.ceilingPkr) : 'no budget line',
        'committed PKR': p.budget ? rupees(p.budget.committedPkr) : '',
        'released PKR': p.budget ? rupees(p.budget.releasedPkr) : '',
        'headroom PKR': p.budget ? rupees(p.budget.headroomPkr) : '',
      })),
      ['payer', 'signed for', 'households', 'amount PKR', 'released', 'ceiling PKR', 'committed PKR', 'released PKR', 'headroom PKR'],
    ),
  );

  out.push('', b.steps.length ? `Approval steps, round ${b.round}` : 'Approval steps: none yet (fixed when the batch is submitted, from the rule\u2019s tier for its total)');
  if (b.steps.length)
    out.push(
      ...table(
        b.steps.map((s) => ({
          step: String(s.step),
          signer: `${s.role} of ${s.jurisdiction}`,
          due: s.dueAt,
          'signed by': s.signedBy ? `${s.signedBy} at ${s.signedAt}` : s.overdue ? 'OVERDUE' : 'waiting',
          comment: s.comment ?? '',
        })),
        ['step', 'signer', 'due', 'signed by', 'comment'],
      ),
    );
  if (b.approvals.length) {
    out.push('', 'Signatures');
    out.push(
      ...table(
        b.approvals.map((a) => ({ round: String(a.round), decision: a.decision, by: `${a.signedBy} (${a.role} of ${a.jurisdiction})`, at: a.signedAt, comment: a.comment })),
        ['round', 'decision', 'by', 'at', 'comment'],
      ),
    );
  }
  return `${out.join('\n')}\n`;
}

/** Rows as aligned text lines, indented under a heading. */
function table(rows: Record<string, string>[], columns: string[]): string[] {
  if (rows.length === 0) return ['  (none)'];
  const widths = columns.map((c) => Math.max(c.length, ...rows.map((r) => (r[c] ?? '').length)));
  const line = (values: string[]) => `  ${values.map((v, i) => v.padEnd(widths[i]!)).join('  ')}`.trimEnd();
  return [line(columns), ...rows.map((r) => line(columns.map((c) => r[c] ?? '')))];
}

/** Prints a batch after an acting verb, as the actor now sees it. */
async function report(ctx: Ctx, id: string, said: (b: Batch) => string): Promise<void> {
  const b = await show(ctx, id);
  process.stdout.write(`${said(b)}\n${b.id}: ${waitingFor(b)}.\n`);
}

/**
 * Registers an acting verb: it needs `--as`, checks its arguments before the database opens, runs as that
 * user and says what happened.
 */
function acting<O extends { as: string }, I>(
  cmd: Command,
  parse: (o: O) => I,
  run: (ctx: Ctx, database: Database, id: string, input: I) => Promise<void>,
  what = 'a batch',
): Command {
  return cmd.requiredOption('--as <username>', AS_HELP).action((id: string, o: O) => {
    const target = uuidOf(id, what);
    const input = parse(o);
    return withDatabase(async (database) => {
      const ctx = await actingAs(database, o.as);
      await refusing(() => run(ctx, database, target, input));
    });
  });
}

const nothing = () => undefined;
const actorName = (ctx: Ctx) => `${ctx.actor.kind}:${ctx.actor.name}`;

export function registerBatchCommands(program: Command): void {
  const batches = program
    .command('batches')
    .description('payment batches built from activations: list, show, build, rebuild, submit, approve, reject, cancel, release')
    .addHelpText(
      'after',
      `
The acting verbs (build, rebuild, submit, approve, reject, cancel, release) need --as <username>: the
officer on whose behalf you act. Their roles and jurisdiction decide what is allowed (the submitter of a
batch may not approve it), and the audit trail records them as the actor, with a cli-... request id.
list and show read as the CLI system actor (federal, every jurisdiction).`,
    );

  batches
    .command('list')
    .description('batches, newest first (as the CLI system actor: every jurisdiction)')
    .option('--status <status>', BATCH_STATUSES.join(', '))
    .option('--activation <id>', 'only the batches of this activation')
    .action((o: { status?: string; activation?: string }) => {
      if (o.status && !(BATCH_STATUSES as readonly string[]).includes(o.status)) throw new CliError(`--status: expected one of ${BATCH_STATUSES.join(', ')}, got ${JSON.stringify(o.status)}`);
      const activationId = o.activation ? uuidOf(o.activation, 'an activation') : undefined;
      return withDatabase(async (database) => {
        const { total, items } = await listBatches(cliCtx(database), { status: o.status, activationId, page: 1, pageSize: 500 });
        if (total === 0) {
          process.stdout.write('No batches.\n');
          return;
        }
        printTable(
          items.map((b) => ({
            id: b.id,
            rule: `${b.rule.id} v${b.rule.version}`,
            programme: b.programme,
            status: b.status,
            lines: b.lineCount,
            'total PKR': rupees(b.totalPkr),
            'built at': b.builtAt,
          })),
          ['id', 'rule', 'programme', 'status', 'lines', 'total PKR', 'built at'],
        );
        if (total > items.length) process.stdout.write(`… ${items.length} of ${total} shown; narrow with --status or --activation.\n`);
      });
    });

  batches
    .command('show <id>')
    .description('one batch: rule and version, incident, lines sha256, figures with cut-offs, netted, dropped and held by others, totals by district and payer, budget headroom, approval steps (as the CLI system actor)')
    .option('--json', 'print the whole batch as JSON, as GET /api/batches/{id} gives it')
    .action((id: string, o: { json?: boolean }) => {
      const batchId = uuidOf(id, 'a batch');
      return withDatabase(async (database) => {
        const ctx = cliCtx(database);
        const b = await refusing(() => show(ctx, batchId));
        if (o.json) process.stdout.write(`${JSON.stringify(b, null, 2)}\n`);
        else process.stdout.write(batchText(b));
      });
    });

  acting(
    batches.command('build <activationId>').description('build the batch of an activation by hand (a draft, or a prepared list for readiness), as a programme manager; refused if it has a live batch'),
    nothing,
    async (ctx, database, activationId) => {
      requireRolesFor(ctx, 'program_manager');
      await getActivation(ctx, activationId);
      const built = await withBatchDeps(database, (deps) => buildBatch(ctx, { activationId }, deps));
      if (!built!.created)
        throw new ConflictError(`Activation ${activationId} already has batch ${built!.batch.id} (${built!.batch.status}); rebuild that draft instead (madad batches rebuild ${built!.batch.id}).`);
      await report(ctx, built!.batch.id, (b) => `Built batch ${b.id} (${b.status}) for activation ${activationId} as ${actorName(ctx)}: ${b.lineCount} lines, ${money(b.totalPkr)}, sha256 ${b.linesSha256}.`);
    },
    'an activation',
  );

  acting(
    batches.command('rebuild <id>').description('build a draft (or a prepared list) again from the registry as it is now, as a programme manager'),
    nothing,
    async (ctx, database, id) => {
      requireRolesFor(ctx, 'program_manager');
      await withBatchDeps(database, (deps) => rebuildBatch(ctx, { batchId: id }, deps));
      await report(ctx, id, (b) => `Rebuilt batch ${b.id} (build ${b.build}) as ${actorName(ctx)}: ${b.lineCount} lines, ${money(b.totalPkr)}, sha256 ${b.linesSha256}.`);
    },
  );

  acting(
    batches.command('submit <id>').description('send a draft for approval, as a programme manager of its payers; the rule\u2019s tier for its total fixes the steps'),
    nothing,
    async (ctx, _database, id) => {
      requireRolesFor(ctx, 'program_manager');
      await submitBatch(ctx, { id }, { ...DEFAULT_APPROVAL_POLICY, stepHours: parseEnv().MADAD_APPROVAL_HOURS });
      await report(ctx, id, (b) => `Submitted batch ${b.id} for approval (round ${b.round}, ${money(b.totalPkr)}) as ${actorName(ctx)}.`);
    },
  );

  acting(
    batches
      .command('approve <id>')
      .description('sign the next step you may sign (never your own batch, once a round: maker-checker)')
      .requiredOption('--comment <text>', 'what you checked, for the trail')
      .option('--sha256 <hex>', 'the lines sha256 you checked (batches show): refused if the lines changed since'),
    (o: { as: string; comment: string; sha256?: string }) =>
      checked(approveBody, { comment: o.comment, ...(o.sha256 !== undefined ? { linesSha256: o.sha256.trim().toLowerCase() } : {}) }, { linesSha256: '--sha256' }),
    async (ctx, _database, id, input) => {
      requireRolesFor(ctx, 'program_manager', 'finance_officer');
      await approveBatch(ctx, { id, ...input });
      await report(ctx, id, (b) => `Signed batch ${b.id} as ${actorName(ctx)}.`);
    },
  );

  acting(
    batches.command('reject <id>').description('send a submitted batch back to draft, with a reason, as one of its signers').requiredOption('--reason <text>', 'why, for the trail and the maker'),
    (o: { as: string; reason: string }) => checked(reasonBody, { reason: o.reason }),
    async (ctx, _database, id, input) => {
      requireRolesFor(ctx, 'program_manager', 'finance_officer');
      await rejectBatch(ctx, { id, ...input });
      await report(ctx, id, (b) => `Rejected batch ${b.id} back to draft as ${actorName(ctx)}.`);
    },
  );

  acting(
    batches
      .command('cancel <id>')
      .description('cancel a batch before release, as a programme manager of its payers: its lines are cancelled and their reservations freed')
      .requiredOption('--reason <text>', 'why, for the trail'),
    (o: { as: string; reason: string }) => checked(reasonBody, { reason: o.reason }),
    async (ctx, _database, id, input) => {
      requireRolesFor(ctx, 'program_manager');
      await cancelBatch(ctx, { id, ...input });
      await report(ctx, id, (b) => `Cancelled batch ${b.id} as ${actorName(ctx)}.`);
    },
  );

  acting(
    batches
      .command('release <id>')
      .description('release your jurisdiction\u2019s share of an approved batch against its budget line, as a finance officer (refused with the shortfall when the ceiling cannot hold it)'),
    nothing,
    async (ctx, _database, id) => {
      requireRolesFor(ctx, 'finance_officer');
      await releaseBatch(ctx, { id });
      await report(ctx, id, (b) => {
        const mine = b.payers.filter((p) => p.released?.by === actorName(ctx));
        return `Released ${mine.map((p) => `the ${p.agency} share, ${money(p.released!.amountPkr)},`).join(' and ')} of batch ${b.id} as ${actorName(ctx)}.`;
      });
    },
  );
}
