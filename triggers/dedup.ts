import { pkrText } from './money-text.ts';
import { netOff } from './net-off.ts';

/** A proposed payment line: who (a stable household key such as the head's CNIC), which programme, how much. */
export interface CandidateLine {
  householdKey: string;
  programme: string;
  amount: number;
}

/** A payment already made (or approved) for the same event and purpose, by any programme. */
export interface ExistingPayment {
  householdKey: string;
  programme: string;
  amount: number;
}

export interface PaidBy {
  programme: string;
  amount: number;
  /** True when the payment is another line of this same batch rather than an earlier payment. */
  inThisBatch: boolean;
}

export interface KeptLine extends CandidateLine {
  /** The amount asked for before netting. */
  requested: number;
  paidBy: PaidBy[];
  text: string;
}

export interface DroppedLine extends CandidateLine {
  paidBy: PaidBy[];
  text: string;
}

export interface DedupResult {
  /** Lines still to pay, with `amount` netted of what the household already got. */
  kept: KeptLine[];
  /** Lines with nothing left to pay, naming the programme(s) that paid. */
  dropped: DroppedLine[];
}

const paidText = (paid: PaidBy[]) =>
  paid.map((p) => `${pkrText(p.amount)} by ${p.programme}${p.inThisBatch ? ' (this batch)' : ''}`).join(', ');

/**
 * One top-up per household per incident and purpose, whichever programme pays (DOMAIN: "the other programme
 * sees it was paid"). Each line is netted against existing payments plus the lines kept before it in this
 * batch, so the batch order decides which programme pays first when two propose the same household: the
 * caller orders lines by the agreed precedence (e.g. federal before provincial).
 *
 * How the netting reads, with the 2022 flood: BISP's federal batch reserves PKR 25,000 for a family; Sindh's
 * Kafaalat top-up (PKR 10,000) for the same family and flood finds 25,000 already held, so its line is
 * dropped ("already paid PKR 25,000 by BISP"). Had Sindh's batch come first, BISP's line would be netted to
 * PKR 15,000 ("PKR 15,000: PKR 25,000 less PKR 10,000 by SSPA"): together the family gets the larger of the
 * two amounts, never the sum. A family listed in two registries is one `householdKey` (the server keys on an
 * HMAC of the head's CNIC), so its second listing in the same batch is netted against the first. The
 * server keeps what is held per incident, purpose and key in its `reservations` table, whose primary key
 * makes a second holder impossible; this function only decides the amounts.
 */
export function dedupe(candidates: CandidateLine[], existing: ExistingPayment[]): DedupResult {
  const ledger = new Map<string, PaidBy[]>();
  for (const p of existing) {
    const list = ledger.get(p.householdKey) ?? [];
    list.push({ programme: p.programme, amount: p.amount, inThisBatch: false });
    ledger.set(p.householdKey, list);
  }
  const kept: KeptLine[] = [];
  const dropped: DroppedLine[] = [];
  for (const line of candidates) {
    const paid = ledger.get(line.householdKey) ?? [];
    const received = paid.reduce((s, p) => s + p.amount, 0);
    const net = netOff(line.amount, received);
    if (net === 0) {
      dropped.push({ ...line, paidBy: [...paid], text: `already paid ${paidText(paid)} for this event and purpose` });
      continue;
    }
    kept.push({
      ...line,
      requested: line.amount,
      amount: net,
      paidBy: [...paid],
      text: paid.length === 0 ? `${pkrText(net)}: nothing paid before` : `${pkrText(net)}: ${pkrText(line.amount)} less ${paidText(paid)}`,
    });
    ledger.set(line.householdKey, [...paid, { programme: line.programme, amount: net, inThisBatch: true }]);
  }
  return { kept, dropped };
}
