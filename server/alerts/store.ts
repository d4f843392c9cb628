import { createHash } from 'node:crypto';
import { and, eq, inArray, lte, sql } from 'drizzle-orm';
import { canonicalJson } from '../audit/chain.ts';
import { AreaCatalog } from '../areas/catalog.ts';
import { commonJurisdiction } from '../access/jurisdiction.ts';
import { actorOf } from '../access/principal.ts';
import type { Publisher } from '../access/senders.ts';
import { recordAudit, recordAudits, type AuditEntry } from '../audit/service.ts';
import { withTransaction, type Ctx, type TxCtx } from '../context.ts';
import type { Tx } from '../db/client.ts';
import { alertBodies, alerts } from '../db/schema/index.ts';
import { ForbiddenError } from '../errors.ts';
import { faultSummary } from '../http/problem.ts';
import { enqueue, enqueueAll } from '../outbox/enqueue.ts';
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

/** A body's bytes, stored with the first message that is stored (so a body refused whole leaves nothing); `id` once written. */
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
  contentHash: string;
}

/**
 * Parses a body of one or more messages and stores them, so that one bad message in a feed never blocks
 * the good ones. A body refused as a whole (DOCTYPE, malformed XML or JSON) stores nothing and throws a
 * ValidationError naming the line or field. Each message is checked against its publisher (sender,
 * jurisdiction) before anything is written, and against the stored alerts it would change under its lock;
 * a refused message is a rejected item naming why.
 *
 * The messages of a body are stored in one transaction (`storeTogether`): a feed of 500 items is a dozen
 * statements, not a dozen per item. If that transaction fails (a message the database refuses, a deadlock
 * with another writer), nothing of it is kept and each message is stored again in a transaction of its
 * own, so the failure stays with the message that caused it.
 */
