import { and, eq, sql } from 'drizzle-orm';
import { canSeeIdentity } from '../access/principal.ts';
import { eventScope, prefixPattern } from '../access/scope.ts';
import { incidentOf } from '../batches/build.ts';
import type { Ctx } from '../context.ts';
import { queryRows } from '../db/client.ts';
import { events } from '../db/schema/index.ts';
import { NotFoundError } from '../errors.ts';
import { disclosureFor, protectAmount, protectCount } from '../registry/disclosure.ts';

/** Where a line's money is, from the one ledger (lines, releases, instructions): the states the README lists. */
export const MONEY_STATES = ['reserved', 'released', 'exported', 'paid', 'failed', 'unclaimed', 'cancel_requested', 'cancelled'] as const;
type MoneyState = (typeof MONEY_STATES)[number];

interface Cell {
  households: number;
  pkr: number;
}
type Totals = Record<MoneyState, Cell>;
const empty = (): Totals => Object.fromEntries(MONEY_STATES.map((s) => [s, { households: 0, pkr: 0 }])) as Totals;

/**
 * The money of an event, per state, in totals by programme, by district and by channel, all from one query
 * over the batches' lines and the lines' latest instruction: a line with no instruction is `reserved` while
 * its batch is not released and `released` after; with one, it is where its instruction is (`paid` counts
 * what was paid); a line stopped before its money moved is `cancelled`. There is no counter to keep in step. Totals cover the reader's jurisdiction; roles
 * without identity access see small counts hidden, as everywhere.
 */
export async function eventPayments(ctx: Ctx, eventId: string, policy: { minCell: number }) {
  const [event] = await ctx.db.select().from(events).where(and(eq(events.id, eventId), eventScope.where(ctx.actor)));
  if (!event) throw new NotFoundError(`No event ${eventId}.`);
  const incident = await incidentOf(ctx.db, 'event', event.id);
  const j = ctx.actor.jurisdiction;
  const rows = await queryRows<{ programme: string; district: string; channel: string; state: MoneyState; households: number; pkr: string; largest: number }>(
    ctx.db,
    sql`with lines as (
          select b.programme, coalesce(nullif(l.district, ''), nullif(l.province, ''), 'unknown') as district, l.amount_pkr,
            coalesce(nullif(l.tehsil, ''), nullif(l.district, ''), nullif(l.province, ''), 'PK') as place,
            b.status as batch_status, l.state as line_state, i.channel, i.state as instruction_state, i.paid_pkr, i.amount_pkr as instructed
          from batches b join batch_lines l on l.batch_id = b.id and l.state in ('live', 'cancelled')
          left join lateral (select * from payment_instructions pi where pi.batch_id = l.batch_id and pi.line_no = l.line_no
                             order by pi.attempt desc limit 1) i on true
          where b.incident = ${incident} and b.kind = 'payment' and b.status <> 'cancelled'
        )
        select programme, district, coalesce(channel, 'not yet issued') as channel,
          case when line_state = 'cancelled' and instruction_state is distinct from 'paid' then 'cancelled'
               when instruction_state is not null then instruction_state when batch_status = 'released' then 'released' else 'reserved' end as state,
          count(*)::int as households, max(amount_pkr)::int as largest,
          sum(case when instruction_state = 'paid' then paid_pkr when instruction_state is not null then instructed else amount_pkr end)::text as pkr
        from lines where place like ${prefixPattern(j)} or ${j} = 'PK'
        group by 1, 2, 3, 4`,
  );
  const all = empty();
  const by = { programme: new Map<string, Totals>(), district: new Map<string, Totals>(), channel: new Map<string, Totals>() };
  for (const r of rows) {
    const pkr = Number(r.pkr);
    for (const [map, key] of [
      [by.programme, r.programme],
      [by.district, r.district],
      [by.channel, r.channel],
    ] as const) {
      const t = map.get(key) ?? empty();
      t[r.state].households += r.households;
      t[r.state].pkr += pkr;
      map.set(key, t);
    }
    all[r.state].households += r.households;
    all[r.state].pkr += pkr;
  }
  const disclosure = disclosureFor(canSeeIdentity(ctx.actor), policy.minCell);
  // Rupees are rounded to the largest line times the count rounding, so dividing by a benefit does not give a hidden count back.
  const unit = Math.max(1, ...rows.map((r) => r.largest));
  const shown = (t: Totals) =>
    Object.fromEntries(
      MONEY_STATES.map((s) => [s, { households: protectCount(t[s].households, disclosure), pkr: protectAmount(t[s].pkr, t[s].households, unit, disclosure) }]),
    );
  const list = (m: Map<string, Totals>) => [...m].sort(([a], [b]) => (a < b ? -1 : 1)).map(([key, t]) => ({ key, ...shown(t) }));
  return {
    eventId: event.id,
    incident,
    jurisdiction: j,
    totals: shown(all),
    byProgramme: list(by.programme),
    byDistrict: list(by.district),
    byChannel: list(by.channel),
  };
}
