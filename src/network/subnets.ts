/**
 * IPv4 subnet arithmetic for network records: parsing CIDRs, overlap checks against the
 * host's routes and other networks, and picking a free subnet from Berth's pool.
 */
import { InvalidArgumentError } from '../common/index.js';

/** A parsed IPv4 subnet: network address as a 32-bit number and its prefix length. */
export interface Ipv4Subnet {
  base: number;
  prefixLength: number;
}

/** `10.1.2.3` as an unsigned 32-bit number; undefined when not a dotted quad. */
export function parseIpv4(text: string): number | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let value = 0;
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part)) return undefined;
    const n = Number(part);
    if (n > 255) return undefined;
    value = value * 256 + n;
  }
  return value;
}

export function formatIpv4(value: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256).join('.');
}

function maskOf(prefixLength: number): number {
  return prefixLength === 0 ? 0 : (0xffffffff << (32 - prefixLength)) >>> 0;
}

/** Parse `a.b.c.d/n`; the address is reduced to its network address. Throws docker's wording on bad input. */
export function parseSubnet(text: string): Ipv4Subnet {
  const match = /^([\d.]+)\/(\d{1,2})$/.exec(text.trim());
  const address = match ? parseIpv4(match[1]!) : undefined;
  const prefixLength = match ? Number(match[2]) : NaN;
  if (address === undefined || !(prefixLength >= 0 && prefixLength <= 32)) {
    throw new InvalidArgumentError(`invalid CIDR address: ${text}`);
  }
  return { base: (address & maskOf(prefixLength)) >>> 0, prefixLength };
}

export function formatSubnet(subnet: Ipv4Subnet): string {
  return `${formatIpv4(subnet.base)}/${subnet.prefixLength}`;
}

/** Whether `address` lies inside `subnet`. */
export function contains(subnet: Ipv4Subnet, address: number): boolean {
  return ((address & maskOf(subnet.prefixLength)) >>> 0) === subnet.base;
}

/** Whether two subnets share any address. */
export function overlaps(a: Ipv4Subnet, b: Ipv4Subnet): boolean {
  const shorter = Math.min(a.prefixLength, b.prefixLength);
  const mask = maskOf(shorter);
  return ((a.base & mask) >>> 0) === ((b.base & mask) >>> 0);
}

/** The first host address of a subnet (docker's default gateway). */
export function firstHost(subnet: Ipv4Subnet): string {
  return formatIpv4(subnet.base + 1);
}

/**
 * Subnets Berth hands out when a network is created without one, in docker's order
 * (172.17-31/16, then 192.168.N.0/20 blocks).
 */
export function* candidateSubnets(): Generator<Ipv4Subnet> {
  for (let second = 17; second <= 31; second++) yield { base: parseIpv4(`172.${second}.0.0`)!, prefixLength: 16 };
  for (let third = 0; third < 256; third += 16) yield { base: parseIpv4(`192.168.${third}.0`)!, prefixLength: 20 };
}

/** The first candidate subnet that overlaps none of `taken`; undefined when the pool is exhausted. */
export function pickFreeSubnet(taken: readonly Ipv4Subnet[]): Ipv4Subnet | undefined {
  for (const candidate of candidateSubnets()) {
    if (!taken.some((t) => overlaps(t, candidate))) return candidate;
  }
  return undefined;
}
