import type { Geometry } from 'geojson';
import { z } from '@hono/zod-openapi';
import { eq } from 'drizzle-orm';
import { CERTAINTIES, evaluate, HAZARDS, SEVERITIES, URGENCIES, type EventSubject, type Subject } from '../../triggers/index.ts';
import type { Db } from '../db/client.ts';
import { alerts, events } from '../db/schema/index.ts';
import { NotFoundError } from '../errors.ts';
import type { RegistryCache } from '../registry/registry-index.ts';
import { caseload } from './caseload.ts';
import { ruleInForce } from './service.ts';
import { alertSubject, areaGeometry, eventSubject, toAlertSubject } from './subjects.ts';

const pcode = z.string().regex(/^PK\d*$/i, 'an area code is a P-code such as PK7 or PK701').transform((s) => s.toUpperCase());
const polygon = z.custom<Geometry>(
  (g) => !!g && typeof g === 'object' && ['Polygon', 'MultiPolygon'].includes((g as { type?: string }).type ?? '') && Array.isArray((g as { coordinates?: unknown }).coordinates),
  { message: 'geometry is a GeoJSON Polygon or MultiPolygon in [lon, lat]' },
).openapi({ type: 'object', description: 'A GeoJSON Polygon or MultiPolygon in [lon, lat]' });

/** An alert written inline, in the vocabulary of Madad alert JSON (server/alerts/parse/madad-json.ts). */
const inlineAlert = z.object({
  hazard: z.enum(HAZARDS),
  status: z.enum(['Actual', 'Exercise', 'System', 'Test', 'Draft']).default('Actual'),
  msgType: z.enum(['Alert', 'Update', 'Cancel', 'Ack', 'Error']).default('Alert'),
  severity: z.enum(SEVERITIES).default('Unknown'),
  certainty: z.enum(CERTAINTIES).default('Unknown'),
  urgency: z.enum(URGENCIES).default('Unknown'),
  metrics: z.record(z.string(), z.union([z.number(), z.string()])).default({}),
  areaCodes: z.array(pcode).default([]),
  geometry: polygon.optional(),
  sent: z.iso.datetime({ offset: true }).optional(),
  expires: z.iso.datetime({ offset: true }).optional(),
});

const inlineEvent = z.object({
  hazard: z.enum(HAZARDS),
  areaCodes: z.array(pcode).min(1, 'name at least one declared area code'),
  status: z.enum(['draft', 'declared', 'closed']).default('declared'),
  severity: z.enum(SEVERITIES).optional(),
  metrics: z.record(z.string(), z.union([z.number(), z.string()])).default({}),
});

export const dryRunBody = z
  .union([
    z.object({ alertId: z.uuid({ error: 'alertId is the id (UUID) of a stored alert' }) }).strict(),
    z.object({ eventId: z.uuid({ error: 'eventId is the id (UUID) of a stored event' }) }).strict(),
    z.object({ alert: inlineAlert }).strict(),
    z.object({ event: inlineEvent }).strict(),
  ])
  .openapi('DryRunRequest', { description: 'A stored subject ({alertId} or {eventId}) or one written inline ({alert} or {event}).' });
export type DryRunBody = z.infer<typeof dryRunBody>;

async function subjectOf(db: Db, body: DryRunBody, now: Date): Promise<{ subject: Subject; geometry: Geometry | null }> {
  if ('alertId' in body) {
    const [row] = await db.select().from(alerts).where(eq(alerts.id, body.alertId));
    if (!row) throw new NotFoundError(`No alert ${body.alertId}.`);
    return { subject: alertSubject(row, now), geometry: areaGeometry(row.geometry) };
  }
  if ('eventId' in body) {
    const [row] = await db.select().from(events).where(eq(events.id, body.eventId));
    if (!row) throw new NotFoundError(`No event ${body.eventId}.`);
    return { subject: await eventSubject(db, row), geometry: null };
  }
  if ('alert' in body) {
    const a = body.alert;
    const subject = toAlertSubject(a, {
      id: 'inline',
      areaCodes: a.areaCodes,
      active: a.msgType !== 'Cancel',
      sent: a.sent ? new Date(a.sent).toISOString() : now.toISOString(),
      ...(a.expires ? { expires: new Date(a.expires).toISOString() } : {}),
    });
    return { subject, geometry: a.geometry ?? null };
  }
  const e = body.event;
  const subject: EventSubject = {
    kind: 'event',
    id: 'inline',
    hazard: e.hazard,
    status: e.status,
    areaCodes: e.areaCodes,
    ...(e.status === 'declared' ? { declaredAt: now.toISOString() } : {}),
    ...(e.severity ? { severity: e.severity } : {}),
    metrics: e.metrics,
  };
  return { subject, geometry: null };
}

/**
 * What a rule would decide about a subject now, and whom and how much it would reach: the decision with
 * every reason, and the caseload from the registry in memory. Writes nothing: no evaluation, no
 * activation, no audit entry, so officials can try a rule on any alert as often as they like.
 */
export async function dryRun(deps: { db: Db; registry: RegistryCache }, ruleId: string, body: DryRunBody, now: Date) {
  const { rule, versionId } = await ruleInForce(deps.db, ruleId);
  const { subject, geometry } = await subjectOf(deps.db, body, now);
  const decision = evaluate(rule, subject, now);
  const index = await deps.registry.get();
  const severity = subject.severity;
  return {
    rule: { id: rule.id, version: rule.version, versionId },
    subject: { kind: subject.kind, id: subject.id, hazard: subject.hazard, areaCodes: subject.areaCodes },
    decision,
    caseload: caseload(index, { rule, decision, geometry, now, ...(severity ? { severity } : {}) }),
  };
}
