import { createHash, hash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/**
 * The key of the dedup hash (triggers/dedup.ts explains the netting). A household's dedup key is
 * HMAC-SHA256(key, the head's CNIC as 13 digits): the same family listed in NSER and in PSER is one key,
 * and the reservations that guard "one top-up per incident and purpose" hold no CNIC. Every replica must use
 * the same key (MADAD_DEDUP_KEY), or two servers would not see each other's reservations.
 */
export interface DedupKey {
  /** Where the key came from, for the start-up log (never the key itself). */
  origin: 'configured' | 'data folder' | 'generated for this process';
  of(cnic: string): string;
}

export class DedupKeyError extends Error {}

/** The CNIC as its 13 digits: `42101-1234567-1` and `4210112345671` are one person. */
export function cnicDigits(cnic: string): string {
  return cnic.replace(/\D/g, '');
}

export function dedupKey(secret: Buffer | string, origin: DedupKey['origin']): DedupKey {
  const key = typeof secret === 'string' ? Buffer.from(secret, 'utf8') : secret;
  if (key.length < 32) throw new DedupKeyError('MADAD_DEDUP_KEY must be at least 32 characters (e.g. `openssl rand -base64 48`).');
  return { origin, of: hmacSha256(key) };
}

/** SHA-256's block: an HMAC key longer than this is hashed first (RFC 2104, section 2). */
const BLOCK = 64;
/** The longest message `hmacSha256` writes into its block; a longer one is hashed as a whole. */
const MESSAGE = 64;

/**
 * HMAC-SHA256 (RFC 2104) of short messages, base64url: the key's inner and outer blocks are made once and
 * each message costs two one-shot hashes. A batch build computes millions of these, and `createHmac` spent
 * most of its time making a keyed object per message.
 */
function hmacSha256(secret: Buffer): (cnic: string) => string {
  const key = secret.length > BLOCK ? createHash('sha256').update(secret).digest() : secret;
  const inner = Buffer.alloc(BLOCK + MESSAGE, 0x36);
  const outer = Buffer.alloc(BLOCK + 32, 0x5c);
  for (let i = 0; i < key.length; i++) {
    inner[i]! ^= key[i]!;
    outer[i]! ^= key[i]!;
  }
  return (cnic) => {
    const digits = cnicDigits(cnic);
    const n = Buffer.byteLength(digits);
    const message = n <= MESSAGE ? (inner.write(digits, BLOCK), inner.subarray(0, BLOCK + n)) : Buffer.concat([inner.subarray(0, BLOCK), Buffer.from(digits)]);
    hash('sha256', message, 'buffer').copy(outer, BLOCK);
    return hash('sha256', outer, 'base64url');
  };
}

const KEY_FILE = 'dedup.key';
/** An in-memory database's key: one per process, so every part of the process agrees. */
let processKey: DedupKey | undefined;

/**
 * The key in force: MADAD_DEDUP_KEY when set. Without it, the embedded database keeps one in its data folder,
 * written on first start (owner-only), so a restart reuses it; an in-memory database gets one for the process.
 * A PostgreSQL server has replicas and backups elsewhere: it must be given the key, so none is invented.
 */
export function resolveDedupKey(options: { configured?: string; dataDir?: string; driver: 'pglite' | 'postgres' }): DedupKey {
  if (options.configured) return dedupKey(options.configured, 'configured');
  if (options.driver === 'postgres')
    throw new DedupKeyError('Set MADAD_DEDUP_KEY (at least 32 characters, the same on every server) to build batches on PostgreSQL.');
  if (!options.dataDir) return (processKey ??= dedupKey(randomBytes(32), 'generated for this process'));
  const file = path.join(options.dataDir, KEY_FILE);
  if (!existsSync(file)) writeFileSync(file, randomBytes(48).toString('base64url'), { mode: 0o600, flag: 'wx' });
  return dedupKey(readFileSync(file, 'utf8').trim(), 'data folder');
}
