import { createHash } from 'node:crypto';
import { and, eq, ne, sql } from 'drizzle-orm';
import type { Geometry } from 'geojson';
import { dedupe, fitBudgets, pkrText, splitByShares, type Decision, type ExistingPayment, type PaidBy, type Rule, type Stage } from '../../triggers/index.ts';
import { commonJurisdiction } from '../access/jurisdiction.ts';
import { hasRole } from '../access/principal.ts';
import { batchScope } from '../access/scope.ts';
import { recordAudit } from '../audit/service.ts';
import { withTransaction, type Ctx, type TxCtx } from '../context.ts';
import { queryRows, type Db, type Tx } from '../db/client.ts';
import { activations, alerts, batches, batchLines, batchPayers, evaluations, events, reservations, ruleVersions } from '../db/schema/index.ts';
import { ConflictError, ForbiddenError, NotFoundError } from '../errors.ts';
import { caseloadWithLines } from '../rules/caseload.ts';
import { areaGeometry } from '../rules/subjects.ts';
import { budgetFigures, ensureBudgetLines, signingJurisdiction } from './budgets.ts';
import type { BatchDeps } from './deps.ts';
import { requireBatchManager } from './approvals.ts';
import { freeReservations, lockReservations } from './reservations.ts';


export type BatchRow = typeof batches.$inferSelect;
type ActivationRow = typeof activations.$inferSelect;

/** Rows written per statement: big enough to be fast, small enough to keep each parameter a few MB. */
const CHUNK = 20_000;

/**
 * The incident a batch belongs to: one top-up per household per incident and purpose. A declared event is
 * its own incident, unless it names alerts: then it shares the first alert's chain, so the event's batches
 * and the alert's batches net off each other. An alert's incident is its chain (an Update nets off what the
 * original paid).
 */
export async function incidentOf(db: Db | Tx, kind: string, subjectId: string): Promise<string> {
  if (kind === 'alert') {
    const [a] = await db.select({ chainId: alerts.chainId }).from(alerts).where(eq(alerts.id, subjectId));
    return `alert-chain:${a?.chainId ?? subjectId}`;
  }
  const [e] = await db.select({ alertIds: events.alertIds }).from(events).where(eq(events.id, subjectId));
  const first = e?.alertIds[0];
  if (!first) return `event:${subjectId}`;
  return incidentOf(db, 'alert', first);
}

interface Candidate {
  /** The household's database id (the registry index's id). */
  id: string;
  source: string;
  householdId: string;
  dedupKey: string;
  cnic: string;
  headName: string;
  province: string;
  district: string;
  tehsil: string;
  pmt: number;
  requested: number;
  amount: number;
  payers: readonly { agency: string; jurisdiction: string; share_bp: number }[];
  reasons: readonly string[];
  channel: string | null;
  account: string | null;
  netText: string | null;
  /** Earlier holders of the household for this incident and purpose (other programmes or lines). */
  paidBy: readonly PaidBy[];
  dropped: boolean;
}

/** One line's shares, keyed as the budget lines are (`agency|jurisdiction`). */
const payerKey = (p: { agency: string; jurisdiction: string }) => `${p.agency}|${p.jurisdiction}`;

/** Identity and payment details of households at this moment, read in chunks by database id. */
async function identities(tx: Tx, ids: string[]) {
  const out = new Map<string, { householdId: string; cnic: string; headName: string; channel: string | null; account: string | null }>();
  for (let i = 0; i < ids.length; i += 50_000) {
    const rows = await queryRows<{ id: string; household_id: string; cnic: string; head_name: string; payment_channel: string | null; payment_account: string | null }>(
      tx as unknown as Db,
      sql`select id::text, household_id, cnic, head_name, payment_channel, payment_account from households where id = any(${`{${ids.slice(i, i + 50_000).join(',')}}`}::bigint[])`,
    );
    for (const r of rows) out.set(r.id, { householdId: r.household_id, cnic: r.cnic, headName: r.head_name, channel: r.payment_channel, account: r.payment_account });
  }
  return out;
}

/** What earlier batches of this incident and purpose hold, per dedup key: the ledger netting reads. */
async function heldFor(tx: Tx, incident: string, purpose: string, keys: string[]): Promise<ExistingPayment[]> {
  const out: ExistingPayment[] = [];
  for (let i = 0; i < keys.length; i += 50_000) {
    const rows = await queryRows<{ dedup_key: string; held_by: { programme: string; amount: number }[] }>(
      tx as unknown as Db,
      sql`select dedup_key, held_by from reservations where incident = ${incident} and purpose = ${purpose}
          and dedup_key in (select jsonb_array_elements_text(${JSON.stringify(keys.slice(i, i + 50_000))}::jsonb))`,
    );
    for (const r of rows) for (const h of r.held_by) out.push({ householdKey: r.dedup_key, programme: h.programme, amount: h.amount });
  }
  return out;
}

