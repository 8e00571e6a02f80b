/**
 * IPv6 subnet arithmetic for network records: parsing and printing addresses (RFC 5952 form, as
 * Go's net.IP prints them), CIDRs, overlap checks, and the unique local /64s Berth hands out to
 * `--ipv6` networks created without a subnet (docker 27+ does the same from fd00::/8).
 */
import { createHash } from 'node:crypto';
import { InvalidArgumentError } from '../common/index.js';

/** A parsed IPv6 subnet: network address as a 128-bit number and its prefix length. */
export interface Ipv6Subnet {
  base: bigint;
  prefixLength: number;
}

const ALL_ONES = (1n << 128n) - 1n;

/** `fd00::1` as a 128-bit number; undefined when not an IPv6 address (no zone, no embedded IPv4). */
export function parseIpv6(text: string): bigint | undefined {
  if (!/^[0-9a-fA-F:]+$/.test(text) || text.length < 2) return undefined;
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const groupsOf = (part: string): string[] | undefined => {
    if (part === '') return [];
    const groups = part.split(':');
    return groups.every((g) => /^[0-9a-fA-F]{1,4}$/.test(g)) ? groups : undefined;
  };
  const head = groupsOf(halves[0]!);
  const tail = halves.length === 2 ? groupsOf(halves[1]!) : [];
  if (!head || !tail) return undefined;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return undefined;
  const groups = [...head, ...Array<string>(halves.length === 2 ? missing : 0).fill('0'), ...tail];
  return groups.reduce((value, group) => (value << 16n) | BigInt(parseInt(group, 16)), 0n);
}

/** RFC 5952: lower case, no leading zeros, the longest run (of two or more) of zero groups as `::`. */
export function formatIpv6(value: bigint): string {
  const groups = Array.from({ length: 8 }, (_, i) => Number((value >> BigInt(112 - 16 * i)) & 0xffffn));
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLength).join(':')}`;
}

function maskOf(prefixLength: number): bigint {
  return prefixLength === 0 ? 0n : (ALL_ONES << BigInt(128 - prefixLength)) & ALL_ONES;
}

/** Whether `text` looks like an IPv6 CIDR or address (has a colon): the family a subnet field is for. */
export function isIpv6Text(text: string): boolean {
  return text.includes(':');
}

/** Parse `fd00::/64`; the address is reduced to its network address. Throws on bad input. */
export function parseSubnet6(text: string): Ipv6Subnet {
  const match = /^([0-9a-fA-F:]+)\/(\d{1,3})$/.exec(text.trim());
  const address = match ? parseIpv6(match[1]!) : undefined;
  const prefixLength = match ? Number(match[2]) : NaN;
  if (address === undefined || !(prefixLength >= 0 && prefixLength <= 128)) {
    throw new InvalidArgumentError(`invalid CIDR address: ${text}`);
  }
  return { base: address & maskOf(prefixLength), prefixLength };
}

export function formatSubnet6(subnet: Ipv6Subnet): string {
  return `${formatIpv6(subnet.base)}/${subnet.prefixLength}`;
}

export function contains6(subnet: Ipv6Subnet, address: bigint): boolean {
  return (address & maskOf(subnet.prefixLength)) === subnet.base;
}

export function overlaps6(a: Ipv6Subnet, b: Ipv6Subnet): boolean {
  const mask = maskOf(Math.min(a.prefixLength, b.prefixLength));
  return (a.base & mask) === (b.base & mask);
}

/** The first host address of a subnet (docker's default gateway). */
export function firstHost6(subnet: Ipv6Subnet): string {
  return formatIpv6(subnet.base + 1n);
}

/** The last address of a subnet (host-local's rangeEnd for an ip range). */
export function lastAddress6(subnet: Ipv6Subnet): bigint {
  return subnet.base | (~maskOf(subnet.prefixLength) & ALL_ONES);
}

/**
 * The unique local /48 of one daemon (RFC 4193: fd00::/8 and a 40-bit global id), derived from
 * `seed` (the daemon's root) so it stays the same across restarts, as docker's comes from its host id.
 */
export function ulaPrefixOf(seed: string): Ipv6Subnet {
  const globalId = BigInt(`0x${createHash('sha256').update(seed).digest('hex').slice(0, 10)}`);
  return { base: ((0xfdn << 40n) | globalId) << 80n, prefixLength: 48 };
}

/** The first /64 of `pool` that overlaps none of `taken`; undefined when all 65536 are. */
export function pickFreeSubnet6(pool: Ipv6Subnet, taken: readonly Ipv6Subnet[]): Ipv6Subnet | undefined {
  for (let n = 0n; n < 1n << BigInt(64 - pool.prefixLength); n++) {
    const candidate = { base: pool.base | (n << 64n), prefixLength: 64 };
    if (!taken.some((t) => overlaps6(t, candidate))) return candidate;
  }
  return undefined;
}
