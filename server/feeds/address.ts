import { lookup } from 'node:dns/promises';
import type { LookupAddress, LookupAllOptions, LookupOneOptions } from 'node:dns';
import { BlockList, isIP } from 'node:net';

/**
 * Which hosts a feed may be fetched from. A feed URL is given by an admin, but its host may resolve (or be
 * made to resolve, or redirect) to the server's own network: the loopback, a cloud's metadata address, a
 * database on the private network. Such addresses are refused unless allowed: `true` allows every address,
 * a list allows those host names (an internal mirror of a public feed, say) to resolve privately.
 */
export type PrivateAddressPolicy = boolean | readonly string[];

/**
 * Addresses that are not the public internet: IANA's special-purpose registries (RFC 6890 and updates),
 * less the few that are globally reachable. Checked against IPv4-mapped IPv6 addresses too (`::ffff:a.b.c.d`),
 * which BlockList matches to the IPv4 rules.
 */
const NOT_PUBLIC = new BlockList();
for (const [network, prefix] of [
  ['0.0.0.0', 8], // "this network" (RFC 791); 0.0.0.0 reaches the host itself on Linux
  ['10.0.0.0', 8], // private (RFC 1918)
  ['100.64.0.0', 10], // carrier-grade NAT (RFC 6598)
  ['127.0.0.0', 8], // loopback
  ['169.254.0.0', 16], // link-local (RFC 3927), where clouds serve instance metadata
  ['172.16.0.0', 12], // private (RFC 1918)
  ['192.0.0.0', 24], // IETF protocol assignments (RFC 6890)
  ['192.0.2.0', 24], // documentation (RFC 5737)
  ['192.168.0.0', 16], // private (RFC 1918)
  ['198.18.0.0', 15], // benchmarking (RFC 2544)
  ['198.51.100.0', 24], // documentation
  ['203.0.113.0', 24], // documentation
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, and the broadcast address
] as const) {
  NOT_PUBLIC.addSubnet(network, prefix, 'ipv4');
}
for (const [network, prefix] of [
  ['::', 96], // unspecified (::), loopback (::1) and the deprecated IPv4-compatible addresses
  ['64:ff9b:1::', 48], // local-use NAT64 (RFC 8215)
  ['100::', 64], // discard (RFC 6666)
  ['2001:db8::', 32], // documentation (RFC 3849)
  ['fc00::', 7], // unique local (RFC 4193)
  ['fe80::', 10], // link-local
  ['fec0::', 10], // site-local, deprecated (RFC 3879)
  ['ff00::', 8], // multicast
] as const) {
  NOT_PUBLIC.addSubnet(network, prefix, 'ipv6');
}

/** The IPv4 address inside a NAT64 (64:ff9b::/96, RFC 6052) or 6to4 (2002::/16, RFC 3056) address, if any. */
function embeddedIPv4(address: string): string | undefined {
  const nat64 = /^64:ff9b::(?:(\d+\.\d+\.\d+\.\d+)|([0-9a-f]{1,4}):([0-9a-f]{1,4}))$/i.exec(address);
  if (nat64) return nat64[1] ?? hexToIPv4(nat64[2]!, nat64[3]!);
  const sixToFour = /^2002:([0-9a-f]{1,4}):([0-9a-f]{1,4})(?::|$)/i.exec(address);
  return sixToFour ? hexToIPv4(sixToFour[1]!, sixToFour[2]!) : undefined;
}

function hexToIPv4(high: string, low: string): string {
  const h = parseInt(high, 16);
  const l = parseInt(low, 16);
  return [h >> 8, h & 255, l >> 8, l & 255].join('.');
}

/** Whether `address` (an IP address, as DNS or a URL gives it) lies outside the public internet. */
export function isPrivateAddress(address: string): boolean {
  const bare = address.replace(/^\[|\]$/g, '').split('%')[0]!;
  const family = isIP(bare);
  if (family === 0) return true; // not an address at all: nothing to connect to safely
  if (family === 4) return NOT_PUBLIC.check(bare, 'ipv4');
  if (NOT_PUBLIC.check(bare, 'ipv6')) return true;
  const inner = embeddedIPv4(bare.toLowerCase());
  return inner !== undefined && NOT_PUBLIC.check(inner, 'ipv4');
}

/** A feed's host is, or resolves to, an address the policy refuses. */
export class PrivateAddressError extends Error {
  override name = 'PrivateAddressError';
  constructor(
    readonly host: string,
    readonly address: string,
  ) {
    super(
      `${host === address ? host : `${host} resolves to ${address}, which`} is not a public internet address; feeds are not fetched from ` +
        'the server\'s own or private networks unless MADAD_FEEDS_ALLOW_PRIVATE allows it',
    );
  }
}

function allows(policy: PrivateAddressPolicy, host: string): boolean {
  return policy === true || (Array.isArray(policy) && policy.includes(host.toLowerCase()));
}

/** Refuses a URL whose host is an IP address the policy does not allow (those are connected to without DNS). */
export function checkLiteralHost(url: URL, policy: PrivateAddressPolicy): void {
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (isIP(host) && isPrivateAddress(host) && !allows(policy, host)) throw new PrivateAddressError(host, host);
}

type LookupCallback = (error: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/**
 * A `lookup` for node:http's request: resolves every address of the host (`dns.lookup` with `all`, as the
 * connection itself would), refuses the host if any of them is not public, and hands the connection the
 * addresses it checked. The connection is made to an address this function checked, with no second
 * resolution in between, so a DNS answer that changes after the check (DNS rebinding) cannot slip in.
 * Refusing when any address is private, not only the one chosen, keeps a host that mixes both from being
 * retried against its private one.
 */
export function guardedLookup(policy: PrivateAddressPolicy) {
  return (hostname: string, options: LookupOneOptions | LookupAllOptions, callback: LookupCallback): void => {
    lookup(hostname, { all: true, family: options.family ?? 0, hints: options.hints ?? 0 }).then(
      (addresses) => {
        if (!allows(policy, hostname)) {
          const bad = addresses.find((a) => isPrivateAddress(a.address));
          if (bad) return callback(Object.assign(new PrivateAddressError(hostname, bad.address), { code: 'EPRIVATE' }), []);
        }
        if (options.all) return callback(null, addresses);
        const [first] = addresses;
        return first ? callback(null, first.address, first.family) : callback(Object.assign(new Error(`${hostname} has no address`), { code: 'ENOTFOUND' }), []);
      },
      (error: NodeJS.ErrnoException) => callback(error, []),
    );
  };
}
