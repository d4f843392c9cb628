import { createHash } from 'node:crypto';
import { and, asc, count, desc, eq, inArray, sql, type SQL } from 'drizzle-orm';
import { maskCnic } from '../access/personal-data.ts';
import { canSeeIdentity, hasRole, type Actor } from '../access/principal.ts';
import { batchScope, prefixPattern, within } from '../access/scope.ts';
import { recordAuditAlone } from '../audit/service.ts';
import type { Ctx } from '../context.ts';
import { queryRows, type Db } from '../db/client.ts';
import { activations, batchApprovals, batches, batchPayers, budgetLines, evaluations } from '../db/schema/index.ts';
import { NotFoundError } from '../errors.ts';
import { pkrText } from '../../triggers/index.ts';
import { disclosureFor, protectAmount, protectCount, type Disclosure } from '../registry/disclosure.ts';
import type { Step } from './approvals.ts';
import type { BATCH_STATUSES } from './schema.ts';

type BatchStatus = (typeof BATCH_STATUSES)[number];
import { budgetFigures, signingJurisdiction } from './budgets.ts';
import type { BatchRow } from './build.ts';

export interface BatchListQuery {
  status?: string | undefined;
  activationId?: string | undefined;
  page: number;
  pageSize: number;
}

/** Whether the actor sees the whole batch, or only its lines within the actor's jurisdiction. */
const seesWhole = (actor: Pick<Actor, 'jurisdiction'>, b: Pick<BatchRow, 'jurisdiction'>) => within(b.jurisdiction, actor.jurisdiction);

/** A line's place for scoping: its finest code. */
const linePlace = sql`coalesce(nullif(tehsil, ''), nullif(district, ''), nullif(province, ''), 'PK')`;
const linesWithin = (actor: Pick<Actor, 'jurisdiction'>, b: Pick<BatchRow, 'jurisdiction'>): SQL =>
  seesWhole(actor, b) ? sql`true` : sql`${linePlace} like ${prefixPattern(actor.jurisdiction)}`;

/**
 * How a reader sees a batch's counts: exact for roles with identity access, protected for the others as every
 * other count of households is (server/registry/disclosure.ts). Without a policy (the CLI, the operator at
 * the database) counts are exact.
 */
const disclosureOf = (actor: Actor, policy: { minCell: number } | undefined) => (policy ? disclosureFor(canSeeIdentity(actor), policy.minCell) : null);

export async function listBatches(ctx: Ctx, q: BatchListQuery, policy?: { minCell: number }) {
  const where = and(
    batchScope.where(ctx.actor),
    q.status ? eq(batches.status, q.status) : undefined,
    q.activationId ? eq(batches.activationId, q.activationId) : undefined,
  );
  const [rows, [total]] = await Promise.all([
    ctx.db.select().from(batches).where(where).orderBy(desc(batches.builtAt), asc(batches.id)).limit(q.pageSize).offset((q.page - 1) * q.pageSize),
    ctx.db.select({ n: count() }).from(batches).where(where),
  ]);
  const disclosure = disclosureOf(ctx.actor, policy);
  return { total: total?.n ?? 0, items: rows.map((b) => summary(ctx.actor, b, { disclosure })) };
}

/**
 * What a list shows of a batch: whole-batch figures only to those who see the whole batch, and to a reader
 * whose counts are protected, the line count protected and the total only where `unit` (the batch's largest
 * line, which a list does not read) lets it be rounded so that it does not give the count back.
 */
function summary(actor: Actor, b: BatchRow, view: { disclosure: Disclosure | null; unit?: number; liveLines?: number }) {
  const whole = seesWhole(actor, b);
  const { disclosure, unit, liveLines = b.lineCount } = view;
  return {
    id: b.id,
    activationId: b.activationId,
    rule: { id: b.ruleId, version: b.ruleVersion, versionId: b.ruleVersionId },
    programme: b.programme,
    purpose: b.purpose,
    incident: b.incident,
    subject: { kind: b.subjectKind, id: b.subjectId },
    stage: b.stage,
    kind: b.kind as 'payment' | 'prepared',
    status: b.status as BatchStatus,
    statusReason: b.statusReason,
    jurisdiction: b.jurisdiction,
    areaCodes: b.areaCodes,
    linesSha256: b.linesSha256,
    build: b.build,
    round: b.round,
    builtAt: b.builtAt.toISOString(),
    builtBy: b.builtBy,
    submittedBy: b.submittedBy,
    submittedAt: b.submittedAt?.toISOString() ?? null,
    whole,
    lineCount: whole ? protectCount(b.lineCount, disclosure) : null,
    totalPkr: !whole ? null : !disclosure ? b.totalPkr : unit === undefined ? null : protectAmount(b.totalPkr, liveLines, unit, disclosure),
  };
}

