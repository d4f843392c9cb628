import { createHash } from 'node:crypto';
import { and, eq, inArray, lte, sql } from 'drizzle-orm';
import { canonicalJson } from '../audit/chain.ts';
import { AreaCatalog } from '../areas/catalog.ts';
import { commonJurisdiction } from '../access/jurisdiction.ts';
import { actorOf } from '../access/principal.ts';
import type { Publisher } from '../access/senders.ts';
import { recordAudit } from '../audit/service.ts';
import { withTransaction, type Ctx, type TxCtx } from '../context.ts';
import { alertBodies, alerts } from '../db/schema/index.ts';
import { ForbiddenError } from '../errors.ts';
import { faultSummary } from '../http/problem.ts';
import { enqueue } from '../outbox/enqueue.ts';
import type { Payload } from '../outbox/topics.ts';
import { effectOnReferenced, initialState } from './lifecycle.ts';
import { parseAlerts, type MessageResult, type NormalizedAlert } from './parse/index.ts';
import { swappedIntoPakistan } from './plausibility.ts';
import { foreignReferences, publishingRefusals, refusalOfStored } from './publisher.ts';

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
  /**
   * Who publishes the body: the senders its messages may carry and the jurisdiction their areas must lie
   * within. A user or token always has one (server/access/senders.ts `publisherFor`), a polled feed its
   * configured senders and `PK`. Absent only for the system itself (`madad alerts ingest`, the demo): the
   * operator at the database is trusted to publish as any sender, as they could write the rows anyway.
   */
  publisher?: Publisher;
}

/** A message that may not be stored, with the reason its item gives. */
class MessageRefused extends Error {}

/** A body's bytes, stored with the first message that is stored (so a body refused whole leaves nothing). */
interface BodyToStore {
  bytes: Uint8Array;
  contentType: string | undefined;
  id?: string;
}

interface Accepted {
  alert: NormalizedAlert;
  warnings: string[];
  codes: string[];
  unresolved: { valueName: string; value: string }[];
}

/**
 * Parses a body of one or more messages and stores each in a transaction of its own, so one bad message
 * in a feed never blocks the good ones. A body refused as a whole (DOCTYPE, malformed XML or JSON) stores
 * nothing and throws a ValidationError naming the line or field. Each message is checked against its
 * publisher (sender, jurisdiction) before anything is written, and against the stored alerts it would
 * change inside its transaction; a refused message is a rejected item naming why.
 */
