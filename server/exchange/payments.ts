import { eq, sql } from 'drizzle-orm';
import { recordAudit } from '../audit/service.ts';
import { incidentOf } from '../batches/build.ts';
import type { DedupKey } from '../batches/dedup-key.ts';
import { lockReservations } from '../batches/reservations.ts';
import { withTransaction, type Ctx } from '../context.ts';
import { exchangeImports, events, externalPayments } from '../db/schema/index.ts';
import { agreementInForce } from './agreements.ts';
import { LINKAGE_KEY } from './fields.ts';
import { earlierImport, matchLinkageKeys, Problems, readReceived } from './received.ts';

/** The columns of a payment list received under an agreement (README: the exchange protocol). */
export const PAYMENT_COLUMNS = ['agreement', 'linkage_key', 'incident', 'purpose', 'programme', 'amount_pkr', 'paid_at', 'reference'] as const;

const INCIDENT = /^(event:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|alert-chain:[A-Za-z0-9:._@/+-]{1,200})$/;
const PURPOSE = /^[a-z][a-z0-9_]{1,59}$/;
const INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:\d{2})$/;

export interface PaymentImportReport {
  importId: string;
  /** True when the same file was imported under this agreement before: nothing changed now. */
  already: boolean;
  rows: number;
  matched: number;
  unmatched: number;
  /** Households whose reservation now holds these payments (per incident and purpose), and the rupees held. */
  held: number;
  heldPkr: number;
}

interface Row {
  row: number;
  linkageKey: string;
  incident: string;
  purpose: string;
  programme: string;
  amount: number;
  paidAt: Date;
  reference: string;
}

/**
 * Loads a payment list of a programme that pays outside Madad, under an agreement in force: each row (a
 * linkage key, the incident, purpose, amount, when) is matched to our household by the agreement's key, kept
 * as "paid by that programme", and holds the household's reservation for the incident and purpose, so a
 * batch of any programme nets it off. Checked whole first: any bad row refuses the file with row, column
 * and reason, and nothing is applied. The same file twice changes nothing.
 */
