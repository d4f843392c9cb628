import { and, asc, isNull, notInArray, sql } from 'drizzle-orm';
import { hasRole, type Actor } from '../access/principal.ts';
import type { Db } from '../db/client.ts';
import { planActions } from '../db/schema/index.ts';
import { incidentVisible, loadIncident, type Incident } from './incident.ts';
import { ACCEPTORS } from './service.ts';

/** One plan action waiting for the reader's agency to accept it. */
export interface PlanInboxItem {
  kind: 'plan';
  /** `plan-action:<id>:accept`, stable while it waits. */
  reason: string;
  actionId: string;
  incident: string;
  leadAgency: string;
  /** The action's budget, all funders together. */
  totalPkr: number;
  since: string;
  dueAt: string;
  overdue: boolean;
  link: string;
  summary: string;
}

/**
 * Plan actions assigned to the reader's agency and not yet accepted (neither done nor cancelled), in the
 * incidents the reader sees, for the roles that accept (server/plan/service.ts ACCEPTORS). Computed from
 * state on every call.
 */
export async function planInboxFor(db: Db, actor: Actor, now: Date): Promise<PlanInboxItem[]> {
  if (!hasRole(actor, ...ACCEPTORS) || !actor.agency.trim()) return [];
  const rows = await db
    .select()
    .from(planActions)
    .where(
      and(
        isNull(planActions.acceptedAt),
        notInArray(planActions.status, ['done', 'cancelled']),
        sql`lower(trim(${planActions.leadAgency})) = ${actor.agency.trim().toLowerCase()}`,
      ),
    )
    .orderBy(asc(planActions.dueAt), asc(planActions.id));
  const incidents = new Map<string, Incident | null>();
  const items: PlanInboxItem[] = [];
  for (const r of rows) {
    if (!incidents.has(r.incident)) incidents.set(r.incident, await loadIncident(db, r.incident));
    const incident = incidents.get(r.incident);
    if (!incident || !incidentVisible(actor, incident)) continue;
    const totalPkr = (r.budget as { pkr: number }[]).reduce((s, b) => s + b.pkr, 0);
    items.push({
      kind: 'plan',
      reason: `plan-action:${r.id}:accept`,
      actionId: r.id,
      incident: r.incident,
      leadAgency: r.leadAgency,
      totalPkr,
      since: r.createdAt.toISOString(),
      dueAt: r.dueAt.toISOString(),
      overdue: r.dueAt < now,
      link: `/plans/${encodeURIComponent(r.incident)}#action-${r.id}`,
      summary: `${incident.title}: "${r.title}" is assigned to ${r.leadAgency} and waits for your agency to accept it (due ${r.dueAt.toISOString().slice(0, 16).replace('T', ' ')} UTC).`,
    });
  }
  return items;
}
