import { createHash } from 'node:crypto';
import { channel } from 'node:diagnostics_channel';
import { and, eq, ne, sql } from 'drizzle-orm';
import type { Geometry } from 'geojson';
import { dedupe, fitBudgets, pkrText, splitByShares, type CandidateLine, type Decision, type ExistingPayment, type PaidBy, type Rule, type Stage } from '../../triggers/index.ts';
import { commonJurisdiction } from '../access/jurisdiction.ts';
import { hasRole } from '../access/principal.ts';
import { batchScope } from '../access/scope.ts';
import { recordAudit } from '../audit/service.ts';
import { withTransaction, type Ctx, type TxCtx } from '../context.ts';
import { queryRows, type Db, type Tx } from '../db/client.ts';
import { CopyWriter, rawOf, type Raw } from '../db/copy.ts';
import { activations, alerts, batches, batchLines, batchPayers, evaluations, events, reservations, ruleVersions } from '../db/schema/index.ts';
import { ConflictError, ForbiddenError, NotFoundError } from '../errors.ts';
import { caseloadInWorker } from '../rules/caseload.ts';
import { areaGeometry } from '../rules/subjects.ts';
import { budgetFigures, ensureBudgetLines, signingJurisdiction } from './budgets.ts';
import type { BatchDeps } from './deps.ts';
import { requireBatchManager } from './approvals.ts';
import { sortInSteps, Steps } from './steps.ts';
import { freeReservations, lockReservations } from './reservations.ts';


export type BatchRow = typeof batches.$inferSelect;
type ActivationRow = typeof activations.$inferSelect;

/**
 * The incident a batch belongs to: one top-up per household per incident and purpose. A declared event is
 * its own incident, unless it names alerts: then it shares the first alert's chain, so the event's batches
 * and the alert's batches net off each other. An alert's incident is its chain (an Update nets off what the
 * original paid).
 */
export async function incidentOf(db: Db | Tx, kind: string, subjectId: string): Promise<string> {
  if (kind === 'alert') {
    const [a] = await db.select({ chainId: alerts.chainId }).from(alerts).where(eq(alerts.id, subjectId));
    return `alert-chain:${a?.chainId ?? subjectId}`;
  }
  const [e] = await db.select({ alertIds: events.alertIds }).from(events).where(eq(events.id, subjectId));
  const first = e?.alertIds[0];
  if (!first) return `event:${subjectId}`;
  return incidentOf(db, 'alert', first);
}

/**
 * Where a build's time goes: `{ phase, ms, cpuMs }` as each phase ends (wall time, and this process's CPU
 * over it, all threads), for whoever listens (the batch benchmark). Nothing is sent when nobody does.
 */
export const buildPhases = channel('madad:batch-build-phase');
function phaseClock() {
  let last = performance.now();
  let cpu = process.cpuUsage();
  return (phase: string) => {
    if (!buildPhases.hasSubscribers) return;
    const at = performance.now();
    const used = process.cpuUsage(cpu);
    buildPhases.publish({ phase, ms: at - last, cpuMs: (used.user + used.system) / 1000 });
    last = at;
    cpu = process.cpuUsage();
  };
}

/** One line's shares, keyed as the budget lines are (`agency|jurisdiction`). */
const payerKey = (p: { agency: string; jurisdiction: string }) => `${p.agency}|${p.jurisdiction}`;

/** Lines per top-up statement of reservations already held, and ids per identity read. */
const CHUNK = 20_000;
const IDENTITY_CHUNK = 250_000;
const ESCAPE = /[\\\t\n\r]/;
const ESCAPES = /[\\\t\n\r]/g;
const COPY_IN: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' };
const PIECE = 1 << 22;
/** Characters JSON.stringify writes as they are. */
const PLAIN_JSON = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;

/**
 * Text written straight into buffers of a few MB, a row's string at a time (a native write per field, some
 * forty a line for the hash and the COPY, took half again as long as one string per row written at once).
 * The buffers are given back once used (`reuse`): every new one counts as external memory, and enough of it
 * sets off a full garbage collection of the whole heap, caseload included.
 */
class Pieces {
  private buf: Buffer = Buffer.allocUnsafe(PIECE);
  private at = 0;
  /** Buffers filled and not yet taken, and used ones to write into again. */
  private full: Buffer[] = [];
  private spare: Buffer[] = [];

  private room(bytes: number) {
    if (this.at + bytes <= this.buf.length) return;
    if (this.at > 0) this.full.push(this.buf.subarray(0, this.at));
    this.buf = bytes <= PIECE ? (this.spare.pop() ?? Buffer.allocUnsafe(PIECE)) : Buffer.allocUnsafe(bytes);
    this.at = 0;
  }
  /** Text as it is (numbers, codes, JSON made here). */
  raw(v: string): this {
    this.room(v.length * 3);
    this.at += this.buf.write(v, this.at);
    return this;
  }
  /** Whether a buffer is full, to be taken. */
  get ready(): boolean {
    return this.full.length > 0;
  }
  /** The buffers filled so far; with `all`, the one being written too. */
  take(all = false): Buffer[] {
    if (all && this.at > 0) {
      this.full.push(this.buf.subarray(0, this.at));
      this.buf = this.spare.pop() ?? Buffer.allocUnsafe(PIECE);
      this.at = 0;
    }
    const out = this.full;
    this.full = [];
    return out;
  }
  /** A taken buffer, used (hashed, or sent to the server): written into again. */
  reuse = (piece: Buffer): void => {
    if (piece.buffer.byteLength === PIECE && piece.byteOffset === 0) this.spare.push(Buffer.from(piece.buffer, 0, PIECE));
  };
}