/**
 * Who is shown a payer's budget line in a batch: those who may read budget lines (GET /api/budgets). A line's
 * committed rupees are the sum of its open batches, so to anyone else they would give back a lone batch's
 * total, and with it the count of households protected above.
 */
export const BUDGET_READERS = ['program_manager', 'finance_officer', 'auditor', 'admin'] as const;
const readsBudgets = (actor: Actor) => hasRole(actor, ...BUDGET_READERS);

type Figures = Record<string, any>;

/**
 * A batch's build figures as a reader with protected counts sees them, as the dry run's caseload is shown
 * (protectCaseload in server/rules/caseload.ts): counts under the smallest cell hidden and the rest rounded,
 * rupees hidden with their households and rounded to `unit` steps, a percentile cut-off (one household's PMT)
 * shown only over enough households, and the ceiling's sentence written again from what is shown. The
 * budget lines' headroom is left to those who read `budgets` (BUDGET_READERS).
 */
export function protectFigures(f: Figures, d: Disclosure | null, unit: number, budgets: boolean): Figures {
  if (!d) return f;
  const n = (x: number) => protectCount(x, d);
  const pkr = (amount: number, households: number, step = unit) => protectAmount(amount, households, step, d);
  const pair = (x: { lines: number; pkr: number } | undefined) => x && { lines: n(x.lines), pkr: pkr(x.pkr, x.lines) };
  const ceiling = f.ceiling as { cutLines: number; cutPkr: number; text: string } | undefined;
  const cutLines = ceiling ? n(ceiling.cutLines) : null;
  const cutPkr = ceiling ? pkr(ceiling.cutPkr, ceiling.cutLines) : null;
  const rule = `counts under ${d.minCell} are not shown and the others are rounded to ${d.roundedTo}`;
  return {
    ...f,
    householdsInArea: n(f.householdsInArea),
    eligible: n(f.eligible),
    cutoffs: ((f.cutoffs ?? []) as Figures[]).map((k) => {
      const shown = protectCount(k.households, d) !== null;
      return { ...k, households: n(k.households), rank: shown ? n(k.rank) : null, atOrUnder: shown ? n(k.atOrUnder) : null, pmtCutoff: shown ? k.pmtCutoff : null };
    }),
    excluded: Object.fromEntries(Object.entries((f.excluded ?? {}) as Record<string, number>).map(([why, count]) => [why, n(count)])),
    requestedPkr: pkr(f.requestedPkr, f.eligible),
    netted: pair(f.netted),
    dropped: pair(f.dropped),
    // Another programme's amounts: rounded to steps of its own line, so its rupees do not give the count back either.
    heldByOthers: Object.fromEntries(
      Object.entries((f.heldByOthers ?? {}) as Record<string, { households: number; pkr: number }>).map(([programme, h]) => [
        programme,
        { households: n(h.households), pkr: pkr(h.pkr, h.households, Math.max(unit, Math.ceil(h.pkr / Math.max(1, h.households)))) },
      ]),
    ),
    ...(ceiling
      ? {
          ceiling: {
            ...ceiling,
            // The budget lines' headroom before the build: budget figures, for their readers only.
            headroomBefore: budgets ? (ceiling as Figures).headroomBefore : null,
            cutLines,
            cutPkr,
            text:
              ceiling.cutLines === 0
                ? ceiling.text
                : `${cutLines === null ? `fewer than ${d.minCell}` : cutLines} lines (${cutPkr === null ? 'amount not shown' : `about ${pkrText(cutPkr)}`}) cut: the payers\u2019 headroom was reached; ${rule}`,
          },
        }
      : {}),
    disclosure: d,
  };
}

