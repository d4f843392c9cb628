import { and, asc, desc, eq, gt, gte, isNull, lte, ne, or, sql, type SQL } from 'drizzle-orm';
import { alertScope } from '../access/scope.ts';
import type { Ctx } from '../context.ts';
import { alerts } from '../db/schema/index.ts';
import { NotFoundError } from '../errors.ts';
import { displayInfo, type AlertInfo } from './parse/index.ts';
import { isActual } from './lifecycle.ts';

export interface AlertFilter {
  active?: boolean;
  hazard?: string;
  /** A P-code prefix: alerts whose area resolved to a code under it. */
  area?: string;
  since?: Date;
  page: number;
  pageSize: number;
}

type Row = typeof alerts.$inferSelect;

/** The shape an alert leaves the API in: identity-free public warning data. */
export function alertView(row: Row, now: Date) {
  const infos = row.infos as AlertInfo[];
  const shown = displayInfo({ infos });
  return {
    id: row.id,
    chainId: row.chainId,
    sender: row.sender,
    identifier: row.identifier,
    source: row.source,
    format: row.format,
    sent: row.sent.toISOString(),
    status: row.status,
    actual: isActual(row.status),
    msgType: row.msgType,
    scope: row.scope,
    hazard: row.hazard,
    severity: row.severity,
    urgency: row.urgency,
    certainty: row.certainty,
    metrics: row.metrics as Record<string, number | string>,
    headline: shown?.headline ?? shown?.event ?? row.identifier,
    language: shown?.language ?? null,
    infos,
    effective: row.effective?.toISOString() ?? null,
    onset: row.onset?.toISOString() ?? null,
    expires: row.expires?.toISOString() ?? null,
    state: row.state,
    stateReason: row.stateReason,
    active: row.state === 'active' && (!row.expires || row.expires > now),
    references: row.references as { sender: string; identifier: string; sent: string }[],
    incidents: row.incidents,
    responseType: row.responseType,
    geometry: row.geometry as GeoJSON.Geometry | null,
    areaDescriptions: row.areaDescriptions,
    geocodes: row.geocodes as { valueName: string; value: string }[],
    areaCodes: row.areaCodes,
    unresolved: row.unresolved as { valueName: string; value: string }[],
    notes: row.notes,
    version: row.version,
    receivedAt: row.receivedAt.toISOString(),
  };
}
export type AlertView = ReturnType<typeof alertView>;

export async function listAlerts(ctx: Ctx, filter: AlertFilter) {
  const { db, now } = ctx;
  const conditions: SQL[] = [alertScope.where(ctx.actor)];
  if (filter.active === true) conditions.push(and(eq(alerts.state, 'active'), or(isNull(alerts.expires), gt(alerts.expires, now))!)!);
  if (filter.active === false) conditions.push(or(ne(alerts.state, 'active'), lte(alerts.expires, now))!);
  if (filter.hazard) conditions.push(eq(alerts.hazard, filter.hazard));
  if (filter.area) conditions.push(sql`exists (select 1 from unnest(${alerts.areaCodes}) c where starts_with(c, ${filter.area}) or starts_with(${filter.area}, c))`);
  if (filter.since) conditions.push(gte(alerts.sent, filter.since));
  const where = and(...conditions);
  const [rows, [count]] = await Promise.all([
    db.select().from(alerts).where(where).orderBy(desc(alerts.sent), asc(alerts.identifier)).limit(filter.pageSize).offset((filter.page - 1) * filter.pageSize),
    db.select({ n: sql<number>`count(*)::int` }).from(alerts).where(where),
  ]);
  return { total: count?.n ?? 0, items: rows.map((r) => alertView(r, now)) };
}

/** One alert the actor may see, with every message of its chain; out of scope reads as not found. */
export async function getAlert(ctx: Ctx, id: string) {
  const { db, now } = ctx;
  const [row] = await db.select().from(alerts).where(and(eq(alerts.id, id), alertScope.where(ctx.actor)));
  if (!row) throw new NotFoundError(`No alert ${id}.`);
  const chain = await db.select().from(alerts).where(and(eq(alerts.chainId, row.chainId), alertScope.where(ctx.actor))).orderBy(asc(alerts.sent));
  return {
    ...alertView(row, now),
    chain: chain.map((r) => ({ id: r.id, identifier: r.identifier, sender: r.sender, msgType: r.msgType, sent: r.sent.toISOString(), state: r.state, stateReason: r.stateReason })),
  };
}
