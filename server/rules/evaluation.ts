import { and, eq, inArray, sql } from 'drizzle-orm';
import { evaluate, type Decision, type Rule, type Subject } from '../../triggers/index.ts';
import { recordAudit } from '../audit/service.ts';
import { withTransaction, type Ctx, type TxCtx } from '../context.ts';
import type { Tx } from '../db/client.ts';
import { activations, alertBodies, alerts, evaluations, events } from '../db/schema/index.ts';
import { enqueue } from '../outbox/enqueue.ts';
import { onActivationStopped, type ActivationRow } from './hooks.ts';
import { rulesInForce, type RuleInForce } from './service.ts';
import { commonJurisdiction } from '../access/jurisdiction.ts';
import { alertSubject, eventSubject, STOPPING_STATES } from './subjects.ts';

/** The system part automatic decisions are recorded under in the audit trail (`system:triggers`). */
export const TRIGGER_ACTOR = 'triggers';

export interface EvaluationOutcome {
  evaluations: number;
  fired: number;
  activated: number;
  stopped: number;
}

export interface EvaluationInput {
  /** What made the evaluation happen, e.g. `alert.created`, `event.declared`. */
  cause: string;
}

/**
 * What a decision reads of an alert (server/rules/subjects.ts `alertSubject`), and its chain and state:
 * not its geometry and texts, which can be megabytes and would be read and parsed for every change.
 */
const SUBJECT_COLUMNS = {
  id: alerts.id,
  chainId: alerts.chainId,
  identifier: alerts.identifier,
  hazard: alerts.hazard,
  status: alerts.status,
  msgType: alerts.msgType,
  severity: alerts.severity,
  certainty: alerts.certainty,
  urgency: alerts.urgency,
  metrics: alerts.metrics,
  areaCodes: alerts.areaCodes,
  state: alerts.state,
  stateReason: alerts.stateReason,
  sent: alerts.sent,
  expires: alerts.expires,
};

const noOutcome = (): EvaluationOutcome => ({ evaluations: 0, fired: 0, activated: 0, stopped: 0 });

const rulesOfTransaction = new WeakMap<Tx, Promise<RuleInForce[]>>();
/**
 * The rules in force, read once per transaction: the outbox hands a drain's alert changes to one
 * transaction, and each is decided against the rules as that transaction first read them, as if all had
 * been delivered at that moment.
 */
function rulesFor(tx: Tx): Promise<RuleInForce[]> {
  let rules = rulesOfTransaction.get(tx);
  if (!rules) {
    rules = rulesInForce(tx);
    rulesOfTransaction.set(tx, rules);
  }
  return rules;
}

/**
 * Evaluates every rule in force whose hazards include the alert's, stores each evaluation, creates each
 * fired stage's activation once, and stops the chain's activations when the alert was cancelled or ended
 * or a rule's stop stage fired. An Update is its own subject: it fires its own activations, and the
 * superseded alert's stay as history (they are stopped with the chain if it is later called off).
 * Run by the outbox reaction to `alert.changed`, in the transaction that marks the row handled.
 */
export async function evaluateAlert(ctx: Ctx, input: EvaluationInput & { alertId: string }): Promise<EvaluationOutcome> {
  return withTransaction(ctx, async (t) => {
    const [row] = await t.tx.select(SUBJECT_COLUMNS).from(alerts).where(eq(alerts.id, input.alertId));
    if (!row) return noOutcome();
    // Messages of one chain arrive together (a Cancel and the alert it ends); decide about them one at a time.
    await t.tx.execute(sql`select pg_advisory_xact_lock(hashtext(${`rules:alert-chain:${row.chainId}`}))`);
    // alertSubject reads only these columns of the row.
    const subject = alertSubject(row as typeof alerts.$inferSelect, t.now);
    const inForce = (await rulesFor(t.tx)).filter((r) => r.rule.hazards.includes(subject.hazard));
    const chainIds = async () => (await t.tx.select({ id: alerts.id }).from(alerts).where(eq(alerts.chainId, row.chainId))).map((a) => a.id);
    const outcome = await decide(t, inForce, subject, input.cause, chainIds);
    if (STOPPING_STATES.has(row.state)) {
      const reason = `alert ${row.identifier} ${row.state}${row.stateReason ? ` (${row.stateReason})` : ''}`;
      outcome.stopped += await stopActivations(t, 'alert', await chainIds(), null, reason);
    }
    return outcome;
  });
}

/** Evaluates the rules in force against a declared event; only a stop stage stops its activations. */
export async function evaluateEvent(ctx: Ctx, input: EvaluationInput & { eventId: string }): Promise<EvaluationOutcome> {
  return withTransaction(ctx, async (t) => {
    await t.tx.execute(sql`select pg_advisory_xact_lock(hashtext(${`rules:event:${input.eventId}`}))`);
    const [row] = await t.tx.select().from(events).where(eq(events.id, input.eventId));
    if (!row) return noOutcome();
    const subject = await eventSubject(t.tx, row);
    const inForce = (await rulesFor(t.tx)).filter((r) => r.rule.hazards.includes(subject.hazard));
    return decide(t, inForce, subject, input.cause, async () => [row.id]);
  });
}

