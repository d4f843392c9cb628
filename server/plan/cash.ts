import { sql } from 'drizzle-orm';
import { canSeeIdentity, type Actor } from '../access/principal.ts';
import { queryRows, type Db } from '../db/client.ts';
import { disclosureFor, protectAmount, protectCount } from '../registry/disclosure.ts';
import { isOverdue, relativeDue } from './machine.ts';
import type { PlanAction, PlanStatus } from './schema.ts';

interface BatchRow {
  id: string;
  activation_id: string;
  rule_id: string;
  rule_version: string;
  rule_version_id: string;
  programme: string;
  purpose: string;
  stage: string;
  kind: 'payment' | 'prepared';
  status: string;
  status_reason: string | null;
  area_codes: string[];
  payers: { agency: string; jurisdiction: string }[];
  steps: { dueAt?: string }[] | null;
  line_count: number;
  built_at: unknown;
  submitted_by: string | null;
  submitted_at: unknown;
  activated_at: unknown;
}

const date = (v: unknown) => (v === null || v === undefined ? null : new Date(v as string));

/**
 * A batch's place in the plan's status machine: a prepared list is done (the list exists); a draft is
 * planned; submitted or approved is ready (money decided, not yet moving); released is in progress until
 * every live line is paid; a cancelled batch is cancelled.
 */
function statusOf(b: BatchRow, live: number, paid: number): PlanStatus {
  if (b.status === 'cancelled') return 'cancelled';
  if (b.kind === 'prepared' || b.status === 'prepared') return 'done';
  if (b.status === 'draft') return 'planned';
  if (b.status === 'submitted' || b.status === 'approved') return 'ready';
  return live > 0 && paid >= live ? 'done' : 'in_progress';
}

/** What a reader is shown of the ledger's figures: exact, or protected as everywhere (`minCell`). */
export interface FigurePolicy {
  /** MADAD_MIN_CELL; absent (the CLI, the operator at the database) means exact figures. */
  minCell?: number;
}

/**
 * The cash actions of an incident: one per batch, its targets (live lines), reached (lines whose latest
 * instruction is paid) and money (committed shares of live lines, released shares, paid shares) per payer,
 * all read from the ledger on every call, never typed in or stored. Roles without identity access get the
 * counts and rupees protected as the batches show them (server/registry/disclosure.ts): null under the
 * smallest cell, else rounded.
 */
