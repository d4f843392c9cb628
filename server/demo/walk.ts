import { readFileSync } from 'node:fs';
import { parse } from 'csv-parse/sync';
import { and, asc, eq, isNull } from 'drizzle-orm';
import type { Actor } from '../access/principal.ts';
import { approveBatch, submitBatch } from '../batches/approvals.ts';
import { releaseBatch } from '../batches/release.ts';
import type { Ctx } from '../context.ts';
import type { Db } from '../db/client.ts';
import { batches, outbox } from '../db/schema/index.ts';
import { readNotificationFile } from '../events/notification-file.ts';
import { createEvent, previewNotification } from '../events/service.ts';
import { downloadPaymentFile, exportPaymentFiles } from '../payments/files.ts';
import { RECONCILIATION_COLUMNS, reconcile, type ReconciliationReport } from '../payments/reconcile.ts';
import { acceptAction, createAction, getPlan, updateAction } from '../plan/service.ts';
import type { PlanStatus } from '../plan/schema.ts';

export const DEMO_EVENT_NAME = 'Indus floods, lower Sindh (demo)';
export const DEMO_FEDERAL_RULE = 'bisp-flood-relief-demo';
export const DEMO_SINDH_RULE = 'sindh-flood-kafaalat';

/** Reads the outbox's reactions through to the end (evaluations, the batch builds they cause, instructions). */
export type Deliver = () => Promise<void>;

export interface DemoPeople {
  pdma: Actor;
  bispManager: Actor;
  responder: Actor;
  sspaManager: Actor;
  sspaManager2: Actor;
  sindhFinance: Actor;
}

export interface DemoWalk {
  eventId: string;
  federal: { id: string; status: string; lines: number; totalPkr: number };
  sindh: { id: string; status: string; lines: number; totalPkr: number; heldByOthers: number };
  files: { id: string; channel: string; count: number; totalPkr: number; sha256: string }[];
  reconciliations: ReconciliationReport[];
  plan: { incident: string; byStatus: Record<string, number>; added: number };
}

const as = (ctx: Ctx, actor: Actor): Ctx => ({ db: ctx.db, actor, now: ctx.now });

async function deliverAll(db: Db, deliver: Deliver): Promise<void> {
  // A reaction may enqueue the next (an evaluation, then the builds it fires): deliver until none is due.
  for (let i = 0; i < 10; i++) {
    await deliver();
    const waiting = await db.select({ id: outbox.id, topic: outbox.topic, lastError: outbox.lastError }).from(outbox).where(and(isNull(outbox.doneAt), isNull(outbox.failedAt)));
    if (waiting.length === 0) return;
    const failed = waiting.find((w) => w.lastError);
    if (failed) throw new Error(`the demo's ${failed.topic} reaction failed: ${failed.lastError}`);
  }
  throw new Error('the demo\'s outbox did not settle');
}

/**
 * What a bank answers for a payment file: most paid, some failed with a reason, the last few not yet
 * answered (still outstanding). Deterministic: the n-th line's fate depends only on n.
 */
export function bankAnswer(fileText: string, paidAt: Date): string {
  const [header, ...rest] = parse(fileText, { relax_column_count: true }) as string[][];
  const id = header!.indexOf(header!.includes('instruction_id') ? 'instruction_id' : 'reference');
  const amount = header!.indexOf('amount_pkr');
  const rows = rest.filter((r) => r[0] !== 'TRAILER');
  const reasons = ['account closed', 'CNIC not verified at the agent', 'wallet not active'];
  const answers = [RECONCILIATION_COLUMNS.join(',')];
  const unanswered = Math.max(1, Math.floor(rows.length / 20));
  rows.slice(0, rows.length - unanswered).forEach((row, n) => {
    if (n % 12 === 5) answers.push(`${row[id]},failed,0,,,${reasons[n % reasons.length]}`);
    else answers.push(`${row[id]},paid,${row[amount]},${paidAt.toISOString()},DEMO-${String(n + 1).padStart(6, '0')},`);
  });
  return `${answers.join('\r\n')}\r\n`;
}

/**
 * The whole path on the demo's data, each step through the verbs as the person whose job it is: PDMA
 * Sindh declares the districts of its notification (by name, as the letter lists them), both flood rules
 * fire and their batches are built (BISP's first, so the Sindh batch shows the households BISP holds),
 * the federal batch is submitted and left for a second BISP manager to approve, the Sindh batch is
 * submitted, approved by two people and released, its payment files are made, and the bank's answer to
 * each file is applied (most paid, some failed, a few outstanding).
 */