/** A string (or null) as JSON.stringify writes it, without calling it for a plain one. */
const jsonText = (v: string | null): string => (v === null ? 'null' : PLAIN_JSON.test(v) ? `"${v}"` : JSON.stringify(v));
/** A COPY text field: `\\N` for null; backslash, tab, newline and carriage return escaped. */
const copyText = (v: string | null): string => (v === null ? '\\N' : ESCAPE.test(v) ? v.replace(ESCAPES, (c) => COPY_IN[c]!) : v);
/** A number as JSON.stringify writes it, and as a COPY field (not a number is null, which the column refuses). */
const jsonNumber = (n: number): string => (Number.isFinite(n) ? String(n) : 'null');
const copyNumber = (n: number): string => (Number.isFinite(n) ? String(n) : '\\N');

/** Not text: where a generator of COPY pieces lets other requests have their turn. */
const TURN = Buffer.alloc(0);

/** `copyIn` (server/db/copy.ts) for pieces that may be `TURN`: there the event loop gets a turn. */
async function copyInSteps(raw: Raw, target: string, pieces: Iterable<Buffer>, reuse: (piece: Buffer) => void, steps: Steps): Promise<void> {
  const writer = await CopyWriter.open(raw, target);
  try {
    for (const piece of pieces) {
      if (piece === TURN) await steps.pause();
      else await writer.write(piece, reuse);
    }
  } catch (error) {
    await writer.abort(error);
    throw error;
  }
  await writer.end();
}

/** Identity and payment details of the lines' households at this moment, by line position. */
interface People {
  householdId: string[];
  cnic: string[];
  headName: string[];
  channel: (string | null)[];
  account: (string | null)[];
}

/** Positions of `ids` in id order, the order the households lie in their table, so a read walks it forward. */
async function inIdOrder(ids: Float64Array, steps: Steps): Promise<Uint32Array> {
  const n = ids.length;
  const order = new Uint32Array(n);
  const packed = new Float64Array(n);
  let packable = n <= 2 ** 22;
  for (let i = 0; i < n && packable; i++) {
    const id = ids[i]!;
    if (!(id < 2 ** 31)) packable = false;
    // id and position in one exact double: sorting numbers is native, sorting with a comparator is not.
    packed[i] = id * 2 ** 22 + i;
  }
  if (packable) {
    const sorted = await sortInSteps(packed, steps);
    for (let i = 0; i < n; i++) order[i] = sorted[i]! % 2 ** 22;
    return order;
  }
  const byId = Array.from({ length: n }, (_, i) => i).sort((a, b) => ids[a]! - ids[b]!);
  order.set(byId);
  return order;
}

/**
 * Identity and payment details of households at this moment (the registry's database ids), and the dedup
 * key of each head's CNIC. Read in id order in pieces, as rows of values rather than objects, the next
 * piece asked for before this one's keys are computed, so the server reads while the keys are made. (Not
 * COPY: postgres.js 3.4 can leave the connection paused after a COPY TO, porsager/postgres#1016.)
 */
async function identities(tx: Tx, ids: Float64Array, keyOf: (cnic: string) => string, steps: Steps): Promise<People & { keys: string[] }> {
  const n = ids.length;
  const people = { householdId: new Array<string>(n), cnic: new Array<string>(n), headName: new Array<string>(n), channel: new Array<string | null>(n), account: new Array<string | null>(n), keys: new Array<string>(n) };
  const order = await inIdOrder(ids, steps);
  const raw = rawOf(tx);
  type Row = [string, string, string, string, string | null, string | null];
  const ask = (from: number): Promise<Row[]> | null => {
    if (from >= n) return null;
    const idList = `{${Array.from(order.subarray(from, from + IDENTITY_CHUNK), (p) => ids[p]).join(',')}}`;
    if (!/^\{[\d,]*\}$/.test(idList)) throw new Error('identities: household ids must be whole numbers');
    // An index scan over the sorted ids, answered in id order: each row is the next id of the piece (or a
    // later one, when a household is gone).
    const select = `select h.id::text, h.household_id, h.cnic, h.head_name, h.payment_channel, h.payment_account
      from households h where h.id = any('${idList}'::bigint[]) order by h.id`;
    if (raw.kind === 'pglite') return raw.pglite.query<Row>(select, [], { rowMode: 'array' }).then((r) => r.rows);
    const query = raw.sql.unsafe(select).values() as unknown as Promise<Row[]> & { execute(): void };
    query.execute();
    query.catch(() => undefined); // awaited below; a failure is thrown there, not left unhandled
    return query;
  };
  let found = 0;
  let pending = ask(0);
  for (let i = 0; pending; i += IDENTITY_CHUNK) {
    const rows = await pending;
    pending = raw.kind === 'postgres' ? ask(i + IDENTITY_CHUNK) : null;
    const part = order.subarray(i, i + IDENTITY_CHUNK);
    let k = 0;
    for (const [id, householdId, cnic, headName, channel, account] of rows) {
      const want = Number(id);
      while (k < part.length && ids[part[k]!] !== want) k++;
      if (k === part.length) break;
      const pos = part[k++]!;
      people.householdId[pos] = householdId;
      people.cnic[pos] = cnic;
      people.headName[pos] = headName;
      people.channel[pos] = channel;
      people.account[pos] = account;
      people.keys[pos] = keyOf(cnic);
      found++;
      // An HMAC is a few microseconds: 250,000 of them would hold the thread for most of a second.
      if (steps.due()) await steps.pause();
    }
    if (!pending) pending = ask(i + IDENTITY_CHUNK);
  }
  if (found !== n) throw new Error(`identities: ${n - found} of ${n} households are no longer in the registry; build again.`);
  return people;
}