/** The canonical text of a line, hashed into the batch's `lines_sha256`: what approvers sign. */
const lineText = (n: number, c: Candidate, shares: number[]) =>
  JSON.stringify([n, c.source, c.householdId, c.dedupKey, c.province, c.district, c.tehsil, c.pmt, c.requested, c.amount, c.payers.map(payerKey), shares, c.channel, c.account, c.dropped ? 'dropped' : 'live', c.netText]);

interface Built {
  batch: BatchRow;
  created: boolean;
}

interface Subject {
  activation: ActivationRow;
  rule: Rule;
  decision: Decision;
  geometry: Geometry | null;
  incident: string;
}

async function subjectOf(tx: Tx, activationId: string): Promise<Subject> {
  const [activation] = await tx.select().from(activations).where(eq(activations.id, activationId));
  if (!activation) throw new NotFoundError(`No activation ${activationId}.`);
  const [version] = await tx.select({ parsed: ruleVersions.parsed }).from(ruleVersions).where(eq(ruleVersions.id, activation.ruleVersionId));
  const [made] = await tx.select({ decision: evaluations.decision }).from(evaluations).where(eq(evaluations.id, activation.evaluationId));
  const rule = version!.parsed as Rule;
  const decision = made!.decision as Decision;
  let geometry: Geometry | null = null;
  if (activation.subjectKind === 'alert') {
    const [a] = await tx.select({ geometry: alerts.geometry }).from(alerts).where(eq(alerts.id, activation.subjectId));
    geometry = areaGeometry(a?.geometry);
  }
  return { activation, rule, decision, geometry, incident: await incidentOf(tx, activation.subjectKind, activation.subjectId) };
}

/**
 * Builds the batch of an activation (the outbox reaction to `activation.fired`, or a programme manager by
 * hand), or returns the live one it already has. A readiness activation gets a prepared list (the caseload
 * without money); an activation stage a draft with money. In the caller's transaction: a build that fails
 * half-way leaves no batch, no lines and no reservations.
 */
export async function buildBatch(ctx: Ctx, input: { activationId: string; skipStopped?: boolean }, deps: Pick<BatchDeps, 'registry' | 'dedupKey'>): Promise<Built | null> {
  return withTransaction(ctx, async (t) => {
    await t.tx.execute(sql`select pg_advisory_xact_lock(hashtext(${`batches:activation:${input.activationId}`}))`);
    const subject = await subjectOf(t.tx, input.activationId);
    const [live] = await t.tx.select().from(batches).where(and(eq(batches.activationId, input.activationId), ne(batches.status, 'cancelled')));
    if (live) return { batch: live, created: false };
    if (subject.activation.status !== 'active' && input.skipStopped) return null;
    if (subject.activation.status !== 'active')
      throw new ConflictError(`Activation ${input.activationId} is ${subject.activation.status} (${subject.activation.stoppedReason ?? 'stopped'}): it pays nothing.`);
    const batch = await writeBatch(t, subject, deps, null);
    // By hand, only a programme manager of the batch's payers builds it (the system builds every one).
    if (t.actor.kind !== 'system') await requireBatchManager(t, batch, 'build');
    return { batch, created: true };
  });
}

/**
 * Builds the draft again from the registry as it is now (a refreshed import): its lines and reservations
 * are replaced, the build count goes up, and any earlier signatures stay with the round they were given in.
 */
export async function rebuildBatch(ctx: Ctx, input: { batchId: string }, deps: Pick<BatchDeps, 'registry' | 'dedupKey'>): Promise<BatchRow> {
  if (!hasRole(ctx.actor, 'program_manager', 'admin')) throw new ForbiddenError('Only a programme manager may rebuild a batch.');
  return withTransaction(ctx, async (t) => {
    const [row] = await t.tx.select().from(batches).where(and(eq(batches.id, input.batchId), batchScope.where(ctx.actor))).for('update');
    if (!row) throw new NotFoundError(`No batch ${input.batchId}.`);
    await requireBatchManager(t, row, 'rebuild');
    if (row.status !== 'draft' && row.status !== 'prepared')
      throw new ConflictError(`Batch ${row.id} is ${row.status}: only a draft (or a prepared list) is rebuilt. Reject it back to draft first.`);
    await t.tx.execute(sql`select pg_advisory_xact_lock(hashtext(${`batches:activation:${row.activationId}`}))`);
    const subject = await subjectOf(t.tx, row.activationId);
    await freeReservations(t.tx, row);
    await t.tx.delete(batchLines).where(eq(batchLines.batchId, row.id));
    await t.tx.delete(batchPayers).where(eq(batchPayers.batchId, row.id));
    return writeBatch(t, subject, deps, row);
  });
}