async function visibleBatch(db: Db, actor: Actor, id: string): Promise<BatchRow> {
  const [b] = await db.select().from(batches).where(and(eq(batches.id, id), batchScope.where(actor)));
  if (!b) throw new NotFoundError(`No batch ${id}.`);
  return b;
}

/**
 * One batch as the reader may see it: its rule, incident, hash, cut-offs and figures; totals by district and
 * by payer over the lines the reader's jurisdiction holds (all of them federally), each payer's budget line
 * with ceiling, committed, released and headroom; what dedup netted or dropped and which programme holds
 * those households; the approval steps with who signed and when, and which are overdue. Counts are protected
 * for roles without identity access, as every other count of households is.
 */
export async function getBatch(ctx: Ctx, id: string, policy: { minCell: number }) {
  const b = await visibleBatch(ctx.db, ctx.actor, id);
  const within = linesWithin(ctx.actor, b);
  const disclosure = disclosureFor(canSeeIdentity(ctx.actor), policy.minCell);
  const [byDistrict, byPayer, payers, approvals] = await Promise.all([
    queryRows<{ district: string; live: number; pkr: string; dropped: number; netted: number; cancelled: number; largest: number }>(
      ctx.db,
      sql`select coalesce(nullif(district, ''), nullif(province, ''), 'unknown') as district,
            count(*) filter (where state = 'live')::int as live, coalesce(sum(amount_pkr) filter (where state = 'live'), 0)::text as pkr,
            count(*) filter (where state = 'dropped')::int as dropped, count(*) filter (where state = 'live' and net_text is not null)::int as netted,
            count(*) filter (where state = 'cancelled')::int as cancelled, coalesce(max(amount_pkr), 0)::int as largest
          from batch_lines where batch_id = ${b.id}::uuid and ${within} group by 1 order by 1`,
    ),
    queryRows<{ idx: number; households: number; pkr: string }>(
      ctx.db,
      sql`select u.p::int as idx, count(*)::int as households, sum(u.s)::text as pkr
          from batch_lines l, unnest(l.payer_idx, l.shares_pkr) as u(p, s)
          where l.batch_id = ${b.id}::uuid and l.state = 'live' and ${within} group by u.p order by u.p`,
    ),
    ctx.db.select().from(batchPayers).where(eq(batchPayers.batchId, b.id)).orderBy(asc(batchPayers.idx)),
    ctx.db.select().from(batchApprovals).where(eq(batchApprovals.batchId, b.id)).orderBy(asc(batchApprovals.signedAt)),
  ]);
  const budgetIds = payers.map((p) => p.budgetLineId).filter((x): x is string => x !== null);
  const [figures, lines] = await Promise.all([
    budgetFigures(ctx.db, budgetIds),
    budgetIds.length ? ctx.db.select().from(budgetLines).where(inArray(budgetLines.id, budgetIds)) : Promise.resolve([]),
  ]);
  // For a reader who sees the whole batch, byDistrict covers every line: its largest is the batch's.
  const unit = Math.max(1, ...byDistrict.map((d) => d.largest));
  const n = (x: number) => protectCount(x, disclosure);
  const steps = ((b.steps as Step[] | null) ?? []).map((s) => {
    const signed = approvals.find((a) => a.round === b.round && a.step === s.step && a.decision === 'approve');
    return {
      ...s,
      signedBy: signed?.signedBy ?? null,
      signedAt: signed?.signedAt.toISOString() ?? null,
      comment: signed?.comment ?? null,
      overdue: !signed && b.status === 'submitted' && new Date(s.dueAt) < ctx.now,
    };
  });
  const figuresDoc = b.figures as Record<string, unknown>;
  return {
    ...summary(ctx.actor, b, { disclosure, unit, liveLines: byDistrict.reduce((sum, d) => sum + d.live, 0) }),
    figures: seesWhole(ctx.actor, b) ? protectFigures(figuresDoc, disclosure, unit, readsBudgets(ctx.actor)) : { stage: figuresDoc.stage, asOf: figuresDoc.asOf, note: 'whole-batch figures are shown to the batch\u2019s own jurisdiction' },
    registryVersion: b.registryVersion,
    byDistrict: byDistrict.map((d) => ({
      district: d.district,
      households: n(d.live),
      amountPkr: protectAmount(Number(d.pkr), d.live, unit, disclosure),
      netted: n(d.netted),
      dropped: n(d.dropped),
      cancelled: n(d.cancelled),
    })),
    payers: payers.map((p) => {
      const total = byPayer.find((x) => x.idx === p.idx);
      const line = lines.find((l) => l.id === p.budgetLineId);
      const f = p.budgetLineId ? figures.get(p.budgetLineId) : undefined;
      return {
        agency: p.agency,
        jurisdiction: p.jurisdiction,
        signedFor: signingJurisdiction(p.jurisdiction),
        households: n(total?.households ?? 0),
        amountPkr: protectAmount(Number(total?.pkr ?? 0), total?.households ?? 0, unit, disclosure),
        released: p.releasedAt ? { by: p.releasedBy, at: p.releasedAt.toISOString(), amountPkr: p.releasedPkr } : null,
        budget: line && f && readsBudgets(ctx.actor) ? { id: line.id, ceilingPkr: line.ceilingPkr, committedPkr: f.committedPkr, releasedPkr: f.releasedPkr, headroomPkr: f.headroomPkr } : null,
      };
    }),
    steps,
    approvals: approvals.map((a) => ({
      round: a.round,
      step: a.step,
      decision: a.decision as 'approve' | 'reject',
      signedBy: a.signedBy,
      role: a.role,
      jurisdiction: a.jurisdiction,
      comment: a.comment,
      linesSha256: a.linesSha256,
      signedAt: a.signedAt.toISOString(),
    })),
  };
}

