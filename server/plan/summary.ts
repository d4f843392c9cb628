import { inArray } from 'drizzle-orm';
import type { Ctx } from '../context.ts';
import { batches, planActions } from '../db/schema/index.ts';
import { canSeeIdentity } from '../access/principal.ts';
import { disclosureFor, protectAmount } from '../registry/disclosure.ts';
import type { FigurePolicy } from './cash.ts';
import { areaNames, incidentInScope } from './incident.ts';
import type { PlanAction, PlanProgress, PlanSummary } from './schema.ts';
import { actionsOf, openIncidents } from './service.ts';

/** The P-code of an area at a level (1 province, 2 district, 3 tehsil); a coarser code stands for itself. */
export const atLevel = (code: string, level: 1 | 2 | 3 | undefined) => (level ? code.slice(0, [3, 5, 7][level - 1]) : code);

interface Tally {
  actions: number;
  due: number;
  overdue: number;
  blocked: number;
  done: number;
  unaccepted: number;
}
const zero = (): Tally => ({ actions: 0, due: 0, overdue: 0, blocked: 0, done: 0, unaccepted: 0 });

/**
 * Due: an action whose due time has come, or that is done already (met early counts as met); never a
 * cancelled one. Share done is done among due.
 */
function isDue(a: PlanAction, now: Date): boolean {
  if (a.status === 'cancelled') return false;
  return a.status === 'done' || (a.dueAt !== null && new Date(a.dueAt) <= now);
}

function add(t: Tally, a: PlanAction, now: Date) {
  t.actions++;
  if (isDue(a, now)) t.due++;
  if (a.overdue) t.overdue++;
  if (a.status === 'blocked') t.blocked++;
  if (a.status === 'done') t.done++;
  if (a.kind === 'action' && a.status !== 'cancelled' && !a.acceptedAt) t.unaccepted++;
}

/**
 * Plan progress per area of one incident, for the map: for each area an action names (at `level` when
 * given), how many actions are due, done, overdue and blocked, and the share of due ones done; and every
 * action point (payment camps) with its action's status.
 */
export async function planProgress(ctx: Ctx, incidentKey: string, level?: 1 | 2 | 3): Promise<PlanProgress> {
  const incident = await incidentInScope(ctx, incidentKey);
  const actions = await actionsOf(ctx.db, incident, ctx.actor, ctx.now, { history: false });
  const byArea = new Map<string, Tally & { points: number }>();
  for (const a of actions) {
    const codes = [...new Set(a.areaCodes.map((c) => atLevel(c, level)))];
    for (const code of codes) {
      const t = byArea.get(code) ?? { ...zero(), points: 0 };
      add(t, a, ctx.now);
      byArea.set(code, t);
    }
  }
  const names = await areaNames(ctx.db, [...byArea.keys()]);
  const points = actions.flatMap((a) => a.locations.map((location) => ({ actionId: a.id, title: a.title, status: a.status, overdue: a.overdue, leadAgency: a.leadAgency, location })));
  for (const p of points) {
    const code = [...byArea.keys()].filter((c) => actions.find((a) => a.id === p.actionId)!.areaCodes.some((x) => atLevel(x, level) === c))[0];
    if (code) byArea.get(code)!.points++;
  }
  return {
    incident: incident.key,
    generatedAt: ctx.now.toISOString(),
    areas: [...byArea]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([areaCode, t]) => ({
        areaCode,
        name: names.get(areaCode) ?? null,
        total: t.actions,
        due: t.due,
        done: t.done,
        overdue: t.overdue,
        blocked: t.blocked,
        shareDone: t.due ? Math.round((t.done / t.due) * 1000) / 1000 : null,
        points: t.points,
      })),
    points,
  };
}

/**
 * What the federal-provincial coordination committee opens: across the open incidents the reader sees, the
 * actions due, overdue, blocked, done and unaccepted by incident, by lead agency and by area (districts by
 * default), and the money committed, released and paid by payer, from the ledger.
 */
