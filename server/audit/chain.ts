import { createHash } from 'node:crypto';
import { toWellFormedText } from '../http/input.ts';

/** The fields of an audit entry that its hash covers. */
export interface AuditFields {
  at: string | Date;
  actor: string;
  action: string;
  subject: string;
  jurisdiction: string;
  summary: unknown;
  requestId: string | null;
}

export const GENESIS_HASH = '0'.repeat(64);

/** JSON with object keys sorted, so the same entry hashes the same after a round trip through jsonb. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

const REPLACEMENT = '\uFFFD';

/**
 * A string as PostgreSQL stores and returns it. Text is sent as UTF-8, which has no form for a lone UTF-16
 * surrogate (the driver writes U+FFFD instead), and neither `text` nor `jsonb` holds U+0000 (`text` refuses
 * the byte, jsonb the `\u0000` escape: PostgreSQL docs §8.14). Both become U+FFFD here, as the Unicode
 * standard (§3.9, U+FFFD substitution) does for what cannot be encoded. U+2028 and U+2029 need nothing:
 * JSON.stringify writes them raw, jsonb keeps them, and they come back unchanged.
 */
export function storableText(text: string): string {
  return toWellFormedText(text).replaceAll('\u0000', REPLACEMENT);
}

/**
 * A value as it comes back from jsonb: what JSON.stringify would send (toJSON applied, so a Date becomes its
 * ISO string; undefined dropped from objects and null in arrays; NaN and Infinity null) with every string
 * and key made storable. Two keys that become the same keep the later one, as JSON.parse would.
 */
export function storableJson(value: unknown): unknown {
  const plain: unknown = JSON.parse(JSON.stringify(value) ?? 'null');
  return mapStrings(plain);
}

function mapStrings(value: unknown): unknown {
  if (typeof value === 'string') return storableText(value);
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map(mapStrings);
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[storableText(k)] = mapStrings(v);
  return out;
}

/**
 * The fields of an entry as they will be stored, so that what is hashed is what is kept: done once, before
 * the hash is taken, by `recordAudit`. Idempotent, so a stored entry reads back as itself.
 */
export function storableFields(fields: AuditFields): AuditFields & { at: string } {
  return {
    at: new Date(fields.at).toISOString(),
    actor: storableText(fields.actor),
    action: storableText(fields.action),
    subject: storableText(fields.subject),
    jurisdiction: storableText(fields.jurisdiction),
    summary: storableJson(fields.summary),
    requestId: fields.requestId === null ? null : storableText(fields.requestId),
  };
}

/**
 * sha256 over the previous entry's hash and this entry's fields. The fields must already be storable
 * (`storableFields`); the canonical text is unchanged from the first entries, so old chains still verify.
 */
export function entryHash(prevHash: string, fields: AuditFields): string {
  const { actor, action, subject, jurisdiction, summary, requestId } = fields;
  const covered = { at: new Date(fields.at).toISOString(), actor, action, subject, jurisdiction, summary, requestId };
  return createHash('sha256').update(prevHash).update('\n').update(canonicalJson(covered)).digest('hex');
}

export interface ChainRow extends AuditFields {
  seq: number;
  prevHash: string;
  hash: string;
}

export interface BrokenLink {
  seq: number;
  reason: string;
}

export interface ChainCheck {
  ok: boolean;
  /** Entries checked. */
  entries: number;
  /** Every broken link, in order (at most `MAX_LISTED`); `brokenCount` counts them all. */
  broken: BrokenLink[];
  brokenCount: number;
}

/** A trail rewritten wholesale would list every entry; past this many the count says the rest. */
export const MAX_LISTED = 1000;

export interface ChainState {
  prevHash: string;
  entries: number;
  broken: BrokenLink[];
  brokenCount: number;
}

export const chainStart = (): ChainState => ({ prevHash: GENESIS_HASH, entries: 0, broken: [], brokenCount: 0 });

/**
 * Walks the chain in order and names every broken link. After a break it goes on from the entry's stored
 * hash, so one changed entry is reported once and an entry changed later is not hidden behind it: a changed
 * entry fails its own hash, a deleted or inserted one makes the next entry's previous hash differ.
 */
export function verifyChain(rows: Iterable<ChainRow>, state: ChainState = chainStart()): ChainState {
  let { prevHash, entries, brokenCount } = state;
  const broken = [...state.broken];
  const report = (seq: number, reason: string) => {
    brokenCount++;
    if (broken.length < MAX_LISTED) broken.push({ seq, reason });
  };
  for (const row of rows) {
    const follows = row.prevHash === prevHash;
    const intact = entryHash(row.prevHash, row) === row.hash;
    if (!follows && !intact) report(row.seq, 'was changed after it was written and does not follow the entry before it');
    else if (!follows) report(row.seq, 'does not follow the entry before it (its previous hash differs: an entry before it was deleted or inserted)');
    else if (!intact) report(row.seq, 'was changed after it was written (its hash does not match its content)');
    prevHash = row.hash;
    entries++;
  }
  return { prevHash, entries, broken, brokenCount };
}
