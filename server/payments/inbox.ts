import { sql } from 'drizzle-orm';
import { actorOf, hasRole, type Actor } from '../access/principal.ts';
import { batchScope, prefixPattern } from '../access/scope.ts';
import { DEFAULT_APPROVAL_POLICY, type ApprovalPolicy } from '../batches/approvals.ts';
import type { Ctx } from '../context.ts';
import { queryRows, type Db } from '../db/client.ts';

export const INBOX_KINDS = ['approve', 'release', 'reissue'] as const;
export type InboxKind = (typeof INBOX_KINDS)[number];

/** One decision waiting for the reader. */
export interface InboxItem {
  kind: InboxKind;
  /** What waits, stable while it waits: `batch:<id>:approve:round <n>`, `batch:<id>:release`, `reissue:<id>`. */
  reason: string;
  batchId: string;
  reissueId: string | null;
  rule: { id: string; version: string };
  programme: string;
  /**
   * The money the decision moves: the batch's total to approve (of the lines within the reader's
   * jurisdiction when the batch reaches beyond it), the reader's payers' unreleased share to release, the
   * line's amount to pay again.
   */
  totalPkr: number;
  /** Since when it waits: submitted, approved (its last signature), asked. */
  since: string;
  /** The open step's deadline to approve; for a release or a request to pay again, `since` plus the step hours. */
  dueAt: string;
  overdue: boolean;
  /** Where the reader acts, in the app. */
  link: string;
  summary: string;
}

export interface Inbox {
  items: InboxItem[];
  counts: Record<InboxKind, number>;
  total: number;
}

const ts = (v: unknown) => new Date(v as string).toISOString();
const short = (id: string) => id.slice(0, 8);
const pkr = (n: number) => `PKR ${n.toLocaleString('en-US')}`;

/** The jurisdiction that signs for a payer's jurisdiction, as in SQL (server/batches/budgets.ts signingJurisdiction). */
const signingSql = (column: ReturnType<typeof sql>) => sql`(case when ${column} ~ '^PK[1-7]$' then ${column} else 'PK' end)`;

/** The amount of a batch's live lines within the reader's jurisdiction, or the batch's total when it sees it whole. */
const totalFor = (actor: Pick<Actor, 'jurisdiction'>) => sql`case when starts_with(batches.jurisdiction, ${actor.jurisdiction}) then batches.total_pkr
  else (select coalesce(sum(l.amount_pkr), 0) from batch_lines l where l.batch_id = batches.id and l.state = 'live'
        and coalesce(nullif(l.tehsil, ''), nullif(l.district, ''), nullif(l.province, ''), 'PK') like ${prefixPattern(actor.jurisdiction)}) end`;

/**
 * What waits for an actor, computed from the batches' and requests' state (never stored, so never stale):
 * submitted batches whose open step the actor may sign (its role and jurisdiction, not its submitter, not
 * signed by it this round); approved or partly released batches with a share of the actor's jurisdiction
 * unreleased (a finance officer), while their activation is active; open requests to pay a line again that
 * the actor may decide (a programme manager of a payer, not the one who asked). Within the batches the
 * actor may see (batchScope). Overdue first, then the oldest.
 */
