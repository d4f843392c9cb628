import { asc, eq, inArray, sql } from 'drizzle-orm';
import { commonJurisdiction } from '../access/jurisdiction.ts';
import { actorOf, hasRole, type Actor } from '../access/principal.ts';
import { areaInScope } from '../access/scope.ts';
import { recordAudit } from '../audit/service.ts';
import { withTransaction, type Ctx } from '../context.ts';
import { queryRows, type Db, type Tx } from '../db/client.ts';
import { planActions, planUpdates } from '../db/schema/index.ts';
import { ConflictError, ForbiddenError, NotFoundError, ValidationError, type FieldProblem } from '../errors.ts';
import { cashActions, type FigurePolicy } from './cash.ts';
import { incidentInScope, incidentVisible, loadIncident, loadIncidents, stageTimes, triggerFor, type Incident } from './incident.ts';
import { canMove, CLOSED, isOverdue, MOVES, NEEDS_REASON, relativeDue } from './machine.ts';
import { PLAN_STATUSES, type CreateActionInput, type Plan, type PlanAction, type PlanStatus, type PlanUpdate, type UpdateActionInput, createActionBody } from './schema.ts';

export type ActionRow = typeof planActions.$inferSelect;
type UpdateRow = typeof planUpdates.$inferSelect;

/** Roles that add actions to a plan, in their jurisdiction. */
export const PLANNERS = ['dma_officer', 'program_manager', 'admin'] as const;
/** Roles that accept an action for their agency. */
export const ACCEPTORS = ['dma_officer', 'program_manager', 'finance_officer', 'admin'] as const;
/** Roles that report on their agency's actions (status, progress, evidence): everyone who works on one. */
export const UPDATERS = ['dma_officer', 'program_manager', 'finance_officer', 'responder', 'admin'] as const;

const sameAgency = (a: string, b: string) => a.trim().toLowerCase() === b.trim().toLowerCase();

function toUpdate(u: UpdateRow): PlanUpdate {
  return {
    kind: u.kind as PlanUpdate['kind'],
    fromStatus: (u.fromStatus as PlanStatus | null) ?? null,
    toStatus: u.toStatus as PlanStatus,
    note: u.note,
    evidence: u.evidence,
    changes: (u.changes ?? {}) as Record<string, unknown>,
    by: u.madeBy,
    agency: u.agency,
    at: u.madeAt.toISOString(),
  };
}

/** A stored action as the API shows it, with its history (oldest first). */
export function toAction(row: ActionRow, history: UpdateRow[], viewer: Pick<Actor, 'agency'>, now: Date): PlanAction {
  const status = row.status as PlanStatus;
  const due = relativeDue(row.triggerAt, row.dueAt);
  return {
    id: row.id,
    kind: 'action',
    incident: row.incident,
    title: row.title,
    sector: row.sector,
    leadAgency: row.leadAgency,
    supportingAgencies: row.supportingAgencies,
    areaCodes: row.areaCodes,
    locations: row.locations as PlanAction['locations'],
    stage: row.stage as PlanAction['stage'],
    triggerAt: row.triggerAt.toISOString(),
    dueAt: row.dueAt.toISOString(),
    dueHours: due.hours,
    dueRelative: due.text,
    targets: { households: row.targetHouseholds, people: row.targetPeople },
    reached: { households: row.reachedHouseholds, people: row.reachedPeople },
    budget: row.budget as PlanAction['budget'],
    money: null,
    status,
    statusReason: row.statusReason,
    overdue: isOverdue(status, row.dueAt, now),
    acceptedBy: row.acceptedBy,
    acceptedAt: row.acceptedAt?.toISOString() ?? null,
    origin: row.origin as 'rule' | 'officer',
    rule: row.ruleId && row.ruleVersion && row.ruleVersionId ? { id: row.ruleId, version: row.ruleVersion, versionId: row.ruleVersionId } : null,
    activationId: row.activationId,
    batchId: null,
    mine: sameAgency(viewer.agency, row.leadAgency),
    history: history.map(toUpdate),
  };
}

