import type { Publisher } from '../access/senders.ts';
import { within } from '../access/scope.ts';
import type { NormalizedAlert } from './parse/index.ts';

/**
 * The codes of an area that do not lie within a jurisdiction. `within`, not `touches`: a message must lie
 * wholly inside its publisher's jurisdiction. With `touches` a Sindh feed could post over `PK` (which
 * contains Sindh) or over Sindh and Punjab at once, and the Punjab part would fire Punjab's rules.
 */
export function outside(codes: readonly string[], jurisdiction: string): string[] {
  return codes.filter((c) => !within(c, jurisdiction));
}

/**
 * Why a message may not be published by `publisher` (named `who` in the reasons), from the message and
 * the area codes it resolved to; empty when it may. The sender must be one the publisher is bound to, and
 * the area must resolve to codes that all lie within the publisher's jurisdiction: an area that resolves
 * to nothing cannot be shown to lie within it, so only a federal publisher may send one (a GDACS alert
 * over another country resolves to nothing and is still worth showing).
 */
export function publishingRefusals(alert: Pick<NormalizedAlert, 'sender'>, codes: readonly string[], publisher: Publisher, who: string): string[] {
  const reasons: string[] = [];
  if (publisher.senders.length === 0) {
    reasons.push(`${who} may publish as no sender: an admin must bind it to the senders it publishes as (senders, --senders)`);
  } else if (!publisher.senders.includes(alert.sender)) {
    reasons.push(`sender ${alert.sender} is not one ${who} may publish as (it may publish as ${publisher.senders.join(', ')})`);
  }
  const j = publisher.jurisdiction;
  const beyond = outside(codes, j);
  if (beyond.length) reasons.push(`its area reaches ${beyond.join(', ')}, outside ${who}'s jurisdiction ${j}`);
  else if (codes.length === 0 && j !== 'PK') reasons.push(`its area resolves to no area within ${who}'s jurisdiction ${j}: give a P-code geocode or a polygon inside it`);
  return reasons;
}

/**
 * CAP 1.2 §3.2.1: each reference is `sender,identifier,sent`, and an Update or Cancel speaks for its own
 * sender. A reference to another sender's alert that is stored here is refused (refusalOfReferenced); one
 * that names nothing stored is kept as written, warned about, and never acts (real feeds carry such
 * references: WCATWC's tsunami Update names `PAAQ` for its own earlier message).
 */
export function foreignReferences(alert: Pick<NormalizedAlert, 'sender' | 'references'>) {
  return alert.references.filter((r) => r.sender !== alert.sender);
}

interface StoredAlert {
  sender: string;
  identifier: string;
  areaCodes: readonly string[];
}

/**
 * Why a message may not act on the stored alerts it would change (the one of its own sender and
 * identifier, which it replaces, and those it references); undefined when it may. `publisher` is absent
 * for the system, which may change any alert of the message's sender.
 */
export function refusalOfStored(alert: Pick<NormalizedAlert, 'sender'>, changed: readonly StoredAlert[], publisher: Publisher | undefined, who: string): string | undefined {
  const foreign = changed.find((r) => r.sender !== alert.sender);
  if (foreign) {
    return `it references ${foreign.sender},${foreign.identifier}, an alert of another sender: an Update or Cancel acts only on alerts of its own sender (CAP 1.2 §3.2.1)`;
  }
  if (!publisher) return undefined;
  const elsewhere = changed.find((r) => outside(r.areaCodes, publisher.jurisdiction).length > 0 || (r.areaCodes.length === 0 && publisher.jurisdiction !== 'PK'));
  if (elsewhere) {
    const where = elsewhere.areaCodes.length ? `whose area reaches ${outside(elsewhere.areaCodes, publisher.jurisdiction).join(', ')}` : 'which has no area';
    return `it would change alert ${elsewhere.sender},${elsewhere.identifier}, ${where}, outside ${who}'s jurisdiction ${publisher.jurisdiction}`;
  }
  return undefined;
}
