import { and, eq, isNull, lt, lte, or, sql, type SQL } from 'drizzle-orm';
import { isIPv4, isIPv6 } from 'node:net';
import type { Db } from '../db/client.ts';
import { loginThrottle } from '../db/schema/index.ts';
import { TooManyRequestsError } from '../errors.ts';

/**
 * Failed sign-ins, counted in the database (`login_throttle`), so parallel attempts and several replicas
 * count as one. Two keys, as OWASP's Authentication and Credential Stuffing cheat sheets advise:
 *
 * - `account:<username>|<address>` backs off one username from one address. Keyed by the address too, so
 *   nobody can lock an account (an admin's included) for everyone else by failing on purpose.
 * - `address:<address>` limits failures from one address across all usernames (a spray, credential stuffing).
 *
 * Both are kept whether or not the username exists, so the answers say nothing about which usernames do.
 * Each attempt is claimed before its password is checked, in one `insert … on conflict … do update …
 * returning`: a burst of parallel attempts is counted one by one, and those past a limit are refused without
 * checking a password. A sign-in that succeeds gives its claims back.
 */

/** After the 3rd failure of a username from an address, wait 2 s; after the 4th, 4 s; from the 5th, 15 minutes. */
export const ACCOUNT_LOCK_AFTER = 5;
export const ACCOUNT_LOCK_SECONDS = 15 * 60;
/** An account's count starts again a day after its first failure. */
export const ACCOUNT_WINDOW_SECONDS = 24 * 3600;
/** At most this many failed sign-ins from one address in ADDRESS_WINDOW_SECONDS, whatever the usernames. */
export const ADDRESS_LIMIT = 50;
export const ADDRESS_WINDOW_SECONDS = 15 * 60;

/** Seconds to wait after the `failures`-th failure of one username from one address. */
export function accountWait(failures: number): number {
  if (failures >= ACCOUNT_LOCK_AFTER) return ACCOUNT_LOCK_SECONDS;
  if (failures >= 3) return 2 ** (failures - 2);
  return 0;
}

/**
 * The network an address stands for: an IPv4 address as it is (also when written IPv4-mapped, `::ffff:a.b.c.d`,
 * as a dual-stack socket gives it), an IPv6 address by its /64, the smallest block a host is usually given
 * (RFC 6177), so that walking the addresses of one's own /64 does not escape the limit.
 */
export function addressNetwork(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped && isIPv4(mapped[1]!)) return mapped[1]!;
  if (!isIPv6(address)) return address;
  const [head = '', tail = ''] = address.split('%')[0]!.split('::');
  const left = head ? head.split(':') : [];
  const right = address.includes('::') && tail ? tail.split(':') : [];
  const groups = address.includes('::') ? [...left, ...Array(8 - left.length - right.length).fill('0'), ...right] : left;
  return `${groups
    .slice(0, 4)
    .map((g) => parseInt(g, 16).toString(16))
    .join(':')}::/64`;
}

export interface SignInClaim {
  accountKey: string;
  addressKey: string;
  /** Failures of this username from this address, this attempt included. */
  failures: number;
  /** Seconds this username must wait, from this address, after this attempt if it fails. */
  waitSeconds: number;
}

const at = (d: Date) => sql`${d.toISOString()}::timestamptz`;
const plus = (d: Date, seconds: number) => new Date(d.getTime() + seconds * 1000);
/** Our own integer constants, written into the SQL so that PostgreSQL types the CASE as a number, not text. */
const num = (n: number) => sql.raw(String(Math.trunc(n)));

/**
 * Counts one attempt against `key`, unless the key is waiting: returns the count with this attempt, or
 * undefined when refused. ON CONFLICT's SET sees the row as it was, so the new count and window start are
 * written once here as SQL and handed to `lock`, which says until when the key must wait after this attempt.
 * A first attempt never waits (both policies allow more than one).
 */