export interface LineQuery {
  page: number;
  pageSize: number;
  /** A household id, a P-code prefix, or part of the head's name. */
  q?: string | undefined;
  state?: 'live' | 'dropped' | 'cancelled' | undefined;
}

/**
 * A batch's lines, paged and searchable, for programme managers and finance officers only (the route's guard)
 * and only those in the reader's jurisdiction: identity is shown with the CNIC masked, and every read is audited
 * with a hash of the lines read.
 */
export async function listLines(ctx: Ctx, id: string, q: LineQuery) {
  const b = await visibleBatch(ctx.db, ctx.actor, id);
  const search = q.q?.trim();
  const conditions = [sql`batch_id = ${b.id}::uuid`, linesWithin(ctx.actor, b)];
  if (q.state) conditions.push(sql`state = ${q.state}`);
  if (search)
    conditions.push(
      /^PK\d*$/i.test(search)
        ? sql`${linePlace} like ${prefixPattern(search.toUpperCase())}`
        : sql`(household_id = ${search} or head_name ilike ${`%${search.replace(/[\\%_]/g, '\\$&')}%`})`,
    );
  const where = sql.join(conditions, sql` and `);
  const [rows, [total]] = await Promise.all([
    queryRows<LineRow>(
      ctx.db,
      sql`select line_no, source, household_id, cnic, head_name, province, district, tehsil, pmt, requested_pkr, amount_pkr, payer_idx, shares_pkr,
            payment_channel, payment_account, reasons_idx, net_text, state
          from batch_lines where ${where} order by line_no limit ${q.pageSize} offset ${(q.page - 1) * q.pageSize}`,
    ),
    queryRows<{ n: number }>(ctx.db, sql`select count(*)::int as n from batch_lines where ${where}`),
  ]);
  const payers = (b.payers as { agency: string; jurisdiction: string }[]) ?? [];
  const reasons = (b.reasons as string[][]) ?? [];
  if (rows.length > 0) {
    const numbers = rows.map((r) => r.line_no);
    await recordAuditAlone(ctx, {
      action: 'identity.read',
      subject: `batch:${b.id}`,
      jurisdiction: seesWhole(ctx.actor, b) ? b.jurisdiction : ctx.actor.jurisdiction,
      summary: {
        batchId: b.id,
        lines: numbers.length,
        page: q.page,
        pageSize: q.pageSize,
        ...(search ? { search } : {}),
        linesSha256: createHash('sha256').update(numbers.join(',')).digest('hex'),
        fields: ['head_name', 'cnic (masked)', 'payment_channel', 'payment_account (masked)'],
      },
    });
  }
  return {
    total: total?.n ?? 0,
    page: q.page,
    items: rows.map((r) => ({
      lineNo: r.line_no,
      source: r.source,
      householdId: r.household_id,
      cnic: maskCnic(r.cnic),
      headName: r.head_name,
      province: r.province,
      district: r.district,
      tehsil: r.tehsil,
      pmt: r.pmt,
      requestedPkr: r.requested_pkr,
      amountPkr: r.amount_pkr,
      shares: r.payer_idx.map((p, i) => ({ agency: payers[p]?.agency ?? '?', jurisdiction: payers[p]?.jurisdiction ?? '?', amountPkr: r.shares_pkr[i]! })),
      paymentChannel: r.payment_channel,
      paymentAccount: r.payment_account ? maskAccount(r.payment_account) : null,
      reasons: reasons[r.reasons_idx] ?? [],
      netText: r.net_text,
      state: r.state,
    })),
  };
}

