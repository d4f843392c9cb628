import { and, desc, eq, inArray, sql, type SQL } from 'drizzle-orm';
import { commonJurisdiction } from '../access/jurisdiction.ts';
import { actorOf, inScope } from '../access/principal.ts';
import { alertScope, eventScope } from '../access/scope.ts';
import { AreaCatalog } from '../areas/catalog.ts';
import { recordAudit } from '../audit/service.ts';
import { withTransaction, type Ctx } from '../context.ts';
import { enqueue } from '../outbox/enqueue.ts';
import { alerts, events } from '../db/schema/index.ts';
import { ConflictError, ForbiddenError, NotFoundError, ValidationError, type FieldProblem } from '../errors.ts';
import type { Hazard } from '../../triggers/subject.ts';
import { NotificationFileError, readNotificationFile } from './notification-file.ts';
import {
  explainUnresolved,
  resolveNotification,
  type LineResolution,
  type AreaLevelName,
  type AreaRef,
  type NotificationLine,
  type ResolvedLine,
  type UnresolvedLine,
} from './resolve.ts';

export type EventRow = typeof events.$inferSelect;
export type EventStatus = 'draft' | 'declared' | 'closed';

export interface NewEvent {
  name: string;
  hazard: Hazard;
  status: 'draft' | 'declared';
  /** Lines of the notification: a P-code or a name, as a string or with the level the sender meant. */
  areas: (string | NotificationLine)[];
  alertIds: string[];
}

/** What is kept of the notification: each line as submitted and what it resolved to, and the alerts used. */
export interface StoredNotification {
  lines: { submitted: string; levelHint: AreaLevelName | null; via: 'code' | 'name' | 'alias'; area: AreaRef }[];
  alerts: { id: string; areaCodes: string[] }[];
}

/**
 * Some lines of a notification did not resolve; nothing was stored. `lines` carries the candidates and
 * suggestions for callers that show them (the CLI); over HTTP each line becomes a field problem.
 */
export class UnresolvedAreasError extends ValidationError {
  constructor(
    readonly lines: UnresolvedLine[],
    fields: FieldProblem[],
  ) {
    super(`${fields.length} item(s) of the notification could not be used; nothing was stored. ${fields.map((f) => `${f.field}: ${f.message}`).join(' ')}`, fields);
  }
}

/** Declares (or drafts) an event from a notification list and/or alerts. Any line that does not resolve refuses the whole event. */
export async function createEvent(ctx: Ctx, input: NewEvent): Promise<EventRow> {
  const catalog = await AreaCatalog.load(ctx.db);
  const lines = input.areas.map((a) => (typeof a === 'string' ? { area: a } : a));
  const resolutions = resolveNotification(lines, catalog.list);
  const unresolved = resolutions.filter((r): r is UnresolvedLine => r.status !== 'resolved');
  const fields: FieldProblem[] = unresolved.map((r) => ({ field: `json.areas.${r.index}`, message: explainUnresolved(r) }));

  const found = input.alertIds.length
    ? await ctx.db.select({ id: alerts.id, areaCodes: alerts.areaCodes }).from(alerts).where(and(inArray(alerts.id, input.alertIds), alertScope.where(ctx.actor)))
    : [];
  const alertById = new Map(found.map((a) => [a.id, a]));
  input.alertIds.forEach((id, n) => {
    if (!alertById.has(id)) fields.push({ field: `json.alertIds.${n}`, message: `No alert ${id}.` });
  });
  if (fields.length) throw new UnresolvedAreasError(unresolved, fields);

  const resolved = resolutions as ResolvedLine[];
  const usedAlerts = [...new Set(input.alertIds)].map((id) => ({ id, areaCodes: alertById.get(id)!.areaCodes }));
  const areaCodes = [...new Set([...resolved.map((r) => r.area.code), ...usedAlerts.flatMap((a) => a.areaCodes)])].sort();
  if (areaCodes.length === 0) {
    throw new ValidationError('The event has no areas: the alerts given resolved to none. List the notified areas.', [
      { field: 'json.areas', message: 'expected at least one area; the alerts given have none' },
    ]);
  }
  const jurisdiction = commonJurisdiction(areaCodes, catalog.list);
  const outside = areaCodes.filter((c) => !inScope(ctx.actor, c));
  if (outside.length || !inScope(ctx.actor, jurisdiction)) {
    const names = outside.map((c) => (catalog.code(c) ? `${catalog.code(c)!.name} (${c})` : c));
    throw new ForbiddenError(
      `You can declare events only within your jurisdiction ${ctx.actor.jurisdiction}; ${names.length ? `${names.join(', ')} lie(s) outside it` : `this event would belong to ${jurisdiction}`}.`,
    );
  }

  const notification: StoredNotification = {
    lines: resolved.map((r) => ({ submitted: r.submitted, levelHint: r.levelHint, via: r.via, area: r.area })),
    alerts: usedAlerts,
  };
  const declared = input.status === 'declared';
  return withTransaction(ctx, async (t) => {
    const [created] = await t.tx
      .insert(events)
      .values({
        name: input.name,
        hazard: input.hazard,
        status: input.status,
        areaCodes,
        alertIds: usedAlerts.map((a) => a.id),
        notification,
        jurisdiction,
        createdBy: actorOf(ctx.actor),
        declaredAt: declared ? ctx.now : null,
        createdAt: ctx.now,
        updatedAt: ctx.now,
      })
      .returning();
    await recordAudit(t.tx, t, {
      action: declared ? 'event.declare' : 'event.draft',
      subject: `event:${created!.id}`,
      jurisdiction,
      summary: { after: { name: input.name, hazard: input.hazard, status: input.status, areaCodes, alertIds: created!.alertIds, lines: lines.length } },
    });
    // A draft is not yet actionable, so only a declaration goes to trigger evaluation.
    if (declared) await enqueue(t, 'event.changed', { eventId: created!.id, change: 'declared' });
    return created!;
  });
}