async function historyOf(db: Db | Tx, ids: string[]): Promise<Map<string, UpdateRow[]>> {
  const out = new Map<string, UpdateRow[]>();
  if (ids.length === 0) return out;
  const rows = await db.select().from(planUpdates).where(inArray(planUpdates.actionId, ids)).orderBy(asc(planUpdates.seq));
  for (const r of rows) out.set(r.actionId, [...(out.get(r.actionId) ?? []), r]);
  return out;
}

/** Counts a list of actions the way the plan and the summary show them. */
export function countActions(actions: PlanAction[]) {
  const byStatus = Object.fromEntries(PLAN_STATUSES.map((s) => [s, actions.filter((a) => a.status === s).length]));
  return {
    total: actions.length,
    byStatus,
    overdue: actions.filter((a) => a.overdue).length,
    blocked: actions.filter((a) => a.status === 'blocked').length,
    unaccepted: actions.filter((a) => a.kind === 'action' && a.status !== 'cancelled' && !a.acceptedAt).length,
  };
}

/** Every action of an incident (stored and cash), sorted by due time, for a viewer who may see it. */
export async function actionsOf(
  db: Db,
  incident: Incident,
  viewer: Pick<Actor, 'agency' | 'roles'>,
  now: Date,
  options: { history?: boolean; rows?: ActionRow[]; cash?: boolean; figures?: FigurePolicy } = {},
): Promise<PlanAction[]> {
  const rows = options.rows ?? (await db.select().from(planActions).where(eq(planActions.incident, incident.key)).orderBy(asc(planActions.dueAt), asc(planActions.createdAt), asc(planActions.id)));
  const history = options.history === false ? new Map<string, UpdateRow[]>() : await historyOf(db, rows.map((r) => r.id));
  const stored = rows.map((r) => toAction(r, history.get(r.id) ?? [], viewer, now));
  const cash = options.cash === false ? [] : await cashActions(db, incident.key, viewer, now, options.figures);
  const order = (a: PlanAction) => a.dueAt ?? '9999';
  return [...stored, ...cash].sort((a, b) => order(a).localeCompare(order(b)) || a.triggerAt.localeCompare(b.triggerAt) || a.id.localeCompare(b.id));
}

/**
 * The whole plan of an incident the actor may see: every action, whoever leads it, and no identity data; the
 * cash actions' figures as `figures` lets the actor's role see them.
 */
export async function getPlan(ctx: Ctx, incidentKey: string, figures: FigurePolicy = {}): Promise<Plan> {
  const incident = await incidentInScope(ctx, incidentKey);
  const times = await stageTimes(ctx.db, incident);
  const actions = await actionsOf(ctx.db, incident, ctx.actor, ctx.now, { figures });
  return {
    incident: incident.key,
    kind: incident.kind,
    title: incident.title,
    hazard: incident.hazard,
    open: incident.open,
    areaCodes: incident.areaCodes,
    startedAt: incident.startedAt.toISOString(),
    triggers: times.map((t) => ({ stage: t.stage, at: t.at.toISOString() })),
    generatedAt: ctx.now.toISOString(),
    counts: countActions(actions),
    actions,
  };
}

/** A stored action whose incident the actor may see, or 404. */
async function actionInScope(db: Db | Tx, actor: Actor, id: string, lock = false): Promise<{ row: ActionRow; incident: Incident }> {
  const query = db.select().from(planActions).where(eq(planActions.id, id));
  const [row] = lock ? await query.for('update') : await query;
  const incident = row ? await loadIncident(db, row.incident) : null;
  if (!row || !incident || !incidentVisible(actor, incident)) throw new NotFoundError(`No plan action ${id}.`);
  return { row, incident };
}

export async function getAction(ctx: Ctx, id: string): Promise<PlanAction> {
  const { row } = await actionInScope(ctx.db, ctx.actor, id);
  const history = await historyOf(ctx.db, [id]);
  return toAction(row, history.get(id) ?? [], ctx.actor, ctx.now);
}