/** What the reservations of this incident and purpose hold for these keys, by key: the ledger netting reads. */
async function heldFor(tx: Tx, incident: string, purpose: string, allKeys: () => Promise<readonly string[]>): Promise<Map<string, { programme: string; amount: number }[]>> {
  const out = new Map<string, { programme: string; amount: number }[]>();
  // A first build of an incident (the usual case) finds nothing held: no need to look up each key.
  const [any] = await queryRows<{ held: boolean }>(tx as unknown as Db, sql`select exists (select 1 from reservations where incident = ${incident} and purpose = ${purpose}) as held`);
  if (!any?.held) return out;
  const keys = await allKeys();
  for (let i = 0; i < keys.length; i += 100_000) {
    const list = `{${keys.slice(i, i + 100_000).join(',')}}`;
    if (!/^\{[A-Za-z0-9_,-]*\}$/.test(list)) throw new Error('heldFor: dedup keys must be base64url');
    const rows = await queryRows<{ dedup_key: string; held_by: { programme: string; amount: number }[] }>(
      tx as unknown as Db,
      sql`select dedup_key, held_by from reservations where incident = ${incident} and purpose = ${purpose} and dedup_key = any(${list}::text[])`,
    );
    for (const r of rows) out.set(r.dedup_key, r.held_by);
  }
  return out;
}


interface Built {
  batch: BatchRow;
  created: boolean;
}

interface Subject {
  activation: ActivationRow;
  rule: Rule;
  decision: Decision;
  geometry: Geometry | null;
  incident: string;
}

async function subjectOf(tx: Tx, activationId: string): Promise<Subject> {
  const [activation] = await tx.select().from(activations).where(eq(activations.id, activationId));
  if (!activation) throw new NotFoundError(`No activation ${activationId}.`);
  const [version] = await tx.select({ parsed: ruleVersions.parsed }).from(ruleVersions).where(eq(ruleVersions.id, activation.ruleVersionId));
  const [made] = await tx.select({ decision: evaluations.decision }).from(evaluations).where(eq(evaluations.id, activation.evaluationId));
  const rule = version!.parsed as Rule;
  const decision = made!.decision as Decision;
  let geometry: Geometry | null = null;
  if (activation.subjectKind === 'alert') {
    const [a] = await tx.select({ geometry: alerts.geometry }).from(alerts).where(eq(alerts.id, activation.subjectId));
    geometry = areaGeometry(a?.geometry);
  }
  return { activation, rule, decision, geometry, incident: await incidentOf(tx, activation.subjectKind, activation.subjectId) };
}

/**
 * Builds the batch of an activation (the outbox reaction to `activation.fired`, or a programme manager by
 * hand), or returns the live one it already has. A readiness activation gets a prepared list (the caseload
 * without money); an activation stage a draft with money. In the caller's transaction: a build that fails
 * half-way leaves no batch, no lines and no reservations.
 */
export async function buildBatch(ctx: Ctx, input: { activationId: string; skipStopped?: boolean }, deps: Pick<BatchDeps, 'registry' | 'dedupKey'>): Promise<Built | null> {
  return withTransaction(ctx, async (t) => {
    await t.tx.execute(sql`select pg_advisory_xact_lock(hashtext(${`batches:activation:${input.activationId}`}))`);
    const subject = await subjectOf(t.tx, input.activationId);
    const [live] = await t.tx.select().from(batches).where(and(eq(batches.activationId, input.activationId), ne(batches.status, 'cancelled')));
    if (live) return { batch: live, created: false };
    if (subject.activation.status !== 'active' && input.skipStopped) return null;
    if (subject.activation.status !== 'active')
      throw new ConflictError(`Activation ${input.activationId} is ${subject.activation.status} (${subject.activation.stoppedReason ?? 'stopped'}): it pays nothing.`);
    const batch = await writeBatch(t, subject, deps, null);
    // By hand, only a programme manager of the batch's payers builds it (the system builds every one).
    if (t.actor.kind !== 'system') await requireBatchManager(t, batch, 'build');
    return { batch, created: true };
  });
}

/**
 * Builds the draft again from the registry as it is now (a refreshed import): its lines and reservations
 * are replaced, the build count goes up, and any earlier signatures stay with the round they were given in.
 */
export async function rebuildBatch(ctx: Ctx, input: { batchId: string }, deps: Pick<BatchDeps, 'registry' | 'dedupKey'>): Promise<BatchRow> {
  if (!hasRole(ctx.actor, 'program_manager', 'admin')) throw new ForbiddenError('Only a programme manager may rebuild a batch.');
  return withTransaction(ctx, async (t) => {
    const row = await lockedBatch(t, input.batchId);
    await requireBatchManager(t, row, 'rebuild');
    if (row.status !== 'draft' && row.status !== 'prepared')
      throw new ConflictError(`Batch ${row.id} is ${row.status}: only a draft (or a prepared list) is rebuilt. Reject it back to draft first.`);
    return rebuildLocked(t, row, deps, { dependants: true });
  });
}