/** Computes and stores the lines, payers and reservations of a batch (new, or `previous` rebuilt in place). */
async function writeBatch(t: TxCtx, s: Subject, deps: Pick<BatchDeps, 'registry' | 'dedupKey'>, previous: BatchRow | null): Promise<BatchRow> {
  const { tx, now } = t;
  const { activation, rule, decision, geometry, incident } = s;
  const stage = activation.stage as Stage;
  const prepared = stage === 'readiness';
  const key = deps.dedupKey();

  // The caseload as the dry run computes it, but without the rule's ceiling: the budget lines' headroom
  // decides below, after netting, so that what another programme already paid is not counted twice.
  const unbounded: Rule = { ...rule, funding: { ...rule.funding, ceiling_pkr: Number.MAX_SAFE_INTEGER } };
  const area = decision.areaCodes.length || geometry ? { codes: decision.areaCodes, geometry: deps.registry.storedArea(geometry) } : null;
  const via = tx as unknown as Db;
  const { index, rows } = area ? await deps.registry.select(area, via) : { index: await deps.registry.get(via), rows: new Uint32Array(0) };
  const caseload = caseloadWithLines(index, { rule: unbounded, decision: { ...decision, stage }, geometry, now, rows });
  const people = await identities(tx, caseload.lines.map((l) => l.householdId));

  let candidates: Candidate[] = caseload.lines.map((l) => {
    const who = people.get(l.householdId)!;
    return {
      id: l.householdId,
      source: l.source,
      householdId: who.householdId,
      dedupKey: key.of(who.cnic),
      cnic: who.cnic,
      headName: who.headName,
      province: l.province,
      district: l.district,
      tehsil: l.tehsil,
      pmt: l.pmt,
      requested: l.amount,
      amount: prepared ? 0 : l.amount,
      payers: l.payers,
      reasons: l.reasons,
      channel: who.channel,
      account: who.account,
      netText: null,
      paidBy: [],
      dropped: false,
    };
  });

  // Builds of one incident and purpose take turns: each sees what the one before reserved. The reservations'
  // primary key is the guard behind the lock (a build that somehow missed a row cannot insert its own).
  let netted = { lines: 0, pkr: 0 };
  if (!prepared) {
    await lockReservations(tx, incident, rule.purpose);
    const existing = rule.net_off.same_event_and_purpose ? await heldFor(tx, incident, rule.purpose, [...new Set(candidates.map((c) => c.dedupKey))]) : [];
    const byKey = new Map<string, Candidate[]>();
    for (const c of candidates) byKey.set(c.dedupKey, [...(byKey.get(c.dedupKey) ?? []), c]);
    const result = dedupe(candidates.map((c) => ({ householdKey: c.dedupKey, programme: rule.programme, amount: c.requested })), existing);
    // dedupe keeps the order of its input within kept and dropped; walk both back onto the candidates.
    const taken = new Map<string, number>();
    const next = (k: string) => {
      const n = taken.get(k) ?? 0;
      taken.set(k, n + 1);
      return byKey.get(k)![n]!;
    };
    for (const k of result.kept) {
      const c = next(k.householdKey);
      c.amount = k.amount;
      c.paidBy = k.paidBy;
      if (k.paidBy.length > 0) {
        c.netText = k.text;
        netted = { lines: netted.lines + 1, pkr: netted.pkr + (k.requested - k.amount) };
      }
    }
    for (const d of result.dropped) {
      const c = next(d.householdKey);
      c.amount = 0;
      c.dropped = true;
      c.paidBy = d.paidBy;
      c.netText = d.text;
    }
  }

  // Shares of the netted amount, then the budget lines' headroom, poorest first.
  const concrete = new Map<string, { agency: string; jurisdiction: string; share_bp: number }>();
  for (const c of candidates) for (const p of c.payers) concrete.set(payerKey(p), p);
  const budgets = prepared ? new Map() : await ensureBudgetLines(tx, t, rule, [...concrete.values()]);
  const figures = await budgetFigures(tx, [...budgets.values()].map((b) => b.id));
  const headroom = new Map([...budgets].map(([k, b]) => [k, figures.get(b.id)!.headroomPkr]));
  const withShares = candidates.map((c) => ({
    c,
    shares: c.amount === 0 ? [] : splitByShares(c.amount, c.payers).map((p) => ({ payer: payerKey(p), amount: p.amount })),
  }));
  const live = withShares.filter((x) => !x.c.dropped);
  const fit = fitBudgets(live, headroom);
  const cut = new Set(fit.cut.map((x) => x.c));
  const cutPkr = fit.cut.reduce((sum, x) => sum + x.c.amount, 0);
  candidates = candidates.filter((c) => !cut.has(c));

  // The batch's payers in the rule's order; each line names them by position.
  const payerList = rule.funding.payers.flatMap((p) => [...concrete.values()].filter((q) => q.agency === p.agency && (q.jurisdiction === p.jurisdiction || p.jurisdiction === 'household-province')));
  const payerIdx = new Map(payerList.map((p, i) => [payerKey(p), i]));
  const reasonsList: (readonly string[])[] = [];
  const reasonsIdx = new Map<readonly string[], number>();
  const hash = createHash('sha256');
  const shareOf = new Map(withShares.map((x) => [x.c, x.shares]));
  const records = candidates.map((c, n) => {
    let r = reasonsIdx.get(c.reasons);
    if (r === undefined) {
      r = reasonsList.push(c.reasons) - 1;
      reasonsIdx.set(c.reasons, r);
    }
    const shares = shareOf.get(c) ?? [];
    hash.update(lineText(n + 1, c, shares.map((s) => s.amount)));
    hash.update('\n');
    return { c, n: n + 1, r, shares };
  });
  const liveRecords = records.filter((x) => !x.c.dropped);
  const totalPkr = liveRecords.reduce((sum, x) => sum + x.c.amount, 0);
  const districts = [...new Set(liveRecords.map((x) => x.c.district || x.c.province || 'PK'))].sort();
  const dropped = records.filter((x) => x.c.dropped);
  const heldByOthers = new Map<string, { households: number; pkr: number }>();
  for (const x of records)
    for (const p of x.c.paidBy) {
      if (p.inThisBatch) continue;
      const h = heldByOthers.get(p.programme) ?? { households: 0, pkr: 0 };
      h.households++;
      h.pkr += p.amount;
      heldByOthers.set(p.programme, h);
    }
  const ceilingText =
    fit.cut.length === 0
      ? 'nothing cut: every line fits its payers\u2019 headroom'
      : `${fit.cut.length} lines (${pkrText(cutPkr)}) cut: the headroom of ${[...headroom].map(([k, h]) => `${k.replace('|', ' ')} ${pkrText(h)}`).join(', ')} was reached`;
  const figuresDoc = {
    stage,
    householdsInArea: caseload.summary.householdsInArea,
    eligible: caseload.summary.eligible,
    percent: caseload.summary.percent,
    cutoffs: caseload.summary.cutoffs,
    excluded: caseload.summary.excluded,
    note: caseload.summary.note,
    requestedPkr: caseload.summary.requestedPkr,
    netted: netted,
    dropped: { lines: dropped.length, pkr: dropped.reduce((sum, x) => sum + x.c.requested, 0) },
    heldByOthers: Object.fromEntries(heldByOthers),
    ceiling: { cutLines: fit.cut.length, cutPkr, headroomBefore: Object.fromEntries(headroom), text: ceilingText },
    asOf: caseload.asOf,
  };

  const values = {
    activationId: activation.id,
    ruleId: rule.id,
    ruleVersionId: activation.ruleVersionId,
    ruleVersion: rule.version,
    programme: rule.programme,
    purpose: rule.purpose,
    incident,
    subjectKind: activation.subjectKind,
    subjectId: activation.subjectId,
    stage,
    kind: prepared ? 'prepared' : 'payment',
    status: prepared ? 'prepared' : 'draft',
    jurisdiction: commonJurisdiction(decision.areaCodes),
    areaCodes: [...new Set([...decision.areaCodes, ...districts])].sort(),
    payers: payerList.map((p, i) => ({ idx: i, agency: p.agency, jurisdiction: p.jurisdiction, budgetLineId: budgets.get(payerKey(p))?.id ?? null })),
    reasons: reasonsList,
    figures: figuresDoc,
    registryVersion: index.version,
    linesSha256: hash.digest('hex'),
    lineCount: records.length,
    totalPkr,
    builtBy: `${t.actor.kind}:${t.actor.name}`,
    builtAt: now,
    updatedAt: now,
  };
  const [batch] = previous
    ? await tx.update(batches).set({ ...values, build: previous.build + 1 }).where(eq(batches.id, previous.id)).returning()
    : await tx.insert(batches).values({ ...values, build: 1 }).returning();
  if (payerList.length > 0)
    await tx.insert(batchPayers).values(
      payerList.map((p, i) => ({ batchId: batch!.id, idx: i, agency: p.agency, jurisdiction: p.jurisdiction, budgetLineId: budgets.get(payerKey(p))?.id ?? null })),
    );

  for (let i = 0; i < records.length; i += CHUNK) {
    const chunk = records.slice(i, i + CHUNK).map(({ c, n, r, shares }) => ({
      n,
      s: c.source,
      h: c.householdId,
      k: c.dedupKey,
      cn: c.cnic,
      nm: c.headName,
      pr: c.province,
      di: c.district,
      te: c.tehsil,
      pmt: c.pmt,
      rq: c.requested,
      a: c.amount,
      pi: `{${shares.map((x) => payerIdx.get(x.payer)).join(',')}}`,
      sh: `{${shares.map((x) => x.amount).join(',')}}`,
      ch: c.channel,
      ac: c.account,
      r,
      nt: c.netText,
      st: c.dropped ? 'dropped' : 'live',
    }));
    await tx.execute(sql`
      insert into batch_lines (batch_id, line_no, source, household_id, dedup_key, cnic, head_name, province, district, tehsil, pmt,
        requested_pkr, amount_pkr, payer_idx, shares_pkr, payment_channel, payment_account, reasons_idx, net_text, state)
      select ${batch!.id}::uuid, n, s, h, k, cn, nm, pr, di, te, pmt, rq, a, pi::smallint[], sh::integer[], ch, ac, r, nt, st
      from json_to_recordset(${JSON.stringify(chunk)}::json) as x(n int, s text, h text, k text, cn text, nm text, pr text, di text, te text,
        pmt real, rq int, a int, pi text, sh text, ch text, ac text, r int, nt text, st text)`);
  }

  if (!prepared) await reserve(tx, batch!, liveRecords.map((x) => ({ key: x.c.dedupKey, lineNo: x.n, amount: x.c.amount })));

  await recordAudit(tx, t, {
    action: previous ? 'batch.rebuilt' : 'batch.built',
    subject: `batch:${batch!.id}`,
    jurisdiction: batch!.jurisdiction,
    summary: {
      batchId: batch!.id,
      activationId: activation.id,
      ruleId: rule.id,
      version: rule.version,
      incident,
      kind: batch!.kind,
      build: batch!.build,
      lines: batch!.lineCount,
      totalPkr,
      linesSha256: batch!.linesSha256,
      registryVersion: index.version,
      netted,
      dropped: figuresDoc.dropped,
      ceiling: figuresDoc.ceiling.text,
    },
  });
  return batch!;
}

