import { and, inArray, isNull } from 'drizzle-orm';
import type { Feature, FeatureCollection, Geometry, MultiPolygon, Polygon } from 'geojson';
import { recordAuditAlone } from '../audit/service.ts';
import type { Ctx } from '../context.ts';
import { areas } from '../db/schema/index.ts';
import type { FigurePolicy } from './cash.ts';
import type { Plan, PlanAction } from './schema.ts';
import { getPlan } from './service.ts';

/**
 * The columns of the plan's CSV, each with its HXL hashtag (the row under the header), so the file loads
 * into HDX tools (HXL Proxy, Quick Charts) as a 3W/4W sheet: who leads and implements, what, where (admin
 * P-codes), when, for how many, with what money. One row per action and area; the figures of an action sit
 * on its first row only (`#meta+part` says "1 of 3"), so a column's sum counts each action once.
 */
export const PLAN_CSV_COLUMNS: readonly [header: string, hxl: string, value: (a: PlanAction, area: string, first: boolean, part: string) => string | number | null][] = [
  ['Incident', '#event+id', (a) => a.incident],
  ['Action', '#activity+id', (a) => a.id],
  ['Title', '#activity+name', (a) => a.title],
  ['Sector', '#sector', (a) => a.sector],
  ['Lead agency', '#org+lead', (a) => a.leadAgency],
  ['Supporting agencies', '#org+impl', (a) => a.supportingAgencies.join('; ')],
  ['Province', '#adm1+code', (_, area) => (area.length >= 3 ? area.slice(0, 3) : null)],
  ['District', '#adm2+code', (_, area) => (area.length >= 5 ? area.slice(0, 5) : null)],
  ['Tehsil', '#adm3+code', (_, area) => (area.length >= 7 ? area.slice(0, 7) : null)],
  ['Area part', '#meta+part', (_, __, ___, part) => part],
  ['Stage', '#activity+stage', (a) => a.stage],
  ['Status', '#status', (a) => a.status],
  ['Status reason', '#status+reason', (a) => a.statusReason],
  ['Overdue', '#status+overdue', (a) => (a.overdue ? 'yes' : 'no')],
  ['Accepted by', '#meta+accepted_by', (a) => a.acceptedBy],
  ['Accepted at', '#date+accepted', (a) => a.acceptedAt],
  ['Trigger', '#date+start', (a) => a.triggerAt],
  ['Due', '#date+end', (a) => a.dueAt],
  ['Due after trigger', '#meta+due_relative', (a) => a.dueRelative],
  ['Targeted households', '#targeted+hh', (a, _, first) => (first ? a.targets.households : null)],
  ['Targeted people', '#targeted+ind', (a, _, first) => (first ? a.targets.people : null)],
  ['Reached households', '#reached+hh', (a, _, first) => (first ? a.reached.households : null)],
  ['Reached people', '#reached+ind', (a, _, first) => (first ? a.reached.people : null)],
  ['Budget PKR', '#value+pkr+budget', (a, _, first) => (first ? a.budget.reduce((s, b) => s + b.pkr, 0) : null)],
  ['Funders', '#org+funder', (a) => a.budget.map((b) => b.funder).join('; ')],
  ['Committed PKR', '#value+pkr+committed', (a, _, first) => (first && a.money ? a.money.committedPkr : null)],
  ['Released PKR', '#value+pkr+released', (a, _, first) => (first && a.money ? a.money.releasedPkr : null)],
  ['Paid PKR', '#value+pkr+paid', (a, _, first) => (first && a.money ? a.money.paidPkr : null)],
  ['Rule', '#meta+rule', (a) => a.rule?.id ?? null],
  ['Rule version', '#meta+rule+version', (a) => a.rule?.version ?? null],
];

/** A CSV cell: quoted when it must be; text a spreadsheet would run as a formula is prefixed with `'`. */
function cell(v: string | number | null): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'number') return String(v);
  const text = /^[=+\-@\t\r]/.test(v) ? `'${v}` : v;
  return /[",\r\n;]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** The plan as CSV text: header, HXL hashtag row, then one row per action and area (CRLF, UTF-8). */
export function planCsv(plan: Plan): string {
  const lines = [PLAN_CSV_COLUMNS.map(([h]) => cell(h)).join(','), PLAN_CSV_COLUMNS.map(([, x]) => x).join(',')];
  for (const a of plan.actions) {
    const codes = a.areaCodes.length ? a.areaCodes : ['PK'];
    codes.forEach((area, i) => lines.push(PLAN_CSV_COLUMNS.map(([, , value]) => cell(value(a, area, i === 0, `${i + 1} of ${codes.length}`))).join(',')));
  }
  return `${lines.join('\r\n')}\r\n`;
}

/** The properties an action's features carry (no history; no identity anywhere). */
function properties(a: PlanAction) {
  const { history: _history, locations: _locations, ...rest } = a;
  return { ...rest, updates: a.history.length };
}

/**
 * The plan as GeoJSON: one feature per action with its areas' current boundaries as one MultiPolygon (null
 * when the gazetteer has none of them), and one Point per action location (payment camps), each naming its
 * action.
 */
export async function planGeoJson(ctx: Ctx, plan: Plan): Promise<FeatureCollection> {
  const codes = [...new Set(plan.actions.flatMap((a) => a.areaCodes))];
  const rows = codes.length
    ? await ctx.db.select({ code: areas.code, geometry: areas.geometry }).from(areas).where(and(inArray(areas.code, codes), isNull(areas.validTo)))
    : [];
  const shapes = new Map(rows.map((r) => [r.code, r.geometry as Polygon | MultiPolygon]));
  const features: Feature<Geometry | null>[] = [];
  for (const a of plan.actions) {
    const polygons = a.areaCodes.flatMap((c) => {
      const g = shapes.get(c);
      if (!g) return [];
      return g.type === 'Polygon' ? [g.coordinates] : g.coordinates;
    });
    features.push({
      type: 'Feature',
      id: a.id,
      geometry: polygons.length ? { type: 'MultiPolygon', coordinates: polygons } : null,
      properties: { feature: 'action', ...properties(a) },
    });
    a.locations.forEach((l, i) =>
      features.push({
        type: 'Feature',
        id: `${a.id}#${i + 1}`,
        geometry: { type: 'Point', coordinates: [l.lon, l.lat] },
        properties: {
          feature: 'point',
          actionId: a.id,
          title: a.title,
          sector: a.sector,
          leadAgency: a.leadAgency,
          status: a.status,
          overdue: a.overdue,
          name: l.name,
          capacity: l.capacity ?? null,
          openingDays: l.openingDays ?? [],
        },
      }),
    );
  }
  return { type: 'FeatureCollection', features: features as Feature[] };
}

export type PlanExport = { format: 'csv'; text: string; plan: Plan } | { format: 'geojson'; geojson: FeatureCollection; plan: Plan };

/** An incident's plan exported as CSV (HXL) or GeoJSON; the export is audited. */
export async function exportPlan(ctx: Ctx, incident: string, format: 'csv' | 'geojson', figures: FigurePolicy = {}): Promise<PlanExport> {
  const plan = await getPlan(ctx, incident, figures);
  await recordAuditAlone(ctx, {
    action: 'plan.exported',
    subject: `incident:${plan.incident}`,
    jurisdiction: ctx.actor.jurisdiction,
    summary: { incident: plan.incident, format, actions: plan.actions.length },
  });
  return format === 'csv' ? { format, text: planCsv(plan), plan } : { format, geojson: await planGeoJson(ctx, plan), plan };
}