/**
 * The reaction to `batch.netting_changed`: another batch gave back households this one had netted against
 * it. A draft is built again at once (as the system, without passing the news on: one round); a batch
 * already submitted or approved keeps the lines its signers saw, and the trail says which batch freed what,
 * so its managers may reject and rebuild it, or pay the difference later. A batch released, cancelled or
 * gone since does nothing.
 */
export async function renetBatch(ctx: Ctx, input: { batchId: string; freedBy: string }, deps: Pick<BatchDeps, 'registry' | 'dedupKey'>): Promise<BatchRow | null> {
  return withTransaction(ctx, async (t) => {
    const [row] = await t.tx.select().from(batches).where(eq(batches.id, input.batchId)).for('update');
    if (!row) return null;
    if (row.status === 'draft') return rebuildLocked(t, row, deps, { dependants: false });
    if (row.status === 'submitted' || row.status === 'approved') {
      await recordAudit(t.tx, t, {
        action: 'batch.netting_stale',
        subject: `batch:${row.id}`,
        jurisdiction: row.jurisdiction,
        summary: { batchId: row.id, freedBy: input.freedBy, status: row.status, note: 'netted households against a batch that gave them back: reject and rebuild to pay them in full' },
      });
    }
    return row;
  });
}

async function lockedBatch(t: TxCtx, id: string): Promise<BatchRow> {
  const [row] = await t.tx.select().from(batches).where(and(eq(batches.id, id), batchScope.where(t.actor))).for('update');
  if (!row) throw new NotFoundError(`No batch ${id}.`);
  return row;
}

async function rebuildLocked(t: TxCtx, row: BatchRow, deps: Pick<BatchDeps, 'registry' | 'dedupKey'>, opts: { dependants: boolean }): Promise<BatchRow> {
  await t.tx.execute(sql`select pg_advisory_xact_lock(hashtext(${`batches:activation:${row.activationId}`}))`);
  const subject = await subjectOf(t.tx, row.activationId);
  await freeReservations(t, row, undefined, opts);
  await t.tx.delete(batchLines).where(eq(batchLines.batchId, row.id));
  await t.tx.delete(batchPayers).where(eq(batchPayers.batchId, row.id));
  return writeBatch(t, subject, deps, row);
}

/** A line's shares of its amount, by payer key; `none` for a line that pays nothing. */
type Shares = readonly { payer: string; amount: number }[];
const none: Shares = Object.freeze([]);

/**
 * Computes and stores the lines, payers and reservations of a batch (new, or `previous` rebuilt in place).
 * A caseload may be millions of lines: each line's fields live in arrays by its position in the caseload,
 * what many lines share (payers, shares, reasons) is made once, and lines and reservations go in by COPY.
 */