export async function inboxFor(db: Db, actor: Actor, now: Date, policy: ApprovalPolicy = DEFAULT_APPROVAL_POLICY): Promise<Inbox> {
  const me = actorOf(actor);
  const scope = batchScope.where(actor);
  const items: InboxItem[] = [];

  if (actor.roles.length > 0) {
    const roles = `{${actor.roles.join(',')}}`;
    const rows = await queryRows<{ id: string; rule_id: string; rule_version: string; programme: string; round: number; total: string; since: unknown; due_at: string; steps: string }>(
      db,
      sql`select batches.id::text, batches.rule_id, batches.rule_version, batches.programme, batches.round, (${totalFor(actor)})::text as total,
            batches.submitted_at as since, min(s->>'dueAt') as due_at, string_agg(distinct s->>'role', ', ') as steps
          from batches, jsonb_array_elements(coalesce(batches.steps, '[]'::jsonb)) s
          where batches.status = 'submitted' and ${scope}
            and batches.submitted_by is distinct from ${me}
            and s->>'jurisdiction' = ${actor.jurisdiction} and s->>'role' = any(${roles}::text[])
            and not exists (select 1 from batch_approvals a where a.batch_id = batches.id and a.round = batches.round and a.step = (s->>'step')::int)
            and not exists (select 1 from batch_approvals a where a.batch_id = batches.id and a.round = batches.round and a.signed_by = ${me})
          group by batches.id`,
    );
    for (const r of rows)
      items.push({
        kind: 'approve',
        reason: `batch:${r.id}:approve:round ${r.round}`,
        batchId: r.id,
        reissueId: null,
        rule: { id: r.rule_id, version: r.rule_version },
        programme: r.programme,
        totalPkr: Number(r.total),
        since: ts(r.since),
        dueAt: ts(r.due_at),
        overdue: new Date(r.due_at) < now,
        link: `/batches/${r.id}`,
        summary: `Batch ${short(r.id)} (${r.rule_id}, ${r.programme}, ${pkr(Number(r.total))}) waits for your signature as ${r.steps} of ${actor.jurisdiction}, round ${r.round}.`,
      });
  }

  if (hasRole(actor, 'finance_officer')) {
    const rows = await queryRows<{ id: string; rule_id: string; rule_version: string; programme: string; share: string; since: unknown; agencies: string }>(
      db,
      sql`select batches.id::text, batches.rule_id, batches.rule_version, batches.programme,
            (select coalesce(sum(l.shares_pkr[array_position(l.payer_idx, p.idx)]), 0) from batch_payers p
               join batch_lines l on l.batch_id = p.batch_id and l.state = 'live' and p.idx = any(l.payer_idx)
             where p.batch_id = batches.id and p.released_at is null and ${signingSql(sql`p.jurisdiction`)} = ${actor.jurisdiction})::text as share,
            coalesce((select max(a.signed_at) from batch_approvals a where a.batch_id = batches.id and a.round = batches.round and a.decision = 'approve'),
                     batches.updated_at) as since,
            (select string_agg(distinct p.agency, ', ') from batch_payers p
             where p.batch_id = batches.id and p.released_at is null and ${signingSql(sql`p.jurisdiction`)} = ${actor.jurisdiction}) as agencies
          from batches join activations act on act.id = batches.activation_id and act.status = 'active'
          where batches.status in ('approved', 'partly_released') and ${scope}
            and exists (select 1 from batch_payers p where p.batch_id = batches.id and p.released_at is null and ${signingSql(sql`p.jurisdiction`)} = ${actor.jurisdiction})`,
    );
    for (const r of rows) {
      const since = ts(r.since);
      const dueAt = new Date(new Date(since).getTime() + policy.stepHours * 3600_000);
      items.push({
        kind: 'release',
        reason: `batch:${r.id}:release`,
        batchId: r.id,
        reissueId: null,
        rule: { id: r.rule_id, version: r.rule_version },
        programme: r.programme,
        totalPkr: Number(r.share),
        since,
        dueAt: dueAt.toISOString(),
        overdue: dueAt < now,
        link: `/batches/${r.id}`,
        summary: `Batch ${short(r.id)} (${r.rule_id}, ${r.programme}) is approved: the ${r.agencies} share of ${pkr(Number(r.share))} waits for release by a finance officer of ${actor.jurisdiction}.`,
      });
    }
  }

  if (hasRole(actor, 'program_manager')) {
    const rows = await queryRows<{ id: string; batch_id: string; rule_id: string; rule_version: string; programme: string; amount: number; since: unknown; line_no: number; channel: string; reason: string }>(
      db,
      sql`select r.id::text, batches.id::text as batch_id, batches.rule_id, batches.rule_version, batches.programme, i.amount_pkr as amount,
            r.requested_at as since, r.line_no, r.channel, r.reason
          from reissues r join batches on batches.id = r.batch_id join payment_instructions i on i.id = r.instruction_id
          where r.decision is null and ${scope} and r.requested_by <> ${me}
            and exists (select 1 from batch_payers p where p.batch_id = batches.id and ${signingSql(sql`p.jurisdiction`)} = ${actor.jurisdiction})`,
    );
    for (const r of rows) {
      const since = ts(r.since);
      const dueAt = new Date(new Date(since).getTime() + policy.stepHours * 3600_000);
      items.push({
        kind: 'reissue',
        reason: `reissue:${r.id}`,
        batchId: r.batch_id,
        reissueId: r.id,
        rule: { id: r.rule_id, version: r.rule_version },
        programme: r.programme,
        totalPkr: Number(r.amount),
        since,
        dueAt: dueAt.toISOString(),
        overdue: dueAt < now,
        link: `/batches/${r.batch_id}/reissues/${r.id}`,
        summary: `A request to pay line ${r.line_no} of batch ${short(r.batch_id)} (${r.rule_id}, ${r.programme}, ${pkr(Number(r.amount))}) again by ${r.channel.replace('_', ' ')} waits for your decision: ${r.reason}`,
      });
    }
  }

  items.sort((a, b) => Number(b.overdue) - Number(a.overdue) || a.since.localeCompare(b.since) || a.reason.localeCompare(b.reason));
  const counts = Object.fromEntries(INBOX_KINDS.map((k) => [k, items.filter((i) => i.kind === k).length])) as Record<InboxKind, number>;
  return { items, counts, total: items.length };
}

/** The reader's inbox (GET /api/inbox). */
export function inbox(ctx: Ctx, policy?: ApprovalPolicy): Promise<Inbox> {
  return inboxFor(ctx.db, ctx.actor, ctx.now, policy);
}
