import { eq } from 'drizzle-orm';
import type { Decision, Rule, RuleAction } from '../../triggers/index.ts';
import { commonJurisdiction } from '../access/jurisdiction.ts';
import { systemActor } from '../access/principal.ts';
import { recordAudit } from '../audit/service.ts';
import { incidentOf } from '../batches/build.ts';
import { withTransaction, type Ctx } from '../context.ts';
import { activations, evaluations, planActions, planUpdates, ruleVersions } from '../db/schema/index.ts';
import { areaNames } from './incident.ts';

/** The part of the system that copies a firing stage's actions into the plan (`system:plan`). */
export const PLAN_ACTOR = 'plan';

/** The province (PK7) or district (PK701) of a code; a coarser code stands for itself. */
const levelOf = (code: string, per: 'province' | 'district') => code.slice(0, per === 'province' ? 3 : 5);

/** The copies one rule action makes for these areas: one for the incident, or one per province or district. */
function spread(action: RuleAction, areaCodes: string[]): { key: string; area: string | null; codes: string[] }[] {
  if (action.per === 'incident') return [{ key: action.key, area: null, codes: areaCodes }];
  const groups = new Map<string, string[]>();
  for (const c of areaCodes) {
    const g = levelOf(c, action.per);
    groups.set(g, [...(groups.get(g) ?? []), c]);
  }
  return [...groups].sort(([a], [b]) => a.localeCompare(b)).map(([g, codes]) => ({ key: `${action.key}@${g}`, area: g, codes }));
}

/**
 * Copies the actions of the stage an activation fired into its incident's plan, frozen with the rule
 * version that fired (a later edit of the rule makes a new version and never rewrites a live plan). A
 * readiness activation copies the readiness actions; an activation copies the activation and response
 * actions. Due times count from the activation. Once per incident, rule and action (unique indexes), so a
 * retried delivery adds nothing, nor does an alert's Update firing the stage again (a district the update
 * adds gets its own copy of a per-district action). Nothing for an activation stopped meanwhile. Runs in the caller's
 * transaction (the `activation.fired` reaction's), as `system:plan`. Returns how many actions it added.
 */
export async function copyStageActions(ctx: Ctx, input: { activationId: string }): Promise<number> {
  return withTransaction({ ...ctx, actor: systemActor(PLAN_ACTOR) }, async (t) => {
    const [row] = await t.tx
      .select({ activation: activations, parsed: ruleVersions.parsed, decision: evaluations.decision })
      .from(activations)
      .innerJoin(ruleVersions, eq(ruleVersions.id, activations.ruleVersionId))
      .innerJoin(evaluations, eq(evaluations.id, activations.evaluationId))
      .where(eq(activations.id, input.activationId));
    if (!row || row.activation.status !== 'active') return 0;
    const rule = row.parsed as Rule;
    const stage = row.activation.stage;
    const wanted = (rule.actions ?? []).filter((a) => (stage === 'readiness' ? a.stage === 'readiness' : a.stage === 'activation' || a.stage === 'response'));
    if (wanted.length === 0) return 0;
    const areaCodes = [...new Set((row.decision as Decision).areaCodes ?? [])].sort();
    const incident = await incidentOf(t.tx, row.activation.subjectKind, row.activation.subjectId);
    const copies = wanted.flatMap((a) => spread(a, areaCodes).map((c) => ({ action: a, ...c })));
    const names = await areaNames(t.tx, copies.flatMap((c) => (c.area ? [c.area] : [])));
    const triggerAt = row.activation.createdAt;
    const added: { id: string; key: string; title: string; leadAgency: string }[] = [];
    for (const c of copies) {
      const areaName = c.area ? (names.get(c.area) ?? c.area) : '';
      const fill = (s: string) => s.replaceAll('{area}', areaName);
      const codes = c.codes.length ? c.codes : ['PK'];
      const [made] = await t.tx
        .insert(planActions)
        .values({
          incident,
          title: fill(c.action.title),
          sector: c.action.sector,
          leadAgency: fill(c.action.lead),
          supportingAgencies: c.action.supporting,
          areaCodes: codes,
          jurisdiction: commonJurisdiction(codes),
          locations: [],
          stage: c.action.stage,
          triggerAt,
          dueAt: new Date(triggerAt.getTime() + c.action.due_hours * 3_600_000),
          targetHouseholds: c.action.targets?.households ?? null,
          targetPeople: c.action.targets?.people ?? null,
          budget: c.action.budget,
          status: 'planned',
          origin: 'rule',
          ruleId: rule.id,
          ruleVersion: rule.version,
          ruleVersionId: row.activation.ruleVersionId,
          activationId: row.activation.id,
          ruleActionKey: c.key,
          createdBy: `system:${PLAN_ACTOR}`,
          createdAt: t.now,
          updatedAt: t.now,
        })
        .onConflictDoNothing()
        .returning();
      if (!made) continue;
      await t.tx.insert(planUpdates).values({
        actionId: made.id,
        kind: 'created',
        toStatus: 'planned',
        note: `pre-agreed in ${rule.id} (version ${rule.version}); copied when its ${stage} stage fired`,
        changes: { ruleActionKey: c.key },
        madeBy: `system:${PLAN_ACTOR}`,
        agency: 'Madad',
        madeAt: t.now,
      });
      added.push({ id: made.id, key: c.key, title: made.title, leadAgency: made.leadAgency });
    }
    if (added.length)
      await recordAudit(t.tx, t, {
        action: 'plan.actions_copied',
        subject: `incident:${incident}`,
        jurisdiction: commonJurisdiction(areaCodes),
        summary: { incident, activationId: row.activation.id, ruleId: rule.id, version: rule.version, ruleVersionId: row.activation.ruleVersionId, stage, actions: added },
      });
    return added.length;
  });
}
