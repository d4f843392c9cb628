import { createHash } from 'node:crypto';
import { and, eq, inArray, lte, sql } from 'drizzle-orm';
import { canonicalJson } from '../audit/chain.ts';
import { AreaCatalog } from '../areas/catalog.ts';
import { actorOf } from '../access/principal.ts';
import { withTransaction, type Ctx } from '../context.ts';
import { alertBodies, alerts } from '../db/schema/index.ts';
import { enqueue } from '../outbox/enqueue.ts';
import type { Payload } from '../outbox/topics.ts';
import { effectOnReferenced, initialState } from './lifecycle.ts';
import { parseAlerts, type MessageResult, type NormalizedAlert } from './parse/index.ts';
import { swappedIntoPakistan } from './plausibility.ts';

export type IngestResult = 'created' | 'updated' | 'unchanged' | 'rejected';

export interface IngestItem {
  result: IngestResult;
  sender?: string;
  identifier?: string;
  id?: string;
  state?: string;
  reason?: string;
  warnings: string[];
  unresolved?: { valueName: string; value: string }[];
}

export interface IngestReport {
  format: string;
  items: IngestItem[];
}

export interface IngestInput {
  body: Uint8Array;
  /** The Content-Type it came with; the parser sniffs the content, this only shapes messages. */
  contentType?: string;
}

/**
 * Parses a body of one or more messages and stores each in a transaction of its own, so one bad message
 * in a feed never blocks the good ones. A body refused as a whole (DOCTYPE, malformed XML or JSON) stores
 * nothing and throws a ValidationError naming the line or field.
 */
export async function ingestBody(ctx: Ctx, { body, contentType }: IngestInput): Promise<IngestReport> {
  // AlertParseError is a ValidationError: the error mapper answers 400 with its message.
  const outcome = parseAlerts(body, contentType);
  // Each message is checked before anything is written, so a refused message leaves nothing behind.
  const messages = outcome.messages.map(plausible);
  if (messages.every(isRejected)) return { format: outcome.format, items: messages.map(rejected) };

  const bodyId = await storeBody(ctx, body, contentType);
  const catalog = await AreaCatalog.load(ctx.db);
  const items: IngestItem[] = [];
  for (const message of messages) {
    if (!message.ok) {
      items.push(rejected(message));
      continue;
    }
    try {
      items.push(await storeAlert(ctx, catalog, bodyId, message.alert, message.warnings));
    } catch (err) {
      items.push({
        result: 'rejected',
        sender: message.alert.sender,
        identifier: message.alert.identifier,
        reason: `could not be stored: ${err instanceof Error ? err.message : String(err)}`,
        warnings: message.warnings,
      });
    }
  }
  return { format: outcome.format, items };
}

type Rejected = Extract<MessageResult, { ok: false }>;
const isRejected = (m: MessageResult): m is Rejected => !m.ok;
const rejected = (m: Rejected): IngestItem => ({ result: 'rejected', identifier: m.identifier, reason: m.reason, warnings: [] });

/** A message the parser accepted but that cannot be meant as sent: a CAP polygon over Pakistan written lon,lat. */
function plausible(m: MessageResult): MessageResult {
  if (!m.ok || m.alert.source !== 'cap' || !m.alert.area.geometry || !swappedIntoPakistan(m.alert.area.geometry)) return m;
  return {
    ok: false,
    identifier: m.alert.identifier,
    reason: "the polygon seems to be given as lon,lat instead of CAP's lat,lon: as given it lies outside Pakistan, swapped it falls inside; send each point as latitude,longitude",
  };
}

/** Who sent a body, as the stored body records it: `token:<name>`, `user:<name>`, `system:feed:<url>`, `system:cli:<user>`. */
async function storeBody(ctx: Ctx, body: Uint8Array, contentType: string | undefined): Promise<string> {
  const db = ctx.db;
  const sha256 = createHash('sha256').update(body).digest('hex');
  const [inserted] = await db
    .insert(alertBodies)
    .values({ sha256, contentType: contentType ?? null, bytes: body, receivedAt: ctx.now, receivedVia: actorOf(ctx.actor) })
    .onConflictDoNothing({ target: alertBodies.sha256 })
    .returning({ id: alertBodies.id });
  if (inserted) return inserted.id;
  const [existing] = await db.select({ id: alertBodies.id }).from(alertBodies).where(eq(alertBodies.sha256, sha256));
  return existing!.id;
}

function contentHashOf(alert: NormalizedAlert): string {
  return createHash('sha256').update(canonicalJson(alert)).digest('hex');
}