export async function walkDemo(ctx: Ctx, people: DemoPeople, deliver: Deliver, mark: (step: string) => void = () => {}): Promise<DemoWalk> {
  const db = ctx.db;
  const letter = readFileSync(new URL('./pdma-sindh-notification.txt', import.meta.url), 'utf8');
  const preview = await previewNotification(as(ctx, people.pdma), { text: letter, fileName: 'pdma-sindh-notification.txt' });
  const unresolved = preview.filter((l) => l.status !== 'resolved');
  if (unresolved.length) throw new Error(`the demo notification does not resolve: ${unresolved.map((l) => `line ${l.fileLine}: ${l.explanation}`).join('; ')}`);
  const event = await createEvent(as(ctx, people.pdma), {
    name: DEMO_EVENT_NAME,
    hazard: 'riverine_flood',
    status: 'declared',
    areas: readNotificationFile(letter, 'pdma-sindh-notification.txt').map(({ area, level }) => (level ? { area, level } : { area })),
    alertIds: [],
  });
  mark('declared');
  await deliverAll(db, deliver);
  mark('evaluated, plan copied, batches built');

  const built = await db.select().from(batches).where(eq(batches.subjectId, event.id)).orderBy(asc(batches.builtAt));
  const federal = built.find((b) => b.ruleId === DEMO_FEDERAL_RULE);
  const sindh = built.find((b) => b.ruleId === DEMO_SINDH_RULE);
  if (!federal || !sindh) throw new Error(`the declaration built ${built.map((b) => b.ruleId).join(', ') || 'no batch'}; the demo needs both flood rules' batches`);

  // The federal batch waits for a second BISP manager (maker-checker): the demo leaves that to a person.
  const federalSubmitted = await submitBatch(as(ctx, people.bispManager), { id: federal.id });

  await submitBatch(as(ctx, people.sspaManager), { id: sindh.id });
  await approveBatch(as(ctx, people.sspaManager2), { id: sindh.id, comment: 'Kafaalat households of the notified districts checked against the list', linesSha256: sindh.linesSha256 });
  await approveBatch(as(ctx, people.sindhFinance), { id: sindh.id, comment: 'Within the SSPA flood budget line', linesSha256: sindh.linesSha256 });
  const released = await releaseBatch(as(ctx, people.sindhFinance), { id: sindh.id });
  await deliverAll(db, deliver);
  mark('submitted, approved, released, instructions made');

  const exported = await exportPaymentFiles(as(ctx, people.sindhFinance), { batchId: sindh.id });
  const paidAt = new Date(ctx.now.getTime() - 60_000);
  const reconciliations: ReconciliationReport[] = [];
  for (const file of exported.files.filter((f) => f.kind === 'payment')) {
    const { text } = await downloadPaymentFile(as(ctx, people.sindhFinance), file.id);
    let body = '';
    for await (const chunk of text) body += chunk;
    reconciliations.push(await reconcile(as(ctx, people.sindhFinance), { fileId: file.id, text: bankAnswer(body, paidAt) }));
  }

  mark('files exported and reconciled');
  const plan = await walkPlan(ctx, people, `event:${event.id}`);
  mark('plan moved on');

  const figures = sindh.figures as { heldByOthers?: Record<string, { households: number; pkr: number }> };
  const heldByOthers = figures.heldByOthers?.BISP?.households ?? 0;
  return {
    eventId: event.id,
    federal: { id: federal.id, status: federalSubmitted.status, lines: federal.lineCount ?? 0, totalPkr: federal.totalPkr },
    sindh: { id: sindh.id, status: released.status, lines: sindh.lineCount ?? 0, totalPkr: sindh.totalPkr, heldByOthers },
    files: exported.files.map((f) => ({ id: f.id, channel: f.channel, count: f.count, totalPkr: f.totalPkr, sha256: f.sha256 })),
    reconciliations,
    plan,
  };
}