export async function importExternalPayments(ctx: Ctx, input: { agreementId: string; text: string }, deps: { dedupKey: () => DedupKey }): Promise<PaymentImportReport> {
  const file = readReceived(input.text, PAYMENT_COLUMNS, [], 'payment list');
  const at = Object.fromEntries(file.header.map((h, i) => [h, i])) as Record<(typeof PAYMENT_COLUMNS)[number], number>;
  const problems = new Problems();
  const rows: Row[] = [];
  const refs = new Set<string>();
  for (const r of file.records) {
    const f = (c: (typeof PAYMENT_COLUMNS)[number]) => (r.fields[at[c]] ?? '').trim();
    const row = r.line;
    let ok = true;
    const bad = (c: string, m: string) => {
      problems.add(row, c, m);
      ok = false;
    };
    if (f('agreement') !== input.agreementId) bad('agreement', `this row belongs to agreement ${f('agreement') || '(none)'}, not to ${input.agreementId} it was sent under`);
    if (!LINKAGE_KEY.test(f('linkage_key'))) bad('linkage_key', 'expected 43 base64url characters: HMAC-SHA256 of the head\u2019s CNIC (13 digits) under the agreement\u2019s key');
    if (!INCIDENT.test(f('incident'))) bad('incident', 'expected event:<event id> or alert-chain:<chain id>, as Madad names incidents');
    if (!PURPOSE.test(f('purpose'))) bad('purpose', 'expected a purpose such as flood_relief (lower case, digits, _)');
    if (f('programme').length < 2 || f('programme').length > 60) bad('programme', 'expected the name of the programme that paid (2 to 60 characters)');
    const amount = Number(f('amount_pkr'));
    if (!/^\d+$/.test(f('amount_pkr')) || amount < 1 || amount > 10_000_000) bad('amount_pkr', 'expected whole rupees, 1 to 10,000,000');
    const paidAt = new Date(f('paid_at'));
    if (!INSTANT.test(f('paid_at')) || Number.isNaN(paidAt.getTime())) bad('paid_at', 'expected an ISO 8601 moment with its offset, such as 2026-08-26T09:00:00+05:00');
    else if (paidAt > ctx.now) bad('paid_at', 'lies in the future');
    if (!f('reference') || f('reference').length > 100) bad('reference', 'expected the programme\u2019s own reference of the payment (1 to 100 characters)');
    else if (refs.has(`${f('programme')}|${f('reference')}`)) bad('reference', 'the same programme and reference appear twice in the file');
    refs.add(`${f('programme')}|${f('reference')}`);
    if (ok) rows.push({ row, linkageKey: f('linkage_key'), incident: f('incident'), purpose: f('purpose'), programme: f('programme'), amount, paidAt, reference: f('reference') });
  }
  if (file.records.length === 0) problems.add(2, 'linkage_key', 'the file holds no payments');
  problems.refuse('payment list');

  return withTransaction(ctx, async (t) => {
    const a = await agreementInForce(t.tx, t, input.agreementId, 'send payments under it');
    const before = await earlierImport(t.tx, a.id, 'payments', file.sha256);
    if (before) return { importId: before.id, already: true, rows: before.rows, matched: before.matched, unmatched: before.rows - before.matched, held: 0, heldPkr: 0 };

    // An event's incident is its alerts' chain when it has one: the name the batches reserve under.
    const incidents = new Map<string, string>();
    for (const r of rows) {
      if (incidents.has(r.incident)) continue;
      if (r.incident.startsWith('event:')) {
        const id = r.incident.slice('event:'.length);
        const [e] = await t.tx.select({ id: events.id }).from(events).where(eq(events.id, id));
        if (!e) problems.add(r.row, 'incident', `no event ${id}`);
        incidents.set(r.incident, e ? await incidentOf(t.tx, 'event', id) : r.incident);
      } else incidents.set(r.incident, r.incident);
    }
    problems.refuse('payment list');

    const matches = await matchLinkageKeys(t.tx, a.linkKey, a.jurisdiction, new Set(rows.map((r) => r.linkageKey)));
    const key = deps.dedupKey();
    const [imp] = await t.tx
      .insert(exchangeImports)
      .values({ agreementId: a.id, kind: 'payments', sha256: file.sha256, rows: rows.length, matched: rows.filter((r) => matches.has(r.linkageKey)).length, madeBy: `${t.actor.kind}:${t.actor.name}`, madeAt: t.now })
      .returning();
    const stored: (typeof externalPayments.$inferSelect)[] = [];
    for (let i = 0; i < rows.length; i += 1000) {
      const values = rows.slice(i, i + 1000).map((r) => {
        const m = matches.get(r.linkageKey);
        return {
          importId: imp!.id,
          agreementId: a.id,
          rowNo: r.row,
          linkageKey: r.linkageKey,
          household: m?.id ?? null,
          dedupKey: m ? key.of(m.cnic) : null,
          incident: incidents.get(r.incident)!,
          purpose: r.purpose,
          programme: r.programme,
          amountPkr: r.amount,
          paidAt: r.paidAt,
          reference: r.reference,
        };
      });
      stored.push(...(await t.tx.insert(externalPayments).values(values).returning()));
    }

    // Each matched payment holds its household's reservation, in the builds' lock order (one incident and
    // purpose at a time, in a fixed order), as a holder the builds net off and a batch's cancel leaves alone.
    const groups = new Map<string, typeof stored>();
    for (const p of stored) if (p.dedupKey) groups.set(`${p.incident}\u0000${p.purpose}`, [...(groups.get(`${p.incident}\u0000${p.purpose}`) ?? []), p]);
    let held = 0;
    let heldPkr = 0;
    for (const g of [...groups.keys()].sort()) {
      const list = groups.get(g)!;
      const { incident, purpose } = list[0]!;
      await lockReservations(t.tx, incident, purpose);
      const holders = list.map((p) => ({ k: p.dedupKey!, a: p.amountPkr, id: p.id, p: p.programme }));
      await t.tx.execute(sql`
        with x as (
          select k, sum(a)::bigint as a,
            jsonb_agg(jsonb_build_object('external', id, 'batchId', 'external:' || id, 'lineNo', 0, 'programme', p, 'amount', a) order by id) as h
          from json_to_recordset(${JSON.stringify(holders)}::json) as r(k text, a int, id text, p text) group by k
        ),
        topped as (
          update reservations r set reserved_pkr = r.reserved_pkr + x.a, held_by = r.held_by || x.h
          from x where r.incident = ${incident} and r.purpose = ${purpose} and r.dedup_key = x.k
          returning r.dedup_key
        )
        insert into reservations (incident, purpose, dedup_key, reserved_pkr, held_by)
        select ${incident}, ${purpose}, x.k, x.a, x.h from x where not exists (select 1 from topped where topped.dedup_key = x.k)`);
      held += new Set(holders.map((h) => h.k)).size;
      heldPkr += holders.reduce((s, h) => s + h.a, 0);
    }
    await recordAudit(t.tx, t, {
      action: 'exchange.payments_imported',
      subject: `exchange-import:${imp!.id}`,
      jurisdiction: a.jurisdiction,
      summary: { agreement: a.id, sha256: file.sha256, rows: rows.length, matched: imp!.matched, held, heldPkr, programmes: [...new Set(rows.map((r) => r.programme))] },
    });
    return { importId: imp!.id, already: false, rows: rows.length, matched: imp!.matched, unmatched: rows.length - imp!.matched, held, heldPkr };
  });
}