async function decide(t: TxCtx, inForce: RuleInForce[], subject: Subject, cause: string, relatedIds: () => Promise<string[]>): Promise<EvaluationOutcome> {
  const { tx, now } = t;
  const outcome = noOutcome();
  for (const { rule, versionId } of inForce) {
    const decision = evaluate(rule, subject, now);
    const [stored] = await tx
      .insert(evaluations)
      .values({
        ruleVersionId: versionId,
        ruleId: rule.id,
        subjectKind: subject.kind,
        subjectId: subject.id,
        stage: decision.stage,
        fired: decision.fired,
        decision,
        cause,
        evaluatedAt: now,
      })
      .returning({ id: evaluations.id });
    outcome.evaluations++;
    if (decision.fired) outcome.fired++;
    if (decision.stage === 'stop') {
      outcome.stopped += await stopActivations(t, subject.kind, await relatedIds(), rule.id, `stop stage of ${rule.id} (version ${rule.version}) fired: ${decision.summary}`);
      continue;
    }
    // Readiness and activation each make one activation per rule version, subject and stage, however often
    // the subject is evaluated again; the stop stage makes none, it ends the others.
    for (const s of decision.stages.filter((x) => x.fired && x.stage !== 'stop')) {
      const [created] = await tx
        .insert(activations)
        .values({
          ruleVersionId: versionId,
          ruleId: rule.id,
          subjectKind: subject.kind,
          subjectId: subject.id,
          stage: s.stage,
          evaluationId: stored!.id,
          status: 'active',
          createdAt: now,
        })
        .onConflictDoNothing()
        .returning();
      if (!created) continue;
      outcome.activated++;
      await recordAudit(tx, t, {
        action: 'rule.activated',
        subject: `activation:${created.id}`,
        jurisdiction: commonJurisdiction(decision.areaCodes),
        summary: await activationSummary(tx, created, rule, decision),
      });
      // The batch is built after this commits, by the outbox: alert ingest and declaration never wait for it.
      await enqueue(t, 'activation.fired', { activationId: created.id, stage: s.stage as 'readiness' | 'activation' });
    }
  }
  return outcome;
}

/**
 * What a `rule.activated` entry says: the rule and the decision, and what it acted on and who put that
 * there. The entry's actor is `system:triggers`, which decided; the alert's pusher (the `received_via` of
 * its stored body: `token:…`, `user:…`, `system:feed:…`) or the event's declarer is who caused it, so a
 * forged alert that ever fired would name its source here.
 */
async function activationSummary(tx: Tx, a: ActivationRow, rule: Rule, decision: Decision) {
  const origin =
    a.subjectKind === 'alert'
      ? await tx
          .select({ sender: alerts.sender, identifier: alerts.identifier, pushedBy: alertBodies.receivedVia })
          .from(alerts)
          .innerJoin(alertBodies, eq(alertBodies.id, alerts.bodyId))
          .where(eq(alerts.id, a.subjectId))
          .then(([r]) => r && { alert: { id: a.subjectId, sender: r.sender, identifier: r.identifier }, pushedBy: r.pushedBy })
      : await tx
          .select({ name: events.name, createdBy: events.createdBy })
          .from(events)
          .where(eq(events.id, a.subjectId))
          .then(([r]) => r && { event: { id: a.subjectId, name: r.name }, pushedBy: r.createdBy });
  return {
    activationId: a.id,
    ruleId: rule.id,
    version: rule.version,
    ruleVersionId: a.ruleVersionId,
    subject: `${a.subjectKind}:${a.subjectId}`,
    ...origin,
    stage: a.stage,
    evaluationId: a.evaluationId,
    areaCodes: decision.areaCodes,
    summary: decision.summary,
  };
}

/**
 * Marks the active activations of these subjects stopped (of one rule, or of every rule when `ruleId` is
 * null), audits each stop and calls the stop hook for it. Returns how many were stopped.
 */
async function stopActivations(t: TxCtx, kind: Subject['kind'], subjectIds: string[], ruleId: string | null, reason: string): Promise<number> {
  const { tx, now } = t;
  if (subjectIds.length === 0) return 0;
  const stopped = await tx
    .update(activations)
    .set({ status: 'stopped', stoppedReason: reason, stoppedAt: now })
    .where(
      and(
        eq(activations.subjectKind, kind),
        inArray(activations.subjectId, subjectIds),
        eq(activations.status, 'active'),
        ruleId === null ? undefined : eq(activations.ruleId, ruleId),
      ),
    )
    .returning();
  for (const a of stopped) {
    const [made] = await tx.select({ decision: evaluations.decision }).from(evaluations).where(eq(evaluations.id, a.evaluationId));
    const jurisdiction = commonJurisdiction((made?.decision as Decision | undefined)?.areaCodes ?? []);
    await recordAudit(tx, t, {
      action: 'rule.activation_stopped',
      subject: `activation:${a.id}`,
      jurisdiction,
      summary: { activationId: a.id, ruleId: a.ruleId, subject: `${a.subjectKind}:${a.subjectId}`, stage: a.stage, reason },
    });
    await onActivationStopped(t, a, { jurisdiction, reason });
  }
  return stopped.length;
}