const audited = (row: ActionRow) => ({
  id: row.id,
  incident: row.incident,
  title: row.title,
  leadAgency: row.leadAgency,
  status: row.status,
  dueAt: row.dueAt.toISOString(),
});

/**
 * Adds an action to an incident's plan (a DMA officer or a programme manager, or an admin). Every area must
 * lie within the actor's jurisdiction; the due time is given as a moment or as hours after the stage fired,
 * and may not lie before it. The action starts `planned`, unaccepted unless the actor's own agency leads
 * it (then the actor accepts it by adding it). Audited with its first history row, in one transaction.
 */
export async function createAction(ctx: Ctx, incidentKey: string, raw: CreateActionInput): Promise<PlanAction> {
  if (!hasRole(ctx.actor, ...PLANNERS)) throw new ForbiddenError(`Adding to a plan needs one of the roles ${PLANNERS.join(', ')}.`);
  const parsed = createActionBody.safeParse(raw);
  if (!parsed.success)
    throw new ValidationError(
      'The action cannot be added as written.',
      parsed.error.issues.map((i) => ({ field: ['json', ...i.path.map(String)].join('.'), message: i.message })),
    );
  const input = parsed.data;
  return withTransaction(ctx, async (t) => {
    const incident = await incidentInScope(t, incidentKey);
    const problems: FieldProblem[] = [];
    input.areaCodes.forEach((code, i) => {
      if (!areaInScope(t.actor, code)) problems.push({ field: `json.areaCodes.${i}`, message: `${code} lies outside your jurisdiction (${t.actor.jurisdiction})` });
    });
    const times = await stageTimes(t.tx, incident);
    const triggerAt = triggerFor(input.stage, times, incident);
    const dueAt = input.dueAt !== undefined ? new Date(input.dueAt) : new Date(triggerAt.getTime() + input.dueHours! * 3_600_000);
    if (dueAt < triggerAt)
      problems.push({ field: 'json.dueAt', message: `${dueAt.toISOString()} is before the ${input.stage} trigger of this incident (${triggerAt.toISOString()})` });
    if (problems.length) throw new ValidationError(`The action cannot be added: ${problems.map((p) => p.message).join('; ')}.`, problems);
    const leadAgency = input.leadAgency ?? t.actor.agency;
    const own = sameAgency(leadAgency, t.actor.agency);
    const [row] = await t.tx
      .insert(planActions)
      .values({
        incident: incident.key,
        title: input.title,
        sector: input.sector,
        leadAgency,
        supportingAgencies: input.supportingAgencies,
        areaCodes: [...new Set(input.areaCodes)],
        jurisdiction: commonJurisdiction(input.areaCodes),
        locations: input.locations,
        stage: input.stage,
        triggerAt,
        dueAt,
        targetHouseholds: input.targets.households ?? null,
        targetPeople: input.targets.people ?? null,
        budget: input.budget,
        status: 'planned',
        origin: 'officer',
        acceptedBy: own ? actorOf(t.actor) : null,
        acceptedAt: own ? t.now : null,
        createdBy: actorOf(t.actor),
        createdAt: t.now,
        updatedAt: t.now,
      })
      .returning();
    await t.tx.insert(planUpdates).values({
      actionId: row!.id,
      kind: 'created',
      toStatus: 'planned',
      note: input.note ?? 'added to the plan',
      changes: own ? { accepted: true } : {},
      madeBy: actorOf(t.actor),
      agency: t.actor.agency,
      madeAt: t.now,
    });
    await recordAudit(t.tx, t, {
      action: 'plan.action_added',
      subject: `plan-action:${row!.id}`,
      jurisdiction: row!.jurisdiction,
      summary: { after: { ...audited(row!), sector: row!.sector, areaCodes: row!.areaCodes, stage: row!.stage, budget: row!.budget } },
    });
    return toAction(row!, await historyOf(t.tx, [row!.id]).then((h) => h.get(row!.id) ?? []), t.actor, t.now);
  });
}

