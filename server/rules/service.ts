import { and, asc, desc, eq, inArray } from 'drizzle-orm';
import type { Decision, Rule } from '../../triggers/index.ts';
import { alertScope, eventScope } from '../access/scope.ts';
import type { Ctx } from '../context.ts';
import type { Db } from '../db/client.ts';
import { activations, alerts, evaluations, events, rules, ruleVersions } from '../db/schema/index.ts';
import { NotFoundError } from '../errors.ts';

export interface RuleInForce {
  versionId: string;
  rule: Rule;
  versionLabel: string;
  contentHash: string;
  loadedAt: Date;
}

/** Every rule's current version (the file content loaded last), by rule id. */
/** The current version of every rule, or of one rule when `id` is given. */
export async function rulesInForce(db: Db, id?: string): Promise<RuleInForce[]> {
  const rows = await db
    .select({ versionId: ruleVersions.id, parsed: ruleVersions.parsed, versionLabel: ruleVersions.versionLabel, contentHash: ruleVersions.contentHash, loadedAt: ruleVersions.loadedAt })
    .from(rules)
    .innerJoin(ruleVersions, eq(ruleVersions.id, rules.currentVersionId))
    .where(id === undefined ? undefined : eq(rules.id, id))
    .orderBy(asc(rules.id));
  return rows.map((r) => ({ versionId: r.versionId, rule: r.parsed as Rule, versionLabel: r.versionLabel, contentHash: r.contentHash, loadedAt: r.loadedAt }));
}

export async function ruleInForce(db: Db, id: string): Promise<RuleInForce> {
  const [found] = await rulesInForce(db, id);
  if (!found) throw new NotFoundError(`No rule ${id} is loaded.`);
  return found;
}

/** What a person reading the list needs: what the rule does, when, for whom, with how much, agreed by whom. */
export function ruleSummary(r: RuleInForce) {
  const { rule } = r;
  return {
    id: rule.id,
    title: rule.title,
    version: rule.version,
    versionId: r.versionId,
    status: rule.status,
    programme: rule.programme,
    purpose: rule.purpose,
    hazards: rule.hazards,
    subject: rule.subject,
    requiresDeclaration: rule.requires_declaration,
    scope: rule.scope,
    agreedBy: rule.agreed_by,
    agreedOn: rule.agreed_on,
    validFrom: rule.valid_from,
    validTo: rule.valid_to ?? null,
    stages: (['readiness', 'activation', 'stop'] as const)
      .filter((s) => rule.stages[s])
      .map((s) => ({ stage: s, note: rule.stages[s]!.note ?? null, when: rule.stages[s]!.when as unknown })),
    money: {
      benefit: rule.benefit,
      ceilingPkr: rule.funding.ceiling_pkr,
      payers: rule.funding.payers,
    },
  };
}

export async function getRule(db: Db, id: string) {
  const current = await ruleInForce(db, id);
  const versions = await db.select().from(ruleVersions).where(eq(ruleVersions.ruleId, id)).orderBy(desc(ruleVersions.loadedAt));
  return {
    ...ruleSummary(current),
    rule: current.rule as unknown as Record<string, unknown>,
    versions: versions.map((v) => ({
      id: v.id,
      version: v.versionLabel,
      contentHash: v.contentHash,
      sourceFile: v.sourceFile,
      loadedAt: v.loadedAt.toISOString(),
      current: v.id === current.versionId,
      yaml: v.yaml,
    })),
  };
}

/** Confirms the subject exists and the actor may see it (server/access/scope.ts): 404 otherwise. */
async function requireSubject(ctx: Ctx, kind: 'alert' | 'event', id: string): Promise<void> {
  const [row] =
    kind === 'alert'
      ? await ctx.db.select({ id: alerts.id }).from(alerts).where(and(eq(alerts.id, id), alertScope.where(ctx.actor)))
      : await ctx.db.select({ id: events.id }).from(events).where(and(eq(events.id, id), eventScope.where(ctx.actor)));
  if (!row) throw new NotFoundError(`No ${kind} ${id}.`);
}

/** The evaluations of a subject, newest first, each with its reasons and the activations it made. */
export async function evaluationHistory(ctx: Ctx, { kind, id }: { kind: 'alert' | 'event'; id: string }) {
  const db = ctx.db;
  await requireSubject(ctx, kind, id);
  const rows = await db
    .select({ e: evaluations, versionLabel: ruleVersions.versionLabel })
    .from(evaluations)
    .innerJoin(ruleVersions, eq(ruleVersions.id, evaluations.ruleVersionId))
    .where(and(eq(evaluations.subjectKind, kind), eq(evaluations.subjectId, id)))
    .orderBy(desc(evaluations.evaluatedAt), asc(evaluations.ruleId));
  const made = rows.length
    ? await db.select().from(activations).where(inArray(activations.evaluationId, rows.map((r) => r.e.id))).orderBy(asc(activations.createdAt))
    : [];
  const activationView = (a: typeof activations.$inferSelect) => ({
    id: a.id,
    ruleId: a.ruleId,
    ruleVersionId: a.ruleVersionId,
    stage: a.stage,
    status: a.status,
    stoppedReason: a.stoppedReason,
    createdAt: a.createdAt.toISOString(),
    stoppedAt: a.stoppedAt?.toISOString() ?? null,
  });
  return {
    items: rows.map(({ e, versionLabel }) => {
      const decision = e.decision as Decision;
      return {
        id: e.id,
        ruleId: e.ruleId,
        ruleVersionId: e.ruleVersionId,
        version: versionLabel,
        stage: e.stage,
        fired: e.fired,
        cause: e.cause,
        evaluatedAt: e.evaluatedAt.toISOString(),
        summary: decision.summary,
        areaCodes: decision.areaCodes,
        reasons: decision.reasons,
        activations: made.filter((a) => a.evaluationId === e.id).map(activationView),
      };
    }),
  };
}