export async function ingestBody(ctx: Ctx, { body, contentType, publisher }: IngestInput): Promise<IngestReport> {
  if (!publisher && ctx.actor.kind !== 'system') throw new ForbiddenError(`${actorOf(ctx.actor)} may publish alerts only as the senders it is bound to.`);
  // AlertParseError is a ValidationError: the error mapper answers 400 with its message.
  // `now` holds `sent` to at most a day after receipt (server/alerts/parse/bounds.ts).
  const outcome = parseAlerts(body, contentType, { now: ctx.now });
  // Each message is checked before anything is written, so a refused message leaves nothing behind.
  const messages = outcome.messages.map(plausible);
  if (messages.every(isRejected)) return { format: outcome.format, items: messages.map(rejected) };

  const catalog = await AreaCatalog.load(ctx.db);
  const who = actorOf(ctx.actor);
  const checked: (IngestItem | Accepted)[] = [];
  for (const message of messages) {
    if (!message.ok) {
      checked.push(rejected(message));
      continue;
    }
    const { alert } = message;
    const { codes, unresolved } = await catalog.resolve(alert.area);
    const refusals = publisher ? publishingRefusals(alert, codes, publisher, who) : [];
    if (refusals.length) {
      checked.push({ result: 'rejected', sender: alert.sender, identifier: alert.identifier, reason: refusals.join('; '), warnings: message.warnings });
      continue;
    }
    const warnings = [
      ...message.warnings,
      ...foreignReferences(alert).map((r) => `Reference ${r.sender},${r.identifier} names another sender: it never acts on that sender's alerts (CAP 1.2 §3.2.1).`),
    ];
    checked.push({ alert, warnings, codes, unresolved });
  }

  const stored: BodyToStore = { bytes: body, contentType };
  const items: IngestItem[] = [];
  for (const entry of checked) {
    if (!('alert' in entry)) {
      items.push(entry);
      continue;
    }
    // A body may hold hundreds of messages: other requests (health checks included) run between them.
    if (items.length) await new Promise<void>((resolve) => setImmediate(resolve));
    try {
      items.push(await storeAlert(ctx, catalog, stored, entry, publisher));
    } catch (err) {
      items.push({
        result: 'rejected',
        sender: entry.alert.sender,
        identifier: entry.alert.identifier,
        reason: err instanceof MessageRefused ? err.message : `could not be stored: ${faultSummary(err)}${ctx.requestId ? `; quote request id ${ctx.requestId}` : ''}`,
        warnings: entry.warnings,
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

/**
 * Stores the body once per sha256, in the transaction of the message being stored. Who sent it, as the
 * stored body records it: `token:<name>`, `user:<name>`, `system:feed:<url>`, `system:cli:<user>`.
 */
async function storeBody(t: TxCtx, body: BodyToStore): Promise<string> {
  const sha256 = createHash('sha256').update(body.bytes).digest('hex');
  const [inserted] = await t.tx
    .insert(alertBodies)
    .values({ sha256, contentType: body.contentType ?? null, bytes: body.bytes, receivedAt: t.now, receivedVia: actorOf(t.actor) })
    .onConflictDoNothing({ target: alertBodies.sha256 })
    .returning({ id: alertBodies.id });
  if (inserted) return inserted.id;
  const [existing] = await t.tx.select({ id: alertBodies.id }).from(alertBodies).where(eq(alertBodies.sha256, sha256));
  return existing!.id;
}

function contentHashOf(alert: NormalizedAlert): string {
  return createHash('sha256').update(canonicalJson(alert)).digest('hex');
}

async function storeAlert(ctx: Ctx, catalog: AreaCatalog, body: BodyToStore, message: Accepted, publisher: Publisher | undefined): Promise<IngestItem> {
  const { alert, warnings, codes, unresolved } = message;
  const contentHash = contentHashOf(alert);
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
    // Read under the lock, so the check holds for what is written: another sender's alert is never changed,
    // nor one outside the publisher's jurisdiction (a Sindh feed re-sending PMD's Punjab identifier).
    const refusal = refusalOfStored(alert, [...(existing ? [existing] : []), ...referenced], publisher, actorOf(ctx.actor));
    if (refusal) throw new MessageRefused(refusal);
    // A later message may already be here (an Update can arrive before its original): then this one is already
    // superseded. Only one of the same sender: another sender's reference never acts (CAP 1.2 §3.2.1).
    const laterRefs = await tx
      .select()
      .from(alerts)
      .where(and(eq(alerts.sender, alert.sender), sql`${alerts.references} @> ${JSON.stringify([{ sender: alert.sender, identifier: alert.identifier }])}::jsonb`));
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
    const bodyId = body.id ?? (await storeBody(t, body));
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
    const result = existing ? ('updated' as const) : ('created' as const);
    // Who pushed each stored message: the actor of the entry is the pusher, and the summary says it again
    // beside what was pushed, so an entry read alone answers "who made this alert".
    await recordAudit(tx, t, {
      action: 'alert.ingest',
      subject: `alert:${id}`,
      jurisdiction: commonJurisdiction(codes, catalog.list),
      summary: {
        sender: alert.sender,
        identifier: alert.identifier,
        msgType: alert.msgType,
        result,
        state,
        areaCodes: codes,
        references: alert.references.map((r) => `${r.sender},${r.identifier}`),
        bodyId,
        pushedBy: actorOf(ctx.actor),
      },
    });
    return { result, id, state, bodyId };
  });
  // Known to be committed only now: later messages of the body reuse it.
  body.id ??= item.bodyId;
  return {
    result: item.result,
    id: item.id,
    state: item.state,
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