interface LineRow {
  line_no: number;
  source: string;
  household_id: string;
  cnic: string;
  head_name: string;
  province: string;
  district: string;
  tehsil: string;
  pmt: number;
  requested_pkr: number;
  amount_pkr: number;
  payer_idx: number[];
  shares_pkr: number[];
  payment_channel: string | null;
  payment_account: string | null;
  reasons_idx: number;
  net_text: string | null;
  state: 'live' | 'dropped' | 'cancelled';
}

/** An account or wallet number with all but its last four characters hidden. */
export function maskAccount(account: string): string {
  return account.length <= 4 ? '****' : `${'*'.repeat(Math.min(8, account.length - 4))}${account.slice(-4)}`;
}

/** Activations the actor may see (through the scope of their subject), newest first, with their batches. */
export async function listActivations(ctx: Ctx, q: { status?: string | undefined; page: number; pageSize: number }, policy?: { minCell: number }) {
  const visible = sql`exists (select 1 from evaluations e where e.id = ${activations.evaluationId}
    and exists (select 1 from jsonb_array_elements_text(e.decision -> 'areaCodes') c where starts_with(c, ${ctx.actor.jurisdiction}) or starts_with(${ctx.actor.jurisdiction}, c)))`;
  const where = and(ctx.actor.jurisdiction === 'PK' ? undefined : visible, q.status ? eq(activations.status, q.status) : undefined);
  const [rows, [total]] = await Promise.all([
    ctx.db.select().from(activations).where(where).orderBy(desc(activations.createdAt), asc(activations.id)).limit(q.pageSize).offset((q.page - 1) * q.pageSize),
    ctx.db.select({ n: count() }).from(activations).where(where),
  ]);
  return { total: total?.n ?? 0, items: await Promise.all(rows.map((a) => activationView(ctx, a, policy))) };
}

export async function getActivation(ctx: Ctx, id: string, policy?: { minCell: number }) {
  const [a] = await ctx.db.select().from(activations).where(eq(activations.id, id));
  if (!a) throw new NotFoundError(`No activation ${id}.`);
  const view = await activationView(ctx, a, policy);
  if (!view.visible) throw new NotFoundError(`No activation ${id}.`);
  return view;
}

async function activationView(ctx: Ctx, a: typeof activations.$inferSelect, policy: { minCell: number } | undefined) {
  const [made] = await ctx.db.select({ decision: evaluations.decision }).from(evaluations).where(eq(evaluations.id, a.evaluationId));
  const decision = made?.decision as { areaCodes: string[]; summary: string } | undefined;
  const areaCodes = decision?.areaCodes ?? [];
  const j = ctx.actor.jurisdiction;
  const own = await ctx.db.select().from(batches).where(and(eq(batches.activationId, a.id), batchScope.where(ctx.actor))).orderBy(asc(batches.builtAt));
  return {
    visible: j === 'PK' || areaCodes.some((c) => c.startsWith(j) || j.startsWith(c)),
    id: a.id,
    ruleId: a.ruleId,
    ruleVersionId: a.ruleVersionId,
    subject: { kind: a.subjectKind, id: a.subjectId },
    stage: a.stage,
    status: a.status,
    stoppedReason: a.stoppedReason,
    createdAt: a.createdAt.toISOString(),
    stoppedAt: a.stoppedAt?.toISOString() ?? null,
    evaluationId: a.evaluationId,
    areaCodes,
    summary: decision?.summary ?? '',
    batches: own.map((b) => summary(ctx.actor, b, { disclosure: disclosureOf(ctx.actor, policy) })),
  };
}