/** Moves an action along the machine to `to` (planned → ready → in_progress → done), a note at each step. */
async function advance(ctx: Ctx, id: string, to: PlanStatus, notes: Partial<Record<PlanStatus, string>> = {}, reason?: string) {
  const path: PlanStatus[] = ['ready', 'in_progress', 'done'];
  if (to === 'blocked') return updateAction(ctx, id, { status: 'blocked', reason: reason ?? 'waiting', note: notes.blocked ?? 'blocked' });
  for (const step of path.slice(0, path.indexOf(to) + 1)) await updateAction(ctx, id, { status: step, note: notes[step] ?? `now ${step.replace('_', ' ')}` });
}

/**
 * The plan after the first day: the rules' pre-agreed actions accepted and moved on by the agencies that
 * lead them (one blocked, some not yet started), and actions PDMA Sindh added on the day: payment camps
 * with their sites (the map's action points) and boats for Sujawal.
 */
async function walkPlan(ctx: Ctx, people: DemoPeople, incident: string) {
  const plan = await getPlan(as(ctx, people.pdma), incident);
  const find = (key: string) => plan.actions.find((a) => a.kind === 'action' && a.title.startsWith(key));
  const step = async (who: Actor, title: string, to: PlanStatus, notes: Partial<Record<PlanStatus, string>>, reason?: string) => {
    const a = find(title);
    if (!a) return;
    const c = as(ctx, who);
    // Responders report on their actions but do not accept them (plan ACCEPTORS).
    if (!a.acceptedAt && !who.roles.includes('responder')) await acceptAction(c, a.id, { note: 'we lead this' });
    await advance(c, a.id, to, notes, reason);
  };
  await step(people.pdma, 'PDMA Sindh confirms', 'done', { done: 'Notification PDMA/RELIEF/2026/0827 sent to NDMA and the districts', in_progress: 'lists being checked with the deputy commissioners' });
  await step(people.bispManager, 'BISP prepares the beneficiary lists', 'done', { done: 'federal batch built and submitted for approval' });
  await step(people.sspaManager, 'SSPA prepares the Kafaalat top-up list', 'done', { done: 'Sindh batch released; payment files sent to the banks' });
  await step(people.sspaManager, 'SMS to the Kafaalat households', 'blocked', { blocked: 'gateway not yet confirmed' }, 'The SMS gateway has not confirmed the sender ID for SSPA');
  await step(people.bispManager, 'SMS to the listed households', 'ready', { ready: 'texts written in Urdu and Sindhi; waiting for the approval of the batch' });
  await step(people.responder, 'District administration Thatta opens payment camps', 'in_progress', { in_progress: 'two camps open, one more on Monday' });

  const pdma = as(ctx, people.pdma);
  const camps = await createAction(pdma, incident, {
    title: 'Payment camps for the Sindh top-up in Thatta and Sujawal',
    sector: 'cash',
    supportingAgencies: ['SSPA', 'District administration Thatta', 'District administration Sujawal'],
    areaCodes: ['PK727', 'PK722'],
    locations: [
      { name: 'Government Boys High School, Thatta', lat: 24.747, lon: 67.924, capacity: 800 },
      { name: 'Taluka office, Mirpur Sakro', lat: 24.547, lon: 67.627, capacity: 400 },
      { name: 'Government Degree College, Sujawal', lat: 24.606, lon: 68.071, capacity: 600 },
    ],
    dueHours: 72,
    targets: { households: 1500 },
    note: 'sites agreed with the deputy commissioners',
  });
  await advance(pdma, camps.id, 'ready', { ready: 'staff and police posted at the three sites' });
  const boats = await createAction(pdma, incident, {
    title: 'Boats to reach the cut-off villages of Sujawal and Badin',
    sector: 'logistics',
    supportingAgencies: ['Pakistan Navy', 'Rescue 1122'],
    areaCodes: ['PK722', 'PK701'],
    locations: [{ name: 'Boat point, Shah Bandar', lat: 24.168, lon: 67.906 }],
    dueHours: 24,
    note: 'requested by the deputy commissioner Sujawal',
  });
  await advance(pdma, boats.id, 'in_progress', { in_progress: 'six boats at work' });
  await createAction(pdma, incident, {
    title: 'Tents and clean water for the relief camps of Badin',
    sector: 'shelter',
    leadAgency: 'District administration Badin',
    supportingAgencies: ['PDMA Sindh'],
    areaCodes: ['PK701'],
    dueHours: 48,
    targets: { households: 900 },
  });
  const after = await getPlan(pdma, incident);
  return { incident, byStatus: after.counts.byStatus, added: 3 };
}
