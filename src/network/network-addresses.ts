/**
 * The address side of networks: choosing a network's IPv4 and IPv6 subnets (free of the host's
 * routes and of every other network) and checking the gateway, range and container addresses a
 * user asks for, with docker's wording, before anything is made.
 */
import { readFile } from 'node:fs/promises';
import { InvalidArgumentError } from '../common/index.js';
import { hostRoutes, hostRoutes6 } from './bridge-devices.js';
import { InvalidAddressError, IPv6UnavailableError, NoFreeSubnetError, SubnetOverlapError } from './errors.js';
import { contains, firstHost, formatSubnet, overlaps, parseIpv4, parseSubnet, pickFreeSubnet, type Ipv4Subnet } from './subnets.js';
import { contains6, firstHost6, formatIpv6, formatSubnet6, overlaps6, parseIpv6, parseSubnet6, pickFreeSubnet6, ulaPrefixOf, type Ipv6Subnet } from './subnets6.js';
import type { Ipv6Config, NetworkCreateRequest, NetworkRecord } from './types.js';

/** `requested` if it overlaps no route of the host and no network of `records`, else the first free subnet of the pool. */
export async function chooseSubnet(records: readonly NetworkRecord[], requested: Ipv4Subnet | undefined): Promise<Ipv4Subnet> {
  const taken = [...(await hostRoutes()), ...records.filter((r) => r.subnet !== '').map((r) => parseSubnet(r.subnet))];
  if (requested) {
    if (taken.some((t) => overlaps(t, requested))) throw new SubnetOverlapError();
    return requested;
  }
  const free = pickFreeSubnet(taken);
  if (!free) throw new NoFreeSubnetError();
  return free;
}

/** The IPv4 side of a create request (subnet, gateway, range) checked before anything is made. */
export async function ipv4ConfigOf(request: NetworkCreateRequest, records: readonly NetworkRecord[]): Promise<{ subnet: string; gateway: string }> {
  const requested = request.subnet === '' ? undefined : parseSubnet(request.subnet);
  const subnet = await chooseSubnet(records, requested);
  let gateway = firstHost(subnet);
  if (request.gateway !== '') {
    const address = parseIpv4(request.gateway);
    if (address === undefined || !contains(subnet, address)) throw new InvalidAddressError(`no matching subnet for gateway ${request.gateway}`);
    gateway = request.gateway;
  }
  if (request.ipRange !== '') {
    const range = parseSubnet(request.ipRange);
    if (!contains(subnet, range.base)) throw new InvalidAddressError(`no matching subnet for range ${request.ipRange}`);
  }
  return { subnet: formatSubnet(subnet), gateway };
}

/**
 * The IPv6 side of a create request, checked (docker's wording) before anything is made;
 * undefined without EnableIPv6. A subnet left to Berth is a /64 of the daemon root's unique local /48.
 */
export async function ipv6ConfigOf(request: NetworkCreateRequest, records: readonly NetworkRecord[], root: string): Promise<Ipv6Config | undefined> {
  if (!request.enableIPv6) {
    if (request.ipv6Subnet !== '') throw new InvalidArgumentError(`IPv6 subnet ${request.ipv6Subnet} given without --ipv6 (EnableIPv6): berth does not ignore it`);
    return undefined;
  }
  const disabled = await readFile('/proc/sys/net/ipv6/conf/all/disable_ipv6', 'utf8').catch(() => undefined);
  if (disabled === undefined) throw new IPv6UnavailableError('cannot create an IPv6 network: this host\'s kernel has no IPv6');
  if (disabled.trim() !== '0') throw new IPv6UnavailableError('cannot create an IPv6 network: IPv6 is disabled on this host (net.ipv6.conf.all.disable_ipv6=1)');
  const requested = request.ipv6Subnet === '' ? undefined : parseSubnet6(request.ipv6Subnet);
  const subnet = await chooseSubnet6(records, root, requested);
  let gateway = firstHost6(subnet);
  if (request.ipv6Gateway !== '') {
    const address = parseIpv6(request.ipv6Gateway);
    if (address === undefined || !contains6(subnet, address)) throw new InvalidAddressError(`no matching subnet for gateway ${request.ipv6Gateway}`);
    gateway = formatIpv6(address);
  }
  let ipRange = '';
  if (request.ipv6IpRange !== '') {
    const range = parseSubnet6(request.ipv6IpRange);
    if (!contains6(subnet, range.base) || range.prefixLength < subnet.prefixLength) throw new InvalidAddressError(`no matching subnet for range ${request.ipv6IpRange}`);
    ipRange = formatSubnet6(range);
  }
  return { subnet: formatSubnet6(subnet), gateway, ipRange };
}

async function chooseSubnet6(records: readonly NetworkRecord[], root: string, requested: Ipv6Subnet | undefined): Promise<Ipv6Subnet> {
  const taken = [...(await hostRoutes6()), ...records.flatMap((r) => (r.ipv6 ? [parseSubnet6(r.ipv6.subnet)] : []))];
  if (requested) {
    if (taken.some((t) => overlaps6(t, requested))) throw new SubnetOverlapError();
    return requested;
  }
  const free = pickFreeSubnet6(ulaPrefixOf(root), taken);
  if (!free) throw new NoFreeSubnetError();
  return free;
}

/** Check a container's `--ip`/`--ip6` on `record` with docker's wording; '' asks for nothing. */
export function checkEndpointAddresses(record: NetworkRecord, ipv4Address: string, ipv6Address: string): void {
  if (ipv4Address !== '') {
    const address = parseIpv4(ipv4Address);
    if (address === undefined) throw new InvalidAddressError(`invalid IPv4 address: ${ipv4Address}`);
    if (record.isPredefined) throw new InvalidAddressError('user specified IP address is supported on user defined networks only');
    if (!contains(parseSubnet(record.subnet), address)) throw new InvalidAddressError(`no configured subnet or ip-range contain the IP address ${ipv4Address}`);
  }
  if (ipv6Address !== '') {
    const address = parseIpv6(ipv6Address);
    if (address === undefined) throw new InvalidAddressError(`invalid IPv6 address: ${ipv6Address}`);
    if (record.isPredefined) throw new InvalidAddressError('user specified IP address is supported on user defined networks only');
    if (!record.ipv6) throw new InvalidAddressError('user specified IP address is supported only when connecting to networks with user configured subnets');
    if (!contains6(parseSubnet6(record.ipv6.subnet), address)) throw new InvalidAddressError(`no configured subnet or ip-range contain the IP address ${ipv6Address}`);
  }
}