export async function ingestBody(ctx: Ctx, { body, contentType, publisher }: IngestInput): Promise<IngestReport> {
  if (!publisher && ctx.actor.kind !== 'system') throw new ForbiddenError(`${actorOf(ctx.actor)} may publish alerts only as the senders it is bound to.`);
  // AlertParseError is a ValidationError: the error mapper answers 400 with its message.
  // `now` holds `sent` to at most a day after receipt (server/alerts/parse/bounds.ts).
  const outcome = parseAlerts(body, contentType, { now: ctx.now });
  // Each message is checked before anything is written, so a refused message leaves nothing behind.
  const messages = outcome.messages.map(plausible);
  if (messages.every(isRejected)) return { format: outcome.format, items: messages.map(rejected) };

  const catalog = await AreaCatalog.current(ctx.db);
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
    checked.push({ alert, warnings, codes, unresolved, contentHash: contentHashOf(alert) });
  }

  const stored: BodyToStore = { bytes: body, contentType };
  const accepted = checked.filter((e): e is Accepted => 'alert' in e);
  let together: Map<Accepted, IngestItem> | undefined;
  if (accepted.length) {
    try {
      together = await storeTogether(ctx, catalog, stored, accepted, publisher);
    } catch {
      // Nothing of the body was kept: each message is stored below in a transaction of its own.
    }
  }
  const items: IngestItem[] = [];
  for (const entry of checked) {
    if (!('alert' in entry)) {
      items.push(entry);
      continue;
    }
    const done = together?.get(entry);
    if (done) {
      items.push(done);
      continue;
    }
    // A body may hold hundreds of messages: other requests (health checks included) run between them.
    if (items.length) await new Promise<void>((resolve) => setImmediate(resolve));
    try {
      items.push(await storeAlone(ctx, catalog, stored, entry, publisher));
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
  // The bytes go as base64 text and are decoded by the database: the same bytes stored, but PGlite takes
  // a 600 KB bytea parameter in ~280 ms and the same as base64 text in ~30 ms.
  const bytes = sql`decode(${Buffer.from(body.bytes.buffer, body.bytes.byteOffset, body.bytes.byteLength).toString('base64')}, 'base64')`;
  const [inserted] = await t.tx
    .insert(alertBodies)
    .values({ sha256, contentType: body.contentType ?? null, bytes, receivedAt: t.now, receivedVia: actorOf(t.actor) })
    .onConflictDoNothing({ target: alertBodies.sha256 })
    .returning({ id: alertBodies.id });
  if (inserted) return inserted.id;
  const [existing] = await t.tx.select({ id: alertBodies.id }).from(alertBodies).where(eq(alertBodies.sha256, sha256));
  return existing!.id;
}

function contentHashOf(alert: NormalizedAlert): string {
  return createHash('sha256').update(canonicalJson(alert)).digest('hex');
}

/**
 * Rows per insert, and messages per read, of a body stored together: statements stay a bounded size
 * (PGlite aborted on the insert of a 500-message feed's alerts, 17,500 parameters, in one statement).
 */
export const ROWS_PER_INSERT = 100;

export function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/**
 * What a message needs of the stored alerts it acts on: not their geometry and texts, which can be
 * megabytes (a flood footprint) and would be read and parsed for every Update.
 */
const RELATED_COLUMNS = {
  id: alerts.id,
  chainId: alerts.chainId,
  sender: alerts.sender,
  identifier: alerts.identifier,
  contentHash: alerts.contentHash,
  state: alerts.state,
  msgType: alerts.msgType,
  sent: alerts.sent,
  version: alerts.version,
  references: alerts.references,
  areaCodes: alerts.areaCodes,
};
type AlertRow = Pick<typeof alerts.$inferSelect, keyof typeof RELATED_COLUMNS>;
type AlertValues = typeof alerts.$inferInsert;

/** The stored alerts a message acts on, read under its lock. */
interface Related {
  /** The alert of the same sender and identifier, which it replaces. */
  existing: AlertRow | undefined;
  /** The alerts it references: it supersedes, cancels or ends them, and joins their chain. */
  referenced: AlertRow[];
  /** Alerts of its own sender that reference it (an Update that arrived before its original). */
  laterRefs: AlertRow[];
}

/** What storing one message writes besides its own row, for the caller to append: its outbox changes and its audit entry. */
interface Stored {
  item: IngestItem;
  changes: Payload<'alert.changed'>[];
  audit?: AuditEntry;
}

const keyOf = (sender: string, identifier: string) => `${sender}\n${identifier}`;
const lockKey = (alert: NormalizedAlert) => `alert:${alert.sender}:${alert.identifier}`;

/** The rows a message acts on: its own, those it references, and its own sender's that reference it. */
function relatedQuery(tx: Tx, messages: readonly NormalizedAlert[]) {
  const keys = new Map<string, { sender: string; identifier: string }>();
  for (const m of messages) for (const k of [m, ...m.references]) keys.set(keyOf(k.sender, k.identifier), k);
  const pairs = sql.join([...keys.values()].map((k) => sql`(${k.sender}, ${k.identifier})`), sql`, `);
  const own = sql.join(messages.map((m) => sql`(${m.sender}, ${m.identifier})`), sql`, `);
  const senders = sql.join([...new Set(messages.map((m) => m.sender))].map((s) => sql`${s}`), sql`, `);
  return tx
    .select(RELATED_COLUMNS)
    .from(alerts)
    .where(
      sql`(${alerts.sender}, ${alerts.identifier}) in (${pairs})
          or (${alerts.sender} in (${senders}) and exists (select 1 from jsonb_array_elements(${alerts.references}) r
                     where r->>'sender' = ${alerts.sender} and (r->>'sender', r->>'identifier') in (${own})))`,
    );
}

/** What of `rows` one message acts on (as `relatedQuery` for that message alone would return them). */
function relatedOf(alert: NormalizedAlert, rows: readonly AlertRow[]): Related {
  const refs = new Set(alert.references.map((r) => keyOf(r.sender, r.identifier)));
  const refersToIt = (row: AlertRow) =>
    row.sender === alert.sender && (row.references as { sender: string; identifier: string }[]).some((r) => r.sender === alert.sender && r.identifier === alert.identifier);
  return {
    existing: rows.find((r) => r.sender === alert.sender && r.identifier === alert.identifier),
    referenced: rows.filter((r) => refs.has(keyOf(r.sender, r.identifier))),
    laterRefs: rows.filter(refersToIt),
  };
}

/**
 * Decides and writes one message in `t`, given the stored alerts it acts on: its row, and the state and
 * chain of the alerts it changes. The outbox changes and the audit entry are returned, not written, so a
 * body's messages append them together. A message that may not change what is stored throws
 * MessageRefused before it writes anything.
 */
async function storeOne(
  t: TxCtx,
  catalog: AreaCatalog,
  body: BodyToStore,
  message: Accepted,
  publisher: Publisher | undefined,
  related: Related,
  insert: (values: AlertValues) => Promise<void>,
): Promise<Stored & { wroteOthers: boolean }> {
  const { alert, warnings, codes, unresolved, contentHash } = message;
  const { tx, now } = t;
  const { existing, referenced, laterRefs } = related;
  const item = (fields: Pick<IngestItem, 'result' | 'id' | 'state'>): IngestItem => ({
    ...fields,
    sender: alert.sender,
    identifier: alert.identifier,
    warnings,
    ...(unresolved.length ? { unresolved } : {}),
  });
  if (existing && existing.contentHash === contentHash) {
    return { item: item({ result: 'unchanged', id: existing.id, state: existing.state }), changes: [], wroteOthers: false };
  }
  const changes: Payload<'alert.changed'>[] = [];
  let { state, reason } = initialState(alert, now);
  let stateChangedBy: string | null = null;
  // Read under the lock, so the check holds for what is written: another sender's alert is never changed,
  // nor one outside the publisher's jurisdiction (a Sindh feed re-sending PMD's Punjab identifier).
  const refusal = refusalOfStored(alert, [...(existing ? [existing] : []), ...referenced], publisher, actorOf(t.actor));
  if (refusal) throw new MessageRefused(refusal);
  // A later message may already be here (an Update can arrive before its original): then this one is already
  // superseded. Only one of the same sender: another sender's reference never acts (CAP 1.2 §3.2.1).
  const later = [...laterRefs].sort((a, b) => b.sent.getTime() - a.sent.getTime())[0];
  if (later && state === 'active') {
    const effect = effectOnReferenced(later.state as never, later.msgType as never);
    if (effect) {
      state = effect.state;
      reason = effect.reason;
      stateChangedBy = later.id;
    }
  }
  const chainId = existing?.chainId ?? referenced[0]?.chainId ?? later?.chainId ?? crypto.randomUUID();
  body.id ??= await storeBody(t, body);
  const bodyId = body.id;
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
  let wroteOthers = false;
  if (existing) {
    await tx
      .update(alerts)
      .set({ ...values, version: existing.version + 1 })
      .where(eq(alerts.id, existing.id));
    id = existing.id;
    changes.push({ alertId: id, chainId, change: 'updated' });
  } else {
    id = crypto.randomUUID();
    await insert({ id, ...values });
    changes.push({ alertId: id, chainId, change: 'created' });
  }
  if (later && stateChangedBy) {
    await tx.update(alerts).set({ chainId }).where(eq(alerts.chainId, later.chainId));
    wroteOthers = true;
  }

  const effect = effectOnReferenced(state, alert.msgType);
  const activeReferenced = referenced.filter((r) => r.state === 'active');
  if (effect && activeReferenced.length) {
    await tx
      .update(alerts)
      .set({ state: effect.state, stateReason: effect.reason, stateChangedBy: id, updatedAt: now })
      .where(inArray(alerts.id, activeReferenced.map((r) => r.id)));
    for (const r of activeReferenced) changes.push({ alertId: r.id, chainId, change: effect.state as 'superseded' | 'cancelled' | 'ended' });
    wroteOthers = true;
  }
  // Referenced messages from other chains join this one.
  const otherChains = [...new Set(referenced.map((r) => r.chainId).filter((c) => c !== chainId))];
  if (otherChains.length) {
    await tx.update(alerts).set({ chainId }).where(inArray(alerts.chainId, otherChains));
    wroteOthers = true;
  }
  const result = existing ? ('updated' as const) : ('created' as const);
  return {
    item: item({ result, id, state }),
    changes,
    wroteOthers,
    // Who pushed each stored message: the actor of the entry is the pusher, and the summary says it again
    // beside what was pushed, so an entry read alone answers "who made this alert".
    audit: {
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
        pushedBy: actorOf(t.actor),
      },
    },
  };
}