async function writeBatch(t: TxCtx, s: Subject, deps: Pick<BatchDeps, 'registry' | 'dedupKey'>, previous: BatchRow | null): Promise<BatchRow> {
  const { tx, now } = t;
  const { activation, rule, decision, geometry, incident } = s;
  const stage = activation.stage as Stage;
  const prepared = stage === 'readiness';
  const key = deps.dedupKey();

  // The caseload as the dry run computes it, but without the rule's ceiling: the budget lines' headroom
  // decides below, after netting, so that what another programme already paid is not counted twice.
  const unbounded: Rule = { ...rule, funding: { ...rule.funding, ceiling_pkr: Number.MAX_SAFE_INTEGER } };
  // What is left on the main thread walks millions of lines several times: each loop gives other requests
  // their turn every few milliseconds (steps.ts). PGlite answers on this thread too: its reads and COPYs
  // of the build hold it for as long as they take.
  const steps = new Steps();
  const phase = phaseClock();
  // Weighed in a spatial worker: at millions of households the main thread would stop answering for
  // seconds. The lines come back as typed arrays by line; a line's household facts are read from the
  // index's columns at its row (the worker read the same shared memory).
  const { index, caseload } = await caseloadInWorker(
    deps.registry,
    { rule: unbounded, decision: { ...decision, stage }, geometry: deps.registry.storedArea(geometry), now },
    { lines: true, db: tx as unknown as Db },
  );
  const lines = caseload.lines;
  const count = lines.row.length;
  const columns = index.columns();
  const rowAt = lines.row;
  const codeOf = (kind: 'province' | 'district' | 'tehsil', i: number) => columns.codes[columns[kind][rowAt[i]!]!]!;
  const payersOf = (i: number) => caseload.payerLists[lines.payers[i]!]!;
  const ids = new Float64Array(count);
  for (let i = 0; i < count; i++) ids[i] = index.ids[rowAt[i]!]!;
  phase('caseload (spatial worker)');
  const people = await identities(tx, ids, (cnic) => key.of(cnic), steps);
  phase('identity read and dedup keys');

  // Per line, by position in the caseload: its dedup key, amount after netting, and what netting said.
  const keys = people.keys;
  const amount = new Float64Array(count);
  const dropped = new Uint8Array(count);
  const netText = new Map<number, string>();
  const paidBy = new Map<number, readonly PaidBy[]>();
  if (!prepared) amount.set(lines.amount);
  // The lines in key order: a key the batch lists twice (one family in two registries) sits side by side,
  // and the reservations go in in their primary key's order.
  const byKey = await inKeyOrder(keys, steps);
  const repeated = new Set<string>();
  for (let j = 1; j < count; j++) {
    if (keys[byKey[j]!] === keys[byKey[j - 1]!]) repeated.add(keys[byKey[j]!]!);
    if (steps.due()) await steps.pause();
  }

  // Builds of one incident and purpose take turns: each sees what the one before reserved. The reservations'
  // primary key is the guard behind the lock (a build that somehow missed a row cannot insert its own).
  let netted = { lines: 0, pkr: 0 };
  let held = new Map<string, { programme: string; amount: number }[]>();
  if (!prepared) {
    await lockReservations(tx, incident, rule.purpose);
    held = await heldFor(tx, incident, rule.purpose, async () => {
      const distinct = new Set<string>();
      for (const k of keys) {
        distinct.add(k);
        if (steps.due()) await steps.pause();
      }
      return [...distinct];
    });
    const existing: ExistingPayment[] = rule.net_off.same_event_and_purpose
      ? [...held].flatMap(([k, hs]) => hs.map((h) => ({ householdKey: k, programme: h.programme, amount: h.amount })))
      : [];
    const ledgered = new Set(existing.map((e) => e.householdKey));
    // Netting changes only a line whose household someone else holds, or that this batch lists twice (or
    // that asks for nothing): the rest keep their amount and pay first. Only those lines go through dedupe,
    // in their order; each result carries its line's position back.
    const subject: (CandidateLine & { at: number })[] = [];
    for (let i = 0; i < count; i++) {
      if (amount[i] === 0 || repeated.has(keys[i]!) || ledgered.has(keys[i]!)) subject.push({ householdKey: keys[i]!, programme: rule.programme, amount: amount[i]!, at: i });
      if (steps.due()) await steps.pause();
    }
    const result = dedupe(subject, existing);
    for (const k of result.kept) {
      const i = (k as typeof k & { at: number }).at;
      amount[i] = k.amount;
      if (k.paidBy.length > 0) {
        paidBy.set(i, k.paidBy);
        netText.set(i, k.text);
        netted = { lines: netted.lines + 1, pkr: netted.pkr + (k.requested - k.amount) };
      }
    }
    for (const d of result.dropped) {
      const i = (d as typeof d & { at: number }).at;
      amount[i] = 0;
      dropped[i] = 1;
      paidBy.set(i, d.paidBy);
      netText.set(i, d.text);
    }
  }

  // Shares of the netted amount, then the budget lines' headroom, poorest first. Lines share their payers'
  // list (one per province and amount), so the split is made once per list and amount.
  const concrete = new Map<string, { agency: string; jurisdiction: string; share_bp: number }>();
  const payerUsed = new Uint8Array(caseload.payerLists.length);
  for (let i = 0; i < count; i++) payerUsed[lines.payers[i]!] = 1;
  caseload.payerLists.forEach((list, k) => {
    if (payerUsed[k]) for (const p of list) concrete.set(payerKey(p), p);
  });
  phase('key order, ledger, netting');
  const budgets = prepared ? new Map() : await ensureBudgetLines(tx, t, rule, [...concrete.values()]);
  const figures = await budgetFigures(tx, [...budgets.values()].map((b) => b.id));
  const headroom = new Map([...budgets].map(([k, b]) => [k, figures.get(b.id)!.headroomPkr]));
  const splits = new Map<number, Map<number, Shares>>();
  const sharesAt = (i: number): Shares => {
    const a = amount[i]!;
    if (a === 0) return none;
    const list = lines.payers[i]!;
    let byAmount = splits.get(list);
    if (!byAmount) splits.set(list, (byAmount = new Map()));
    let shares = byAmount.get(a);
    if (!shares) byAmount.set(a, (shares = Object.freeze(splitByShares(a, payersOf(i)).map((p) => ({ payer: payerKey(p), amount: p.amount })))));
    return shares;
  };
  // What every live line asks of each payer: when it is within every headroom, the fit (poorest first,
  // until a payer's headroom is reached) cuts nothing, and neither its list of live lines nor its pass over
  // them is made.
  const asked = new Map<string, number>();
  for (let i = 0; i < count; i++) {
    if (!dropped[i]) for (const x of sharesAt(i)) asked.set(x.payer, (asked.get(x.payer) ?? 0) + x.amount);
    if (steps.due()) await steps.pause();
  }
  const fits = [...asked].every(([payer, pkr]) => !headroom.has(payer) || pkr <= headroom.get(payer)!);
  let cut: readonly { at: number }[] = [];
  if (!fits) {
    const live: { at: number; shares: Shares }[] = [];
    for (let i = 0; i < count; i++) {
      if (!dropped[i]) live.push({ at: i, shares: sharesAt(i) });
      if (steps.due()) await steps.pause();
    }
    cut = fitBudgets(live, headroom).cut;
  }
  const fit = { cut };

  const isCut = new Uint8Array(count);
  let cutPkr = 0;
  for (const x of fit.cut) {
    isCut[x.at] = 1;
    cutPkr += amount[x.at]!;
  }

  // The batch's payers in the rule's order; each line names them by position.
  const payerList = rule.funding.payers.flatMap((p) => [...concrete.values()].filter((q) => q.agency === p.agency && (q.jurisdiction === p.jurisdiction || p.jurisdiction === 'household-province')));
  const payerIdx = new Map(payerList.map((p, i) => [payerKey(p), i]));
  // The batch's reasons in the order its lines first give them; each line names its own by position.
  const reasonsList: (readonly string[])[] = [];
  const reasonsIdx = new Int32Array(caseload.reasonsLists.length).fill(-1);
  const reasonsAt = (i: number) => {
    const k = lines.reasons[i]!;
    let r = reasonsIdx[k]!;
    if (r < 0) r = reasonsIdx[k] = reasonsList.push(caseload.reasonsLists[k]!) - 1;
    return r;
  };

  // The lines in order, cut ones left out: a line's number is its place here.
  const order: number[] = [];
  const lineNo = new Int32Array(count);
  for (let i = 0; i < count; i++) if (!isCut[i]) lineNo[i] = order.push(i);
  let totalPkr = 0;
  const districtSet = new Set<string>();
  let droppedLines = 0;
  let droppedPkr = 0;
  for (const i of order) {
    if (dropped[i]) {
      droppedLines++;
      droppedPkr += lines.amount[i]!;
    } else {
      totalPkr += amount[i]!;
      districtSet.add(codeOf('district', i) || codeOf('province', i) || 'PK');
    }
    if (steps.due()) await steps.pause();
  }
  const districts = [...districtSet].sort();
  const heldByOthers = new Map<string, { households: number; pkr: number }>();
  for (const i of order) {
    for (const p of paidBy.get(i) ?? []) {
      if (p.inThisBatch) continue;
      const h = heldByOthers.get(p.programme) ?? { households: 0, pkr: 0 };
      h.households++;
      h.pkr += p.amount;
      heldByOthers.set(p.programme, h);
    }
    if (steps.due()) await steps.pause();
  }
  const ceilingText =
    fit.cut.length === 0
      ? 'nothing cut: every line fits its payers\u2019 headroom'
      : `${fit.cut.length} lines (${pkrText(cutPkr)}) cut: the headroom of ${[...headroom].map(([k, h]) => `${k.replace('|', ' ')} ${pkrText(h)}`).join(', ')} was reached`;
  const figuresDoc = {
    stage,
    householdsInArea: caseload.summary.householdsInArea,
    eligible: caseload.summary.eligible,
    percent: caseload.summary.percent,
    cutoffs: caseload.summary.cutoffs,
    excluded: caseload.summary.excluded,
    note: caseload.summary.note,
    requestedPkr: caseload.summary.requestedPkr,
    netted: netted,
    dropped: { lines: droppedLines, pkr: droppedPkr },
    heldByOthers: Object.fromEntries(heldByOthers),
    ceiling: { cutLines: fit.cut.length, cutPkr, headroomBefore: Object.fromEntries(headroom), text: ceilingText },
    asOf: caseload.asOf,
  };

  // What approvers sign: the sha256 of every line's canonical text, each followed by "\n": the JSON of
  // [line no, source, household id, dedup key, province, district, tehsil, pmt, requested, amount, payer
  // keys, share amounts, channel, account, "live" | "dropped", net text]. The same pass writes the lines'
  // COPY text. What lines share (payers, shares) is made once per payers' list and shares.
  const hash = createHash('sha256');
  const fragments = new Map<number, Map<Shares, { json: string; copy: string }>>();
  const fragmentOf = (i: number) => {
    const list = lines.payers[i]!;
    const shares = sharesAt(i);
    let byShares = fragments.get(list);
    if (!byShares) fragments.set(list, (byShares = new Map()));
    let f = byShares.get(shares);
    if (!f) {
      const copy = `{${shares.map((x) => payerIdx.get(x.payer)).join(',')}}\t{${shares.map((x) => x.amount).join(',')}}`;
      byShares.set(shares, (f = { json: `${JSON.stringify(payersOf(i).map(payerKey))},${JSON.stringify(shares.map((x) => x.amount))}`, copy }));
    }
    return f;
  };
  // A line's text is made as one string and written at once: a write per field (some forty a line, hash
  // and COPY) cost more than the rest of the line's work. Fields drawn from a few values (sources, area
  // codes) are made once per value.
  const sourceJson = columns.sources.map(jsonText);
  const sourceCopy = columns.sources.map(copyText);
  const codeJson = columns.codes.map(jsonText);
  const codeCopy = columns.codes.map(copyText);
  const copy = new Pieces();
  const text = new Pieces();
  const hashed = (piece: Buffer) => {
    hash.update(piece);
    text.reuse(piece);
  };
  function* linePieces(batchId: string) {
    for (let j = 0; j < order.length; j++) {
      const i = order[j]!;
      const n = j + 1;
      const state = dropped[i] ? 'dropped' : 'live';
      const net = netText.get(i) ?? null;
      const f = fragmentOf(i);
      const householdId = people.householdId[i]!;
      const channel = people.channel[i]!;
      const account = people.account[i]!;
      const r = rowAt[i]!;
      const requested = lines.amount[i]!;
      const p = columns.pmt[r]!;
      const pmt = Number.isFinite(p) ? String(p) : null;
      const source = columns.source[r]!;
      const province = columns.province[r]!;
      const district = columns.district[r]!;
      const tehsil = columns.tehsil[r]!;
      // [n, source, household id, key, province, district, tehsil, pmt, requested, amount, payers, shares, channel, account, state, net]
      text.raw(
        `[${n},${sourceJson[source]},${jsonText(householdId)},${jsonText(keys[i]!)},${codeJson[province]},${codeJson[district]},${codeJson[tehsil]},${pmt ?? 'null'},${jsonNumber(requested)},${jsonNumber(amount[i]!)},${f.json},${jsonText(channel)},${jsonText(account)},"${state}",${jsonText(net)}]\n`,
      );
      copy.raw(
        `${batchId}\t${n}\t${sourceCopy[source]}\t${copyText(householdId)}\t${copyText(keys[i]!)}\t${copyText(people.cnic[i]!)}\t${copyText(people.headName[i]!)}\t${codeCopy[province]}\t${codeCopy[district]}\t${codeCopy[tehsil]}\t${pmt ?? '\\N'}\t${copyNumber(requested)}\t${copyNumber(amount[i]!)}\t${f.copy}\t${copyText(channel)}\t${copyText(account)}\t${reasonsAt(i)}\t${copyText(net)}\t${state}\n`,
      );
      if (text.ready) text.take().forEach(hashed);
      if (copy.ready) yield* copy.take();
      if (steps.due()) yield TURN;
    }
    text.take(true).forEach(hashed);
    yield* copy.take(true);
  }
  // The hash and the reasons list come out of the pass that writes the lines; the batch row needs both, so
  // the lines go in first under a batch row made with placeholders, and the row is completed after.
  const values = {
    activationId: activation.id,
    ruleId: rule.id,
    ruleVersionId: activation.ruleVersionId,
    ruleVersion: rule.version,
    programme: rule.programme,
    purpose: rule.purpose,
    incident,
    subjectKind: activation.subjectKind,
    subjectId: activation.subjectId,
    stage,
    kind: prepared ? 'prepared' : 'payment',
    status: prepared ? 'prepared' : 'draft',
    jurisdiction: commonJurisdiction(decision.areaCodes),
    areaCodes: [...new Set([...decision.areaCodes, ...districts])].sort(),
    payers: payerList.map((p, i) => ({ idx: i, agency: p.agency, jurisdiction: p.jurisdiction, budgetLineId: budgets.get(payerKey(p))?.id ?? null })),
    reasons: reasonsList,
    figures: figuresDoc,
    registryVersion: index.version,
    linesSha256: '',
    lineCount: order.length,
    totalPkr,
    builtBy: `${t.actor.kind}:${t.actor.name}`,
    builtAt: now,
    updatedAt: now,
  };
  phase('budgets, shares, figures');
  const [draft] = previous
    ? await tx.update(batches).set({ ...values, build: previous.build + 1 }).where(eq(batches.id, previous.id)).returning({ id: batches.id })
    : await tx.insert(batches).values({ ...values, build: 1 }).returning({ id: batches.id });
  const batchId = draft!.id;
  const raw = rawOf(tx);
  await copyInSteps(
    raw,
    'batch_lines (batch_id, line_no, source, household_id, dedup_key, cnic, head_name, province, district, tehsil, pmt, requested_pkr, amount_pkr, payer_idx, shares_pkr, payment_channel, payment_account, reasons_idx, net_text, state)',
    linePieces(batchId),
    copy.reuse,
    steps,
  );
  phase('lines: COPY (with their hash)');
  const [batch] = await tx.update(batches).set({ reasons: reasonsList, linesSha256: hash.digest('hex') }).where(eq(batches.id, batchId)).returning();
  if (payerList.length > 0)
    await tx.insert(batchPayers).values(
      payerList.map((p, i) => ({ batchId: batch!.id, idx: i, agency: p.agency, jurisdiction: p.jurisdiction, budgetLineId: budgets.get(payerKey(p))?.id ?? null })),
    );

  if (!prepared) await reserve(tx, raw, batch!, { keys, amount, dropped, lineNo, byKey, repeated }, held, steps);
  phase('reservations: COPY');

  await recordAudit(tx, t, {
    action: previous ? 'batch.rebuilt' : 'batch.built',
    subject: `batch:${batch!.id}`,
    jurisdiction: batch!.jurisdiction,
    summary: {
      batchId: batch!.id,
      activationId: activation.id,
      ruleId: rule.id,
      version: rule.version,
      incident,
      kind: batch!.kind,
      build: batch!.build,
      lines: batch!.lineCount,
      totalPkr,
      linesSha256: batch!.linesSha256,
      registryVersion: index.version,
      netted,
      dropped: figuresDoc.dropped,
      ceiling: figuresDoc.ceiling.text,
    },
  });
  phase('audit entry');
  return batch!;
}