/**
 * Reports on an action: a status move the machine allows (blocked and cancelled need a reason), figures
 * reached, a note and evidence. Only users of the action's lead agency report on it. The history row, the
 * action and the audit entry are written together.
 */
export async function updateAction(ctx: Ctx, id: string, input: UpdateActionInput): Promise<PlanAction> {
  return withTransaction(ctx, async (t) => {
    const { row } = await actionInScope(t.tx, t.actor, id, true);
    if (!hasRole(t.actor, ...UPDATERS)) throw new ForbiddenError(`Reporting on an action needs one of the roles ${UPDATERS.join(', ')}.`);
    if (!sameAgency(row.leadAgency, t.actor.agency))
      throw new ForbiddenError(`Action ${id} is led by ${row.leadAgency}; only its users report on it (an admin may reassign it).`);
    const from = row.status as PlanStatus;
    const to = input.status ?? from;
    const problems: FieldProblem[] = [];
    if (to !== from && !canMove(from, to))
      problems.push({
        field: 'json.status',
        message: MOVES[from].length ? `an action that is ${from} can go to ${MOVES[from].join(', ')}, not ${to}` : `an action that is ${from} is final`,
      });
    if (to !== from && NEEDS_REASON.has(to) && !input.reason?.trim()) problems.push({ field: 'json.reason', message: `say why the action is ${to}` });
    if (to === from && CLOSED.has(from) && input.reached) problems.push({ field: 'json.reached', message: `the action is ${from}; its figures are final` });
    if (problems.length) throw new ValidationError(`The update cannot be made: ${problems.map((p) => p.message).join('; ')}.`, problems);
    const changes: Record<string, unknown> = {};
    const set: Partial<typeof planActions.$inferInsert> = { updatedAt: t.now };
    if (to !== from) {
      set.status = to;
      set.statusReason = NEEDS_REASON.has(to) ? input.reason!.trim() : null;
      changes.status = { before: from, after: to };
    }
    if (input.reached?.households !== undefined && input.reached.households !== row.reachedHouseholds) {
      set.reachedHouseholds = input.reached.households;
      changes.reachedHouseholds = { before: row.reachedHouseholds, after: input.reached.households };
    }
    if (input.reached?.people !== undefined && input.reached.people !== row.reachedPeople) {
      set.reachedPeople = input.reached.people;
      changes.reachedPeople = { before: row.reachedPeople, after: input.reached.people };
    }
    if (input.reason && to !== from) changes.reason = input.reason.trim();
    const [after] = await t.tx.update(planActions).set(set).where(eq(planActions.id, id)).returning();
    await t.tx.insert(planUpdates).values({
      actionId: id,
      kind: to !== from ? 'status' : 'progress',
      fromStatus: from,
      toStatus: to,
      note: input.note,
      evidence: input.evidence?.trim() || null,
      changes,
      madeBy: actorOf(t.actor),
      agency: t.actor.agency,
      madeAt: t.now,
    });
    await recordAudit(t.tx, t, {
      action: to !== from ? 'plan.action_status' : 'plan.action_progress',
      subject: `plan-action:${id}`,
      jurisdiction: row.jurisdiction,
      summary: { before: audited(row), after: audited(after!), changes, note: input.note, evidence: input.evidence ?? null },
    });
    return toAction(after!, (await historyOf(t.tx, [id])).get(id) ?? [], t.actor, t.now);
  });
}

