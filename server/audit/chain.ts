import { createHash } from 'node:crypto';

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

/** sha256 over the previous entry's hash and this entry's fields. */
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

export type ChainCheck = { ok: true; entries: number } | { ok: false; entries: number; brokenAt: number; reason: string };

/** Walks the chain in order and names the first broken link. */
export function verifyChain(rows: Iterable<ChainRow>, start: { prevHash: string; entries: number } = { prevHash: GENESIS_HASH, entries: 0 }): ChainCheck & { lastHash: string } {
  let prev = start.prevHash;
  let entries = start.entries;
  for (const row of rows) {
    if (row.prevHash !== prev) {
      return { ok: false, entries, brokenAt: row.seq, reason: `entry ${row.seq} does not follow the entry before it (previous hash differs)`, lastHash: prev };
    }
    if (entryHash(prev, row) !== row.hash) {
      return { ok: false, entries, brokenAt: row.seq, reason: `entry ${row.seq} was changed after it was written (its hash does not match its content)`, lastHash: prev };
    }
    prev = row.hash;
    entries++;
  }
  return { ok: true, entries, lastHash: prev };
}