/**
 * Writes the reservations of a batch's live lines. A key nobody held when the lock was taken gets its row by
 * COPY, in key order (the primary key's order, so the index grows at one end; and the primary key refuses
 * a key someone holds after all). A key already held (by another programme) gets this batch's lines added.
 */
/** The base64url alphabet's places in code-unit order ('-' < digits < upper case < '_' < lower case). */
const RANK = new Int8Array(128).fill(-1);
[...'-0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz'].forEach((c, r) => (RANK[c.charCodeAt(0)] = r));

/**
 * Positions of `keys` in the order `sort()` puts the keys (code units). A base64url key's first five
 * characters make a 30-bit number, packed with the position into one exact double, so millions are sorted
 * natively; keys sharing those five characters are put in order after. Other keys are sorted as strings.
 */
async function inKeyOrder(keys: readonly string[], steps: Steps): Promise<Uint32Array> {
  const n = keys.length;
  const out = new Uint32Array(n);
  const packed = new Float64Array(n);
  let packable = n <= 2 ** 22;
  for (let i = 0; i < n && packable; i++) {
    const k = keys[i]!;
    let v = 0;
    for (let c = 0; c < 5; c++) {
      const r = k.length > 5 ? (RANK[k.charCodeAt(c)] ?? -1) : -1;
      if (r < 0) packable = false;
      v = v * 64 + r;
    }
    packed[i] = v * 2 ** 22 + i;
    if (steps.due()) await steps.pause();
  }
  if (!packable) {
    out.set(Array.from({ length: n }, (_, i) => i).sort((a, b) => (keys[a]! < keys[b]! ? -1 : keys[a]! > keys[b]! ? 1 : a - b)));
    return out;
  }
  const sorted = await sortInSteps(packed, steps);
  for (let j = 0; j < n; j++) out[j] = sorted[j]! % 2 ** 22;
  // Runs with the same first five characters, in full key order (then by position, as a stable sort would).
  for (let j = 0; j < n; ) {
    let end = j + 1;
    while (end < n && Math.floor(sorted[end]! / 2 ** 22) === Math.floor(sorted[j]! / 2 ** 22)) end++;
    if (end - j > 1) out.set(Array.from(out.subarray(j, end)).sort((a, b) => (keys[a]! < keys[b]! ? -1 : keys[a]! > keys[b]! ? 1 : a - b)), j);
    j = end;
    if (steps.due()) await steps.pause();
  }
  return out;
}