async function storeAlert(ctx: Ctx, catalog: AreaCatalog, bodyId: string, alert: NormalizedAlert, warnings: string[]): Promise<IngestItem> {
  const contentHash = contentHashOf(alert);
  const { codes, unresolved } = await catalog.resolve(alert.area);
  const item = await withTransaction(ctx, async (t) => {
    const { tx, now } = t;
    const changes: Payload<'alert.changed'>[] = [];
    // One writer per (sender, identifier) at a time; concurrent pushes of the same message queue here.
    await tx.execute(sql`select pg_advisory_xact_lock(hashtext(${`alert:${alert.sender}:${alert.identifier}`}))`);
    const [existing] = await tx.select().from(alerts).where(and(eq(alerts.sender, alert.sender), eq(alerts.identifier, alert.identifier)));
    if (existing && existing.contentHash === contentHash) {
      return { result: 'unchanged' as const, id: existing.id, state: existing.state };
    }

    let { state, reason } = initialState(alert, now);
    let stateChangedBy: string | null = null;
    // The messages this one references: it supersedes, cancels or ends them, and joins their chain.
    const referenced = alert.references.length
      ? await tx
          .select()
          .from(alerts)
          .where(sql`(${alerts.sender}, ${alerts.identifier}) in (${sql.join(alert.references.map((r) => sql`(${r.sender}, ${r.identifier})`), sql`, `)})`)
      : [];
    // A later message may already be here (an Update can arrive before its original): then this one is already superseded.
    const laterRefs = await tx
      .select()
      .from(alerts)
      .where(sql`${alerts.references} @> ${JSON.stringify([{ sender: alert.sender, identifier: alert.identifier }])}::jsonb`);
    const later = laterRefs.sort((a, b) => b.sent.getTime() - a.sent.getTime())[0];
    if (later && state === 'active') {
      const effect = effectOnReferenced(later.state as never, later.msgType as never);
      if (effect) {
        state = effect.state;
        reason = effect.reason;
        stateChangedBy = later.id;
      }
    }
    const chainId = existing?.chainId ?? referenced[0]?.chainId ?? later?.chainId ?? crypto.randomUUID();
    const values = {
      chainId,
      sender: alert.sender,
      identifier: alert.identifier,
      source: alert.source,
      format: alert.format,
      sent: new Date(alert.sent),
      status: alert.status,
      msgType: alert.msgType,
      scope: alert.scope,
      references: alert.references,
      incidents: alert.incidents,
      responseType: alert.responseType ?? [],
      hazard: alert.hazard,
      severity: alert.severity,
      urgency: alert.urgency,
      certainty: alert.certainty,
      metrics: alert.metrics,
      infos: alert.infos,
      effective: alert.effective ? new Date(alert.effective) : null,
      onset: alert.onset ? new Date(alert.onset) : null,
      expires: alert.expires ? new Date(alert.expires) : null,
      geometry: alert.area.geometry,
      areaDescriptions: alert.area.descriptions,
      geocodes: alert.area.geocodes,
      areaCodes: codes,
      unresolved,
      notes: [...alert.notes, ...(alert.note ? [`sender's note: ${alert.note}`] : [])],
      contentHash,
      bodyId,
      state,
      stateReason: reason ?? null,
      stateChangedBy,
      receivedAt: now,
      updatedAt: now,
    };
    let id: string;
    if (existing) {
      await tx
        .update(alerts)
        .set({ ...values, version: existing.version + 1 })
        .where(eq(alerts.id, existing.id));
      id = existing.id;
      changes.push({ alertId: id, chainId, change: 'updated' });
    } else {
      const [row] = await tx.insert(alerts).values(values).returning({ id: alerts.id });
      id = row!.id;
      changes.push({ alertId: id, chainId, change: 'created' });
    }
    if (later && stateChangedBy) await tx.update(alerts).set({ chainId }).where(eq(alerts.chainId, later.chainId));

    const effect = effectOnReferenced(state, alert.msgType);
    const activeReferenced = referenced.filter((r) => r.state === 'active');
    if (effect && activeReferenced.length) {
      await tx
        .update(alerts)
        .set({ state: effect.state, stateReason: effect.reason, stateChangedBy: id, updatedAt: now })
        .where(inArray(alerts.id, activeReferenced.map((r) => r.id)));
      for (const r of activeReferenced) changes.push({ alertId: r.id, chainId, change: effect.state as 'superseded' | 'cancelled' | 'ended' });
    }
    // Referenced messages from other chains join this one.
    const otherChains = [...new Set(referenced.map((r) => r.chainId).filter((c) => c !== chainId))];
    if (otherChains.length) await tx.update(alerts).set({ chainId }).where(inArray(alerts.chainId, otherChains));
    // Trigger evaluation reacts to these, delivered by the outbox if and only if this transaction commits.
    for (const change of changes) await enqueue(t, 'alert.changed', change);
    return { result: existing ? ('updated' as const) : ('created' as const), id, state };
  });
  return {
    ...item,
    sender: alert.sender,
    identifier: alert.identifier,
    warnings,
    ...(unresolved.length ? { unresolved } : {}),
  };
}

/** Ends alerts whose `expires` has passed; run by a scheduled job. Returns how many expired. */
export function expireAlerts(ctx: Ctx): Promise<number> {
  return withTransaction(ctx, async (t) => {
    const expired = await t.tx
      .update(alerts)
      .set({ state: 'expired', stateReason: 'its expires time passed', updatedAt: t.now })
      .where(and(eq(alerts.state, 'active'), lte(alerts.expires, t.now)))
      .returning({ id: alerts.id, chainId: alerts.chainId });
    for (const a of expired) await enqueue(t, 'alert.changed', { alertId: a.id, chainId: a.chainId, change: 'expired' });
    return expired.length;
  });
}
