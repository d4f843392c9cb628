import { and, eq, inArray, isNull, sql } from 'drizzle-orm';
import { eventScope, touches } from '../access/scope.ts';
import type { Actor } from '../access/principal.ts';
import { incidentOf } from '../batches/build.ts';
import type { Ctx } from '../context.ts';
import { queryRows, type Db, type Tx } from '../db/client.ts';
import { activations, alerts, areas, events } from '../db/schema/index.ts';
import { NotFoundError } from '../errors.ts';
import { INCIDENT_PATTERN } from './schema.ts';

/** Alert states that end a chain (as server/rules/subjects.ts names them). */
const ENDED = ['cancelled', 'ended', 'expired'];

/**
 * An incident as a plan knows it: a declared event (`event:<id>`), or a chain of alerts with the events that
 * name them (`alert-chain:<chain id>`), the key batches already use. Its areas are where it is seen: every
 * jurisdiction they touch sees the whole plan.
 */
export interface Incident {
  key: string;
  kind: 'event' | 'alert-chain';
  title: string;
  hazard: string;
  open: boolean;
  areaCodes: string[];
  startedAt: Date;
  /** The subjects whose activations trigger its stages. */
  eventIds: string[];
  alertIds: string[];
}

/** Whether an actor sees an incident's plan: federally, or where the incident's areas touch its jurisdiction. */
export function incidentVisible(actor: Pick<Actor, 'jurisdiction'>, incident: Pick<Incident, 'areaCodes'>): boolean {
  return actor.jurisdiction === 'PK' || touches(incident.areaCodes, actor.jurisdiction);
}

const eventIncident = (key: string, e: typeof events.$inferSelect): Incident => ({
  key,
  kind: 'event',
  title: e.name,
  hazard: e.hazard,
  open: e.status !== 'closed',
  areaCodes: e.areaCodes,
  startedAt: e.declaredAt ?? e.createdAt,
  eventIds: [e.id],
  alertIds: [],
});

/** Reads incidents by their keys (events in one query, each alert chain on its own); unknown keys are left out. */
export async function loadIncidents(db: Db | Tx, keys: readonly string[]): Promise<Map<string, Incident>> {
  const out = new Map<string, Incident>();
  const valid = [...new Set(keys)].filter((k) => INCIDENT_PATTERN.test(k));
  const eventIds = valid.filter((k) => k.startsWith('event:')).map((k) => k.slice('event:'.length));
  if (eventIds.length) for (const e of await db.select().from(events).where(inArray(events.id, eventIds))) out.set(`event:${e.id}`, eventIncident(`event:${e.id}`, e));
  for (const key of valid.filter((k) => k.startsWith('alert-chain:'))) {
    const found = await loadIncident(db, key);
    if (found) out.set(key, found);
  }
  return out;
}

/** Reads an incident by its key, or null when there is no such event or chain. */
export async function loadIncident(db: Db | Tx, key: string): Promise<Incident | null> {
  if (!INCIDENT_PATTERN.test(key)) return null;
  const [kind, id] = [key.slice(0, key.indexOf(':')), key.slice(key.indexOf(':') + 1)] as ['event' | 'alert-chain', string];
  if (kind === 'event') {
    const [e] = await db.select().from(events).where(eq(events.id, id));
    return e ? eventIncident(key, e) : null;
  }
  const chain = await db
    .select({ id: alerts.id, hazard: alerts.hazard, sent: alerts.sent, state: alerts.state, areaCodes: alerts.areaCodes, infos: alerts.infos })
    .from(alerts)
    .where(eq(alerts.chainId, id))
    .orderBy(alerts.sent);
  if (chain.length === 0) return null;
  const alertIds = chain.map((a) => a.id);
  const named = await queryRows<{ id: string; name: string; area_codes: string[]; status: string }>(
    db,
    sql`select id::text, name, area_codes, status from events where alert_ids && ${`{${alertIds.join(',')}}`}::uuid[] order by created_at`,
  );
  const latest = chain[chain.length - 1]!;
  const headline = (latest.infos as { headline?: string; event?: string }[] | null)?.[0];
  const active = await db
    .select({ id: activations.id })
    .from(activations)
    .where(and(eq(activations.subjectKind, 'alert'), inArray(activations.subjectId, alertIds), eq(activations.status, 'active')))
    .limit(1);
  return {
    key,
    kind,
    title: named[0]?.name ?? headline?.headline ?? headline?.event ?? `${latest.hazard} alert`,
    hazard: latest.hazard,
    open: active.length > 0 || chain.some((a) => !ENDED.includes(a.state)) || named.some((e) => e.status !== 'closed'),
    areaCodes: [...new Set([...chain.flatMap((a) => a.areaCodes), ...named.flatMap((e) => e.area_codes)])].sort(),
    startedAt: chain[0]!.sent,
    eventIds: named.map((e) => e.id),
    alertIds,
  };
}

/** An incident the actor may see, or "not found" (never "forbidden": the caller may not learn it exists). */
export async function incidentInScope(ctx: Ctx, key: string): Promise<Incident> {
  const incident = await loadIncident(ctx.db, key);
  if (!incident || !incidentVisible(ctx.actor, incident)) throw new NotFoundError(`No incident ${key}.`);
  return incident;
}

/** The incident of an event the actor may see: its own, or the alert chain it names. */
export async function incidentOfEvent(ctx: Ctx, eventId: string): Promise<string> {
  const [e] = await ctx.db.select({ id: events.id }).from(events).where(and(eq(events.id, eventId), eventScope.where(ctx.actor)));
  if (!e) throw new NotFoundError(`No event ${eventId}.`);
  return incidentOf(ctx.db, 'event', e.id);
}

/** When each stage of the incident first fired (its activations), earliest first. */
export async function stageTimes(db: Db | Tx, incident: Incident): Promise<{ stage: string; at: Date }[]> {
  const subjects = [
    ...(incident.alertIds.length ? [and(eq(activations.subjectKind, 'alert'), inArray(activations.subjectId, incident.alertIds))] : []),
    ...(incident.eventIds.length ? [and(eq(activations.subjectKind, 'event'), inArray(activations.subjectId, incident.eventIds))] : []),
  ];
  if (subjects.length === 0) return [];
  const rows = await db
    .select({ stage: activations.stage, at: sql<string>`min(${activations.createdAt})` })
    .from(activations)
    .where(sql.join(subjects.map((s) => sql`(${s})`), sql` or `))
    .groupBy(activations.stage);
  return rows.map((r) => ({ stage: r.stage, at: new Date(r.at) })).sort((a, b) => a.at.getTime() - b.at.getTime());
}

/**
 * The moment an action of a stage counts from: when that stage fired (a response counts from the
 * activation), else when the incident began.
 */
export function triggerFor(stage: string, times: { stage: string; at: Date }[], incident: Incident): Date {
  const wanted = stage === 'response' ? 'activation' : stage;
  return times.find((t) => t.stage === wanted)?.at ?? incident.startedAt;
}

/** Current gazetteer names of codes (a code without an area keeps no name). */
export async function areaNames(db: Db | Tx, codes: readonly string[]): Promise<Map<string, string>> {
  const wanted = [...new Set(codes)];
  if (wanted.length === 0) return new Map();
  const rows = await db.select({ code: areas.code, name: areas.name }).from(areas).where(and(inArray(areas.code, wanted), isNull(areas.validTo)));
  return new Map(rows.map((r) => [r.code, r.name]));
}