/**
 * Stores every accepted message of a body in one transaction, in the body's order, with the same
 * decisions as one transaction each: the messages' locks are taken together (in one order, so two bodies
 * never wait on each other in a cycle), the stored alerts they act on are read in one query, new rows are
 * inserted together, and the audit entries and outbox changes appended together at the end. A message
 * that acts on what an earlier message of the body wrote (the same identifier, a reference between them,
 * a chain one of them moved) reads its rows again after the earlier writes. Throws if anything fails, and
 * then nothing of the body is kept; a refused message is its rejected item, and writes nothing.
 */
async function storeTogether(ctx: Ctx, catalog: AreaCatalog, body: BodyToStore, accepted: Accepted[], publisher: Publisher | undefined): Promise<Map<Accepted, IngestItem>> {
  const run = async (t: TxCtx) => {
    const { tx } = t;
    const out = new Map<Accepted, IngestItem>();
    const keys = [...new Set(accepted.map((m) => lockKey(m.alert)))];
    // One writer per (sender, identifier) at a time; concurrent pushes of the same message queue here. The
    // read is sent with the lock, not after it: the server runs them in order, so it reads under the lock,
    // and the body costs one round trip less (on a busy machine each is milliseconds).
    const [, prefetched] = await Promise.all([
      tx.execute(
        sql`select pg_advisory_xact_lock(h) from (select distinct hashtext(k) as h from unnest(array[${sql.join(
          keys.map((k) => sql`${k}`),
          sql`, `,
        )}]::text[]) as k order by h) as ordered`,
      ),
      Promise.all(chunks(accepted.map((m) => m.alert), ROWS_PER_INSERT).map((part) => relatedQuery(tx, part))).then((parts) => [...new Map(parts.flat().map((r) => [r.id, r])).values()]),
    ]);
    const pending: AlertValues[] = [];
    const flush = async () => {
      for (const rows of chunks(pending.splice(0), ROWS_PER_INSERT)) await tx.insert(alerts).values(rows);
    };
    // What the body has written so far, to know when a message must read its rows again.
    const written = new Set<string>();
    let movedOthers = false;
    const changes: Payload<'alert.changed'>[] = [];
    const entries: AuditEntry[] = [];
    for (const message of accepted) {
      const { alert } = message;
      const touches = [keyOf(alert.sender, alert.identifier), ...alert.references.map((r) => keyOf(r.sender, r.identifier))].some((k) => written.has(k));
      const referencedByEarlier = written.has(`ref:${keyOf(alert.sender, alert.identifier)}`);
      let related: Related;
      if (movedOthers || touches || referencedByEarlier) {
        await flush();
        related = relatedOf(alert, await relatedQuery(tx, [alert]));
      } else related = relatedOf(alert, prefetched);
      try {
        const stored = await storeOne(t, catalog, body, message, publisher, related, async (v) => void pending.push(v));
        out.set(message, stored.item);
        changes.push(...stored.changes);
        if (stored.audit) entries.push(stored.audit);
        if (stored.item.result !== 'unchanged') {
          written.add(keyOf(alert.sender, alert.identifier));
          for (const r of alert.references) written.add(`ref:${keyOf(r.sender, r.identifier)}`);
        }
        movedOthers ||= stored.wroteOthers;
      } catch (err) {
        if (!(err instanceof MessageRefused)) throw err;
        out.set(message, { result: 'rejected', sender: alert.sender, identifier: alert.identifier, reason: err.message, warnings: message.warnings });
      }
    }
    // The rows, their changes for trigger evaluation (delivered by the outbox if and only if this
    // transaction commits) and their audit entries, sent together: the statements still run in this order.
    await Promise.all([flush(), enqueueAll(t, changes.map((payload) => ({ topic: 'alert.changed' as const, payload }))), recordAudits(tx, t, entries)]);
    return out;
  };
  const before = body.id;
  try {
    // Inside a caller's transaction, a savepoint: a failure here leaves the caller's work as it was.
    return ctx.tx ? await ctx.tx.transaction((tx) => run({ ...ctx, db: tx, tx })) : await withTransaction(ctx, run);
  } catch (err) {
    body.id = before;
    throw err;
  }
}

/** Stores one message in a transaction of its own: the path of a body whose messages could not be stored together. */
async function storeAlone(ctx: Ctx, catalog: AreaCatalog, body: BodyToStore, message: Accepted, publisher: Publisher | undefined): Promise<IngestItem> {
  const before = body.id;
  try {
    return await withTransaction(ctx, async (t) => {
      const { tx } = t;
      // One writer per (sender, identifier) at a time; concurrent pushes of the same message queue here.
      await tx.execute(sql`select pg_advisory_xact_lock(hashtext(${lockKey(message.alert)}))`);
      const related = relatedOf(message.alert, await relatedQuery(tx, [message.alert]));
      const stored = await storeOne(t, catalog, body, message, publisher, related, async (v) => void (await tx.insert(alerts).values(v)));
      await enqueueAll(t, stored.changes.map((payload) => ({ topic: 'alert.changed' as const, payload })));
      if (stored.audit) await recordAudit(tx, t, stored.audit);
      return stored.item;
    });
  } catch (err) {
    // The body's row was rolled back with the message: the next message stores it again.
    body.id = before;
    throw err;
  }
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