/** A line of a pasted or uploaded notification, with the line of the text it came from and a sentence when it did not resolve. */
export type PreviewLine = LineResolution & { fileLine: number; explanation: string | null };

/**
 * What each line of a notification (text or CSV, as `madad events declare` reads it) resolves to, for a
 * person to check and correct before anything is stored. Reads only the gazetteer: nothing is written.
 */
export async function previewNotification(ctx: Ctx, input: { text: string; fileName?: string | undefined }): Promise<PreviewLine[]> {
  let lines;
  try {
    lines = readNotificationFile(input.text, input.fileName ?? '');
  } catch (err) {
    if (err instanceof NotificationFileError) throw new ValidationError(`The notification cannot be read: ${err.message}`, [{ field: 'json.text', message: err.message }]);
    throw err;
  }
  if (lines.length === 0) throw new ValidationError('The notification lists no areas.', [{ field: 'json.text', message: 'expected one P-code or area name per line' }]);
  if (lines.length > 2000) throw new ValidationError('The notification lists more than 2,000 areas.', [{ field: 'json.text', message: 'at most 2,000 lines' }]);
  const catalog = await AreaCatalog.load(ctx.db);
  return resolveNotification(lines, catalog.list).map((r) => ({ ...r, fileLine: lines[r.index]!.fileLine, explanation: r.status === 'resolved' ? null : explainUnresolved(r) }));
}

export interface EventFilter {
  status?: EventStatus;
  hazard?: Hazard;
  page: number;
  pageSize: number;
}

export async function listEvents(ctx: Ctx, filter: EventFilter) {
  const db = ctx.db;
  const conditions: SQL[] = [eventScope.where(ctx.actor)];
  if (filter.status) conditions.push(eq(events.status, filter.status));
  if (filter.hazard) conditions.push(eq(events.hazard, filter.hazard));
  const where = and(...conditions);
  const [rows, [count]] = await Promise.all([
    db.select().from(events).where(where).orderBy(desc(events.createdAt), desc(events.id)).limit(filter.pageSize).offset((filter.page - 1) * filter.pageSize),
    db.select({ n: sql<number>`count(*)::int` }).from(events).where(where),
  ]);
  return { total: count?.n ?? 0, items: rows };
}

/** One event the actor may see; out of scope reads as not found. */
export async function getEvent(ctx: Ctx, id: string): Promise<EventRow> {
  const [row] = await ctx.db.select().from(events).where(and(eq(events.id, id), eventScope.where(ctx.actor)));
  if (!row) throw new NotFoundError(`No event ${id}.`);
  return row;
}

/** Declares a draft: from now on rules that wait for a declaration may fire on it. */
export function declareEvent(ctx: Ctx, id: string): Promise<EventRow> {
  return changeStatus(ctx, id, 'declared');
}

/** Closes a draft or a declared event; rules stop treating it as current. */
export function closeEvent(ctx: Ctx, id: string): Promise<EventRow> {
  return changeStatus(ctx, id, 'closed');
}

const ALLOWED_FROM: Record<'declared' | 'closed', EventStatus[]> = { declared: ['draft'], closed: ['draft', 'declared'] };

async function changeStatus(ctx: Ctx, id: string, to: 'declared' | 'closed'): Promise<EventRow> {
  return withTransaction(ctx, async (t) => {
    const tx = t.tx;
    const [before] = await tx.select().from(events).where(and(eq(events.id, id), eventScope.where(ctx.actor))).for('update');
    if (!before) throw new NotFoundError(`No event ${id}.`);
    // Seeing an event (it touches your areas) is not owning it: only its jurisdiction's officers change it.
    if (!inScope(ctx.actor, before.jurisdiction)) {
      throw new ForbiddenError(`Event ${id} belongs to ${before.jurisdiction}; you can change only events within your jurisdiction ${ctx.actor.jurisdiction}.`);
    }
    if (!ALLOWED_FROM[to].includes(before.status as EventStatus)) {
      throw new ConflictError(`Event ${id} is ${before.status}; only a ${ALLOWED_FROM[to].join(' or ')} event can be ${to}.`);
    }
    const [after] = await tx
      .update(events)
      .set(to === 'declared' ? { status: to, declaredAt: ctx.now, updatedAt: ctx.now } : { status: to, closedAt: ctx.now, updatedAt: ctx.now })
      .where(eq(events.id, id))
      .returning();
    await recordAudit(tx, t, {
      action: to === 'declared' ? 'event.declare' : 'event.close',
      subject: `event:${id}`,
      jurisdiction: before.jurisdiction,
      summary: { before: { status: before.status }, after: { status: to } },
    });
    await enqueue(t, 'event.changed', { eventId: id, change: to });
    return after!;
  });
}