export async function planSummary(ctx: Ctx, level: 1 | 2 | 3 = 2, figures: FigurePolicy = {}): Promise<PlanSummary> {
  const disclosure = figures.minCell ? disclosureFor(canSeeIdentity(ctx.actor), figures.minCell) : null;
  const incidents = await openIncidents(ctx);
  const byIncident: PlanSummary['incidents'] = [];
  const byAgency = new Map<string, Tally>();
  const byArea = new Map<string, Tally>();
  // Summed exact, then protected once for the reader (a sum of rounded parts would round badly).
  type Money = { agency: string; jurisdiction: string; committedPkr: number; releasedPkr: number; paidPkr: number; households: number; paid: number; unit: number; incidents: Set<string> };
  const money = new Map<string, Money>();
  const totals = zero();
  // Every stored action of these incidents in one read; the summary needs no history.
  const rows = incidents.length ? await ctx.db.select().from(planActions).where(inArray(planActions.incident, incidents.map((i) => i.key))) : [];
  const rowsOf = new Map<string, typeof rows>();
  for (const r of rows) rowsOf.set(r.incident, [...(rowsOf.get(r.incident) ?? []), r]);
  const paying = new Set(
    incidents.length ? (await ctx.db.selectDistinct({ incident: batches.incident }).from(batches).where(inArray(batches.incident, incidents.map((i) => i.key)))).map((b) => b.incident) : [],
  );
  for (const incident of incidents) {
    // Exact figures here; the money is protected below, once summed.
    const actions = await actionsOf(ctx.db, incident, ctx.actor, ctx.now, { history: false, rows: rowsOf.get(incident.key) ?? [], cash: paying.has(incident.key) });
    const t = zero();
    for (const a of actions) {
      add(t, a, ctx.now);
      add(totals, a, ctx.now);
      const agency = byAgency.get(a.leadAgency) ?? zero();
      add(agency, a, ctx.now);
      byAgency.set(a.leadAgency, agency);
      for (const code of new Set(a.areaCodes.map((c) => atLevel(c, level)))) {
        const area = byArea.get(code) ?? zero();
        add(area, a, ctx.now);
        byArea.set(code, area);
      }
      if (a.money && a.status !== 'cancelled')
        for (const p of a.money.byPayer) {
          const key = `${p.agency}|${p.jurisdiction}`;
          const m = money.get(key) ?? { agency: p.agency, jurisdiction: p.jurisdiction, committedPkr: 0, releasedPkr: 0, paidPkr: 0, households: 0, paid: 0, unit: 1, incidents: new Set<string>() };
          const households = a.targets.households ?? 0;
          m.committedPkr += p.committedPkr ?? 0;
          m.releasedPkr += p.releasedPkr ?? 0;
          m.paidPkr += p.paidPkr ?? 0;
          m.households += households;
          m.paid += a.reached.households ?? 0;
          if (households) m.unit = Math.max(m.unit, Math.ceil((p.committedPkr ?? 0) / households));
          m.incidents.add(incident.key);
          money.set(key, m);
        }
    }
    byIncident.push({ incident: incident.key, title: incident.title, hazard: incident.hazard, startedAt: incident.startedAt.toISOString(), ...t });
  }
  const names = await areaNames(ctx.db, [...byArea.keys()]);
  const moneyList = [...money.values()].sort((a, b) => a.agency.localeCompare(b.agency) || a.jurisdiction.localeCompare(b.jurisdiction));
  const all = moneyList.reduce(
    (t, m) => ({ committedPkr: t.committedPkr + m.committedPkr, releasedPkr: t.releasedPkr + m.releasedPkr, paidPkr: t.paidPkr + m.paidPkr, households: t.households + m.households, paid: t.paid + m.paid, unit: Math.max(t.unit, m.unit) }),
    { committedPkr: 0, releasedPkr: 0, paidPkr: 0, households: 0, paid: 0, unit: 1 },
  );
  const shown = (m: Omit<Money, 'agency' | 'jurisdiction' | 'incidents'>) => ({
    committedPkr: protectAmount(m.committedPkr, m.households, m.unit, disclosure),
    releasedPkr: protectAmount(m.releasedPkr, m.households, m.unit, disclosure),
    paidPkr: protectAmount(m.paidPkr, m.paid, m.unit, disclosure),
  });
  return {
    generatedAt: ctx.now.toISOString(),
    incidents: byIncident,
    byAgency: [...byAgency].sort(([a], [b]) => a.localeCompare(b)).map(([agency, t]) => ({ agency, ...t })),
    byArea: [...byArea].sort(([a], [b]) => a.localeCompare(b)).map(([areaCode, t]) => ({ areaCode, name: names.get(areaCode) ?? null, ...t })),
    money: moneyList.map((m) => ({ agency: m.agency, jurisdiction: m.jurisdiction, ...shown(m), incidents: m.incidents.size })),
    totals: { ...totals, ...shown(all) },
  };
}