/** The lead agency takes an action on: `accepted_by`, `accepted_at`. Once; a reassignment asks again. */
export async function acceptAction(ctx: Ctx, id: string, input: { note?: string } = {}): Promise<PlanAction> {
  return withTransaction(ctx, async (t) => {
    const { row } = await actionInScope(t.tx, t.actor, id, true);
    if (!hasRole(t.actor, ...ACCEPTORS)) throw new ForbiddenError(`Accepting an action needs one of the roles ${ACCEPTORS.join(', ')}.`);
    if (!sameAgency(row.leadAgency, t.actor.agency)) throw new ForbiddenError(`Action ${id} is assigned to ${row.leadAgency}; only its officials accept it.`);
    if (row.acceptedAt) throw new ConflictError(`Action ${id} was accepted by ${row.acceptedBy} at ${row.acceptedAt.toISOString()}.`);
    if (row.status === 'cancelled') throw new ConflictError(`Action ${id} is cancelled.`);
    const [after] = await t.tx.update(planActions).set({ acceptedBy: actorOf(t.actor), acceptedAt: t.now, updatedAt: t.now }).where(eq(planActions.id, id)).returning();
    await t.tx.insert(planUpdates).values({
      actionId: id,
      kind: 'accepted',
      fromStatus: row.status,
      toStatus: row.status,
      note: input.note?.trim() || `accepted for ${row.leadAgency}`,
      changes: { acceptedBy: actorOf(t.actor) },
      madeBy: actorOf(t.actor),
      agency: t.actor.agency,
      madeAt: t.now,
    });
    await recordAudit(t.tx, t, {
      action: 'plan.action_accepted',
      subject: `plan-action:${id}`,
      jurisdiction: row.jurisdiction,
      summary: { after: { ...audited(after!), acceptedBy: actorOf(t.actor), acceptedAt: t.now.toISOString() } },
    });
    return toAction(after!, (await historyOf(t.tx, [id])).get(id) ?? [], t.actor, t.now);
  });
}

/** An admin gives an action to another agency; its acceptance is asked again. */
export async function reassignAction(ctx: Ctx, id: string, input: { leadAgency: string; note: string }): Promise<PlanAction> {
  return withTransaction(ctx, async (t) => {
    const { row } = await actionInScope(t.tx, t.actor, id, true);
    if (!hasRole(t.actor, 'admin')) throw new ForbiddenError('Only an admin reassigns an action.');
    if (!row.areaCodes.every((c) => areaInScope(t.actor, c)) && t.actor.jurisdiction !== 'PK')
      throw new ForbiddenError(`Action ${id} reaches beyond your jurisdiction (${t.actor.jurisdiction}); an admin of ${row.jurisdiction} reassigns it.`);
    if (CLOSED.has(row.status as PlanStatus)) throw new ConflictError(`Action ${id} is ${row.status}.`);
    const leadAgency = input.leadAgency.trim();
    if (sameAgency(leadAgency, row.leadAgency)) throw new ValidationError(`Action ${id} is already led by ${row.leadAgency}.`, [{ field: 'json.leadAgency', message: `already ${row.leadAgency}` }]);
    const [after] = await t.tx.update(planActions).set({ leadAgency, acceptedBy: null, acceptedAt: null, updatedAt: t.now }).where(eq(planActions.id, id)).returning();
    const changes = { leadAgency: { before: row.leadAgency, after: leadAgency }, acceptedBy: { before: row.acceptedBy, after: null } };
    await t.tx.insert(planUpdates).values({
      actionId: id,
      kind: 'reassigned',
      fromStatus: row.status,
      toStatus: row.status,
      note: input.note,
      changes,
      madeBy: actorOf(t.actor),
      agency: t.actor.agency,
      madeAt: t.now,
    });
    await recordAudit(t.tx, t, { action: 'plan.action_reassigned', subject: `plan-action:${id}`, jurisdiction: row.jurisdiction, summary: { before: audited(row), after: audited(after!), changes, note: input.note } });
    return toAction(after!, (await historyOf(t.tx, [id])).get(id) ?? [], t.actor, t.now);
  });
}

/** Open incidents with a plan (stored actions or batches) that touch the actor's jurisdiction. */
export async function openIncidents(ctx: Ctx): Promise<Incident[]> {
  const list = await queryRows<{ incident: string }>(ctx.db, sql`select incident from plan_actions union select incident from batches`);
  const found = await loadIncidents(ctx.db, list.map((r) => r.incident));
  const out = [...found.values()].filter((i) => i.open && incidentVisible(ctx.actor, i));
  return out.sort((a, b) => a.startedAt.getTime() - b.startedAt.getTime() || a.key.localeCompare(b.key));
}