export async function cashActions(db: Db, incident: string, viewer: Pick<Actor, 'agency' | 'roles'>, now: Date, policy: FigurePolicy = {}): Promise<PlanAction[]> {
  const disclosure = policy.minCell ? disclosureFor(canSeeIdentity(viewer as Actor), policy.minCell) : null;
  const batches = await queryRows<BatchRow>(
    db,
    sql`select b.id::text, b.activation_id::text, b.rule_id, b.rule_version, b.rule_version_id::text, b.programme, b.purpose, b.stage, b.kind,
          b.status, b.status_reason, b.area_codes, b.payers, b.steps, b.line_count, b.built_at, b.submitted_by, b.submitted_at,
          a.created_at as activated_at
        from batches b join activations a on a.id = b.activation_id
        where b.incident = ${incident} order by b.built_at, b.id`,
  );
  if (batches.length === 0) return [];
  const ids = `{${batches.map((b) => b.id).join(',')}}`;
  const lines = await queryRows<{ batch_id: string; live: number; paid: number; largest: number | null }>(
    db,
    sql`select l.batch_id::text, count(*) filter (where l.state = 'live')::int as live,
          count(*) filter (where i.state = 'paid')::int as paid, max(l.amount_pkr)::int as largest
        from batch_lines l
        left join lateral (select pi.state from payment_instructions pi where pi.batch_id = l.batch_id and pi.line_no = l.line_no
                           order by pi.attempt desc limit 1) i on true
        where l.batch_id = any(${ids}::uuid[])
        group by 1`,
  );
  const shares = await queryRows<{ batch_id: string; idx: number; committed: string; paid: string }>(
    db,
    sql`select l.batch_id::text, s.idx::int,
          coalesce(sum(s.share) filter (where l.state = 'live'), 0)::text as committed,
          coalesce(sum(case when i.state = 'paid' then least(s.share, coalesce(i.paid_pkr, s.share)) end), 0)::text as paid
        from batch_lines l
        cross join lateral unnest(l.payer_idx, l.shares_pkr) as s(idx, share)
        left join lateral (select pi.state, pi.paid_pkr from payment_instructions pi where pi.batch_id = l.batch_id and pi.line_no = l.line_no
                           order by pi.attempt desc limit 1) i on true
        where l.batch_id = any(${ids}::uuid[]) and l.state in ('live', 'cancelled')
        group by 1, 2`,
  );
  const released = await queryRows<{ batch_id: string; idx: number; released: string | null }>(
    db,
    sql`select batch_id::text, idx::int, released_pkr::text as released from batch_payers where batch_id = any(${ids}::uuid[])`,
  );
  return batches.map((b): PlanAction => {
    const counts = lines.find((l) => l.batch_id === b.id) ?? { live: 0, paid: 0, largest: 0 };
    // Rupees rounded to the largest line times the count rounding, so a sum does not give a hidden count back.
    const unit = Math.max(1, counts.largest ?? 0);
    const live = (n: number) => protectAmount(n, counts.live, unit, disclosure);
    const byPayer = b.payers.map((p, idx) => {
      const s = shares.find((x) => x.batch_id === b.id && x.idx === idx);
      const r = released.find((x) => x.batch_id === b.id && x.idx === idx);
      return { agency: p.agency, jurisdiction: p.jurisdiction, committedPkr: Number(s?.committed ?? 0), releasedPkr: Number(r?.released ?? 0), paidPkr: Number(s?.paid ?? 0) };
    });
    const sum = (k: 'committedPkr' | 'releasedPkr' | 'paidPkr') => byPayer.reduce((t, p) => t + p[k], 0);
    const shown = byPayer.map((p) => ({
      ...p,
      committedPkr: live(p.committedPkr),
      releasedPkr: live(p.releasedPkr),
      paidPkr: protectAmount(p.paidPkr, counts.paid, unit, disclosure),
    }));
    const status = statusOf(b, counts.live, counts.paid);
    const triggerAt = date(b.activated_at)!;
    const stepsDue = (b.steps ?? []).map((s) => s.dueAt).filter((d): d is string => typeof d === 'string').sort();
    // A batch is due when its approval steps are; released money is past its deadline, which is met.
    const dueAt = stepsDue.length && ['submitted', 'approved', 'partly_released'].includes(b.status) ? new Date(stepsDue[stepsDue.length - 1]!) : null;
    const due = relativeDue(triggerAt, dueAt);
    const payment = b.kind === 'payment';
    return {
      id: `batch:${b.id}`,
      kind: 'cash',
      incident,
      title: payment ? `${b.programme} pays the ${b.purpose.replace(/_/g, ' ')} top-up (${b.rule_id})` : `${b.programme} prepares the list of ${b.purpose.replace(/_/g, ' ')} (${b.rule_id}, no payment)`,
      sector: payment ? 'cash' : 'registration',
      leadAgency: b.programme,
      supportingAgencies: [...new Set(b.payers.map((p) => p.agency).filter((a) => a !== b.programme))],
      areaCodes: b.area_codes,
      locations: [],
      stage: b.stage === 'readiness' ? 'readiness' : 'activation',
      triggerAt: triggerAt.toISOString(),
      dueAt: dueAt?.toISOString() ?? null,
      dueHours: due.hours,
      dueRelative: due.text,
      targets: { households: protectCount(counts.live, disclosure), people: null },
      reached: { households: payment ? protectCount(counts.paid, disclosure) : null, people: null },
      budget: shown.flatMap((p) => (p.committedPkr === null ? [] : [{ funder: p.agency, pkr: p.committedPkr }])),
      money: payment
        ? {
            committedPkr: live(sum('committedPkr')),
            releasedPkr: live(sum('releasedPkr')),
            paidPkr: protectAmount(sum('paidPkr'), counts.paid, unit, disclosure),
            byPayer: shown,
          }
        : null,
      status,
      statusReason: b.status_reason,
      overdue: isOverdue(status, dueAt, now),
      // A batch is taken on by its programme when a programme manager submits it.
      acceptedBy: b.submitted_by,
      acceptedAt: date(b.submitted_at)?.toISOString() ?? null,
      origin: 'batch',
      rule: { id: b.rule_id, version: b.rule_version, versionId: b.rule_version_id },
      activationId: b.activation_id,
      batchId: b.id,
      mine: viewer.agency.trim().toLowerCase() === b.programme.trim().toLowerCase(),
      history: [],
    };
  });
}