/** A batch's lines by caseload position, as the reservations need them: key, amount, state, line number (0: cut). */
interface Live {
  keys: readonly string[];
  amount: Float64Array;
  dropped: Uint8Array;
  lineNo: Int32Array;
  /** Positions in key order, and the keys listed more than once. */
  byKey: ArrayLike<number>;
  repeated: ReadonlySet<string>;
}

async function reserve(tx: Tx, raw: Raw, batch: BatchRow, live: Live, held: ReadonlyMap<string, unknown>, steps: Steps) {
  // Each holder as jsonb_build_object wrote it, as COPY text: the constant parts escaped once.
  const escape = (v: string) => v.replace(ESCAPES, (c) => COPY_IN[c]!);
  const before = escape(`{"batchId": "${batch.id}", "lineNo": `);
  const between = escape(`, "programme": ${JSON.stringify(batch.programme)}, "amount": `);
  const prefix = `${escape(batch.incident)}\t${escape(batch.purpose)}\t`;
  const holder = (i: number) => `${before}${live.lineNo[i]!}${between}${copyNumber(live.amount[i]!)}}`;
  const isLive = (i: number) => live.lineNo[i]! > 0 && !live.dropped[i];
  // The live lines of a key this batch lists twice, in line order (rare: one family in two registries).
  const twice = new Map<string, number[]>();
  if (live.repeated.size > 0)
    for (let i = 0; i < live.keys.length; i++) if (isLive(i) && live.repeated.has(live.keys[i]!)) twice.set(live.keys[i]!, [...(twice.get(live.keys[i]!) ?? []), i]);

  // One row per key: a key listed twice is written at its first place in key order, with all its live lines.
  const fresh: number[] = [];
  const topUp: { k: string; n: number; a: number }[] = [];
  for (let j = 0; j < live.byKey.length; j++) {
    const i = live.byKey[j]!;
    const k = live.keys[i]!;
    if (live.repeated.has(k)) {
      const at = twice.get(k);
      if (!at || (j > 0 && live.keys[live.byKey[j - 1]!] === k)) continue;
      if (held.has(k)) for (const x of at) topUp.push({ k, n: live.lineNo[x]!, a: live.amount[x]! });
      else fresh.push(i);
    } else if (isLive(i)) {
      if (held.has(k)) topUp.push({ k, n: live.lineNo[i]!, a: live.amount[i]! });
      else fresh.push(i);
    }
    if (steps.due()) await steps.pause();
  }
  const copy = new Pieces();
  function* pieces() {
    for (const i of fresh) {
      const k = live.keys[i]!;
      const at = live.repeated.has(k) ? twice.get(k)! : null;
      // One row as one string, written at once (as the lines are).
      if (at) copy.raw(`${prefix}${copyText(k)}\t${copyNumber(at.reduce((sum, x) => sum + live.amount[x]!, 0))}\t[${at.map(holder).join(', ')}]\n`);
      else copy.raw(`${prefix}${copyText(k)}\t${copyNumber(live.amount[i]!)}\t[${holder(i)}]\n`);
      if (copy.ready) yield* copy.take();
      if (steps.due()) yield TURN;
    }
    yield* copy.take(true);
  }
  await copyInSteps(raw, 'reservations (incident, purpose, dedup_key, reserved_pkr, held_by)', pieces(), copy.reuse, steps);

  for (let i = 0; i < topUp.length; i += CHUNK) {
    await tx.execute(sql`
      with raw as (select * from json_to_recordset(${JSON.stringify(topUp.slice(i, i + CHUNK))}::json) as x(k text, n int, a int)),
      x as (
        select k, sum(a)::bigint as a,
          jsonb_agg(jsonb_build_object('batchId', ${batch.id}::text, 'lineNo', n, 'programme', ${batch.programme}::text, 'amount', a) order by n) as h
        from raw group by k
      ),
      topped as (
        update reservations r set reserved_pkr = r.reserved_pkr + x.a, held_by = r.held_by || x.h
        from x where r.incident = ${batch.incident} and r.purpose = ${batch.purpose} and r.dedup_key = x.k
        returning r.dedup_key
      )
      insert into reservations (incident, purpose, dedup_key, reserved_pkr, held_by)
      select ${batch.incident}, ${batch.purpose}, x.k, x.a, x.h from x where not exists (select 1 from topped where topped.dedup_key = x.k)`);
  }
}