/**
 * Writes the reservations of a batch's live lines: new keys are inserted (the primary key refuses a key
 * someone else holds), keys already held by another programme get this line's top-up added to them.
 */
async function reserve(tx: Tx, batch: BatchRow, lines: { key: string; lineNo: number; amount: number }[]) {
  for (let i = 0; i < lines.length; i += CHUNK) {
    const chunk = lines.slice(i, i + CHUNK).map((l) => ({ k: l.key, n: l.lineNo, a: l.amount }));
    await tx.execute(sql`
      with raw as (select * from json_to_recordset(${JSON.stringify(chunk)}::json) as x(k text, n int, a int)),
      x as (
        select k, sum(a)::bigint as a,
          jsonb_agg(jsonb_build_object('batchId', ${batch.id}::text, 'lineNo', n, 'programme', ${batch.programme}::text, 'amount', a) order by n) as h
        from raw group by k
      ),
      topped as (
        update reservations r set reserved_pkr = r.reserved_pkr + x.a, held_by = r.held_by || x.h
        from x where r.incident = ${batch.incident} and r.purpose = ${batch.purpose} and r.dedup_key = x.k
        returning r.dedup_key
      )
      insert into reservations (incident, purpose, dedup_key, reserved_pkr, held_by)
      select ${batch.incident}, ${batch.purpose}, x.k, x.a, x.h from x where not exists (select 1 from topped where topped.dedup_key = x.k)`);
  }
}