async function claimKey(db: Db, key: string, now: Date, windowSeconds: number, lock: (failures: SQL, windowStart: SQL) => SQL) {
  const stale = sql`${loginThrottle.windowStartedAt} <= ${at(plus(now, -windowSeconds))}`;
  const failures = sql`(case when ${stale} then 1 else ${loginThrottle.failures} + 1 end)`;
  const windowStart = sql`(case when ${stale} then ${at(now)} else ${loginThrottle.windowStartedAt} end)`;
  const [row] = await db
    .insert(loginThrottle)
    .values({ key, failures: 1, windowStartedAt: now, lockedUntil: null, updatedAt: now })
    .onConflictDoUpdate({
      target: loginThrottle.key,
      set: { failures, windowStartedAt: windowStart, lockedUntil: lock(failures, windowStart), updatedAt: now },
      setWhere: or(isNull(loginThrottle.lockedUntil), lte(loginThrottle.lockedUntil, now)),
    })
    .returning({ failures: loginThrottle.failures });
  return row?.failures;
}

/** Seconds until `key` may try again, for the refusal's Retry-After. */
async function waitOf(db: Db, key: string, now: Date): Promise<number> {
  const [row] = await db.select({ lockedUntil: loginThrottle.lockedUntil }).from(loginThrottle).where(eq(loginThrottle.key, key));
  return Math.max(1, Math.ceil(((row?.lockedUntil?.getTime() ?? now.getTime()) - now.getTime()) / 1000));
}

/**
 * Claims one sign-in attempt of `username` from `address`, before its password is checked. Throws
 * TooManyRequestsError (with the same words whether the username exists or not) when the address or the
 * username from this address must wait. A refused attempt still counts against the address.
 */
export async function claimSignIn(db: Db, username: string, address: string, now: Date): Promise<SignInClaim> {
  const network = addressNetwork(address);
  const addressKey = `address:${network}`;
  const accountKey = `account:${username}|${network}`;

  const addressLock = (failures: SQL, windowStart: SQL) =>
    sql`(case when ${failures} >= ${num(ADDRESS_LIMIT)} then ${windowStart} + make_interval(secs => ${num(ADDRESS_WINDOW_SECONDS)}) else null end)`;
  if ((await claimKey(db, addressKey, now, ADDRESS_WINDOW_SECONDS, addressLock)) === undefined) {
    const wait = await waitOf(db, addressKey, now);
    throw new TooManyRequestsError(`Too many failed sign-ins from your address. Try again in ${wait} seconds.`, wait);
  }

  // The wait after the n-th failure, as SQL: accountWait(1..ACCOUNT_LOCK_AFTER) spelled out, then the lock.
  const waits = Array.from({ length: ACCOUNT_LOCK_AFTER - 1 }, (_, i) => sql` when ${num(i + 1)} then ${num(accountWait(i + 1))}`);
  const accountLock = (failures: SQL) =>
    sql`${at(now)} + make_interval(secs => (case ${failures}${sql.join(waits)} else ${num(ACCOUNT_LOCK_SECONDS)} end))`;
  const failures = await claimKey(db, accountKey, now, ACCOUNT_WINDOW_SECONDS, accountLock);
  if (failures === undefined) {
    const wait = await waitOf(db, accountKey, now);
    throw new TooManyRequestsError(`Too many failed sign-ins for this username from your address. Try again in ${wait} seconds.`, wait);
  }
  return { accountKey, addressKey, failures, waitSeconds: accountWait(failures) };
}

/** A sign-in succeeded: the username starts afresh from this address, and the address gets its claim back. */
export async function releaseSignIn(db: Db, claim: SignInClaim): Promise<void> {
  await db.delete(loginThrottle).where(eq(loginThrottle.key, claim.accountKey));
  await db
    .update(loginThrottle)
    .set({
      failures: sql`greatest(${loginThrottle.failures} - 1, 0)`,
      lockedUntil: sql`(case when ${loginThrottle.failures} - 1 >= ${num(ADDRESS_LIMIT)} then ${loginThrottle.lockedUntil} else null end)`,
    })
    .where(eq(loginThrottle.key, claim.addressKey));
}

/** Forgets counts whose window has passed and that hold no wait; run with the session purge. */
export async function purgeLoginThrottle(db: Db, now: Date): Promise<void> {
  await db
    .delete(loginThrottle)
    .where(
      and(
        lt(loginThrottle.updatedAt, plus(now, -Math.max(ACCOUNT_WINDOW_SECONDS, ADDRESS_WINDOW_SECONDS))),
        or(isNull(loginThrottle.lockedUntil), lte(loginThrottle.lockedUntil, now)),
      ),
    );
}
