import { createHash } from 'node:crypto';
import { and, eq, inArray, lte, sql } from 'drizzle-orm';
import { canonicalJson } from '../audit/chain.ts';
import { AreaCatalog } from '../areas/catalog.ts';
import type { Database, Db } from '../db/client.ts';
import { alertBodies, alerts } from '../db/schema/index.ts';
import type { Bus } from '../bus.ts';
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

export interface IngestDeps {
  database: Database;
  bus: Bus;
  now: Date;
  /** Who sent the body: `token:<name>`, `user:<name>`, `feed:<url>`, `cli:<user>`. */
  via: string;
}

/**
 * Parses a body of one or more messages and stores each in a transaction of its own, so one bad message
 * in a feed never blocks the good ones. A body refused as a whole (DOCTYPE, malformed XML or JSON) stores
 * nothing and throws a ValidationError naming the line or field.
 */
export async function ingestBody(deps: IngestDeps, body: Uint8Array, contentType?: string): Promise<IngestReport> {
  // AlertParseError is a ValidationError: the error mapper answers 400 with its message.
  const outcome = parseAlerts(body, contentType);
  // Each message is checked before anything is written, so a refused message leaves nothing behind.
  const messages = outcome.messages.map(plausible);
  if (messages.every(isRejected)) return { format: outcome.format, items: messages.map(rejected) };

  const db = deps.database.db;
  const bodyId = await storeBody(db, body, contentType, deps);
  const catalog = await AreaCatalog.load(db);
  const items: IngestItem[] = [];
  for (const message of messages) {
    if (!message.ok) {
      items.push(rejected(message));
      continue;
    }
    try {
      items.push(await storeAlert(deps, catalog, bodyId, message.alert, message.warnings));
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

async function storeBody(db: Db, body: Uint8Array, contentType: string | undefined, deps: IngestDeps): Promise<string> {
  const sha256 = createHash('sha256').update(body).digest('hex');
  const [inserted] = await db
    .insert(alertBodies)
    .values({ sha256, contentType: contentType ?? null, bytes: body, receivedAt: deps.now, receivedVia: deps.via })
    .onConflictDoNothing({ target: alertBodies.sha256 })
    .returning({ id: alertBodies.id });
  if (inserted) return inserted.id;
  const [existing] = await db.select({ id: alertBodies.id }).from(alertBodies).where(eq(alertBodies.sha256, sha256));
  return existing!.id;
}

function contentHashOf(alert: NormalizedAlert): string {
  return createHash('sha256').update(canonicalJson(alert)).digest('hex');
}

async function storeAlert(deps: IngestDeps, catalog: AreaCatalog, bodyId: string, alert: NormalizedAlert, warnings: string[]): Promise<IngestItem> {
  const contentHash = contentHashOf(alert);
  const { codes, unresolved } = await catalog.resolve(alert.area);
  const changes: { id: string; chainId: string; change: 'created' | 'updated' | 'superseded' | 'cancelled' | 'ended' | 'expired' }[] = [];

  const item = await deps.database.db.transaction(async (tx) => {
    // One writer per (sender, identifier) at a time; concurrent pushes of the same message queue here.
    await tx.execute(sql`select pg_advisory_xact_lock(hashtext(${`alert:${alert.sender}:${alert.identifier}`}))`);
    const [existing] = await tx.select().from(alerts).where(and(eq(alerts.sender, alert.sender), eq(alerts.identifier, alert.identifier)));
    if (existing && existing.contentHash === contentHash) {
      return { result: 'unchanged' as const, id: existing.id, state: existing.state };
    }

    let { state, reason } = initialState(alert, deps.now);
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
      receivedAt: deps.now,
      updatedAt: deps.now,
    };
    let id: string;
    if (existing) {
      await tx
        .update(alerts)
        .set({ ...values, version: existing.version + 1 })
        .where(eq(alerts.id, existing.id));
      id = existing.id;
      changes.push({ id, chainId, change: 'updated' });
    } else {
      const [row] = await tx.insert(alerts).values(values).returning({ id: alerts.id });
      id = row!.id;
      changes.push({ id, chainId, change: 'created' });
    }
    if (later && stateChangedBy) await tx.update(alerts).set({ chainId }).where(eq(alerts.chainId, later.chainId));

    const effect = effectOnReferenced(state, alert.msgType);
    const activeReferenced = referenced.filter((r) => r.state === 'active');
    if (effect && activeReferenced.length) {
      await tx
        .update(alerts)
        .set({ state: effect.state, stateReason: effect.reason, stateChangedBy: id, updatedAt: deps.now })
        .where(inArray(alerts.id, activeReferenced.map((r) => r.id)));
      for (const r of activeReferenced) changes.push({ id: r.id, chainId, change: effect.state as 'superseded' | 'cancelled' | 'ended' });
    }
    // Referenced messages from other chains join this one.
    const otherChains = [...new Set(referenced.map((r) => r.chainId).filter((c) => c !== chainId))];
    if (otherChains.length) await tx.update(alerts).set({ chainId }).where(inArray(alerts.chainId, otherChains));
    return { result: existing ? ('updated' as const) : ('created' as const), id, state };
  });

  if (item.result !== 'unchanged') for (const c of changes) deps.bus.emit('alert.changed', { alertId: c.id, chainId: c.chainId, change: c.change, at: deps.now });
  return {
    ...item,
    sender: alert.sender,
    identifier: alert.identifier,
    warnings,
    ...(unresolved.length ? { unresolved } : {}),
  };
}

/** Ends alerts whose `expires` has passed; run by a scheduled job. Returns how many expired. */
export async function expireAlerts(database: Database, bus: Bus, now: Date): Promise<number> {
  const expired = await database.db
    .update(alerts)
    .set({ state: 'expired', stateReason: 'its expires time passed', updatedAt: now })
    .where(and(eq(alerts.state, 'active'), lte(alerts.expires, now)))
    .returning({ id: alerts.id, chainId: alerts.chainId });
  for (const a of expired) bus.emit('alert.changed', { alertId: a.id, chainId: a.chainId, change: 'expired', at: now });
  return expired.length;
}
