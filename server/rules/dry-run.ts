import type { Geometry } from 'geojson';
import { z } from '@hono/zod-openapi';
import { and, eq } from 'drizzle-orm';
import { CERTAINTIES, evaluate, HAZARDS, SEVERITIES, URGENCIES, type EventSubject, type Subject } from '../../triggers/index.ts';
import { canSeeIdentity } from '../access/principal.ts';
import { alertScope, eventScope } from '../access/scope.ts';
import type { Ctx } from '../context.ts';
import { alerts, events } from '../db/schema/index.ts';
import { NotFoundError } from '../errors.ts';
import { areaGeometrySchema, isoInstant, pcodeSchema } from '../http/schemas.ts';
import { disclosureFor } from '../registry/disclosure.ts';
import type { RegistryCache } from '../registry/registry-index.ts';
import { caseloadInWorker, protectCaseload } from './caseload.ts';
import { ruleInForce } from './service.ts';
import { alertSubject, areaGeometry, eventSubject, toAlertSubject } from './subjects.ts';

/** An alert written inline, in the vocabulary of Madad alert JSON (server/alerts/parse/madad-json.ts). */
const inlineAlert = z.object({
  hazard: z.enum(HAZARDS),
  status: z.enum(['Actual', 'Exercise', 'System', 'Test', 'Draft']).default('Actual'),
  msgType: z.enum(['Alert', 'Update', 'Cancel', 'Ack', 'Error']).default('Alert'),
  severity: z.enum(SEVERITIES).default('Unknown'),
  certainty: z.enum(CERTAINTIES).default('Unknown'),
  urgency: z.enum(URGENCIES).default('Unknown'),
  metrics: z.record(z.string(), z.union([z.number(), z.string()])).default({}),
  areaCodes: z.array(pcodeSchema).default([]),
  geometry: areaGeometrySchema.optional(),
  sent: isoInstant.optional(),
  expires: isoInstant.optional(),
});

const inlineEvent = z.object({
  hazard: z.enum(HAZARDS),
  areaCodes: z.array(pcodeSchema).min(1, 'name at least one declared area code'),
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

/**
 * The subject a dry run asks about. A stored one is read through the actor's scope: out of scope is not found.
 * `inline` says the geometry came in this request's body, so the request's vertex limit applies to it.
 */
async function subjectOf(ctx: Ctx, body: DryRunBody): Promise<{ subject: Subject; geometry: Geometry | null; inline?: boolean }> {
  const { db, now } = ctx;
  if ('alertId' in body) {
    const [row] = await db.select().from(alerts).where(and(eq(alerts.id, body.alertId), alertScope.where(ctx.actor)));
    if (!row) throw new NotFoundError(`No alert ${body.alertId}.`);
    return { subject: alertSubject(row, now), geometry: areaGeometry(row.geometry) };
  }
  if ('eventId' in body) {
    const [row] = await db.select().from(events).where(and(eq(events.id, body.eventId), eventScope.where(ctx.actor)));
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
    return { subject, geometry: a.geometry ?? null, inline: true };
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
 * activation, no audit entry, so officials can try a rule on any alert as often as they like. The
 * households of a polygon are found in a spatial worker within the time budget, and the caseload is
 * weighed in a worker too (millions of households would hold up every other request); a role without identity
 * access (a DMA officer) sees the caseload's small counts suppressed and the rest rounded.
 */
export async function dryRun(ctx: Ctx, { ruleId, body }: { ruleId: string; body: DryRunBody }, registry: RegistryCache) {
  const now = ctx.now;
  const { rule, versionId } = await ruleInForce(ctx.db, ruleId);
  const { subject, geometry, inline } = await subjectOf(ctx, body);
  const flat = inline ? registry.requestArea(geometry) : registry.storedArea(geometry);
  const decision = evaluate(rule, subject, now);
  const severity = subject.severity;
  const { caseload } = await caseloadInWorker(registry, { rule, decision, geometry: flat, now, ...(severity ? { severity } : {}) }, { lines: false });
  const disclosure = disclosureFor(canSeeIdentity(ctx.actor), registry.policy.minCell);
  return {
    rule: { id: rule.id, version: rule.version, versionId },
    subject: { kind: subject.kind, id: subject.id, hazard: subject.hazard, areaCodes: subject.areaCodes },
    decision,
    caseload: protectCaseload(caseload.summary, disclosure, caseload.largest),
  };
}
