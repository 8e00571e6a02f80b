/** The Linux bridges of Berth's networks: made with their gateway address, a pinned MAC and the network's rules; removed with them. */
import { readFile, writeFile } from 'node:fs/promises';
import { messageOf, type Logger } from '../common/index.js';
import { runCommand } from '../sys/index.js';
import { BridgeRules } from './bridge-rules.js';
import { IPv6UnavailableError } from './errors.js';
import { parseSubnet, type Ipv4Subnet } from './subnets.js';
import { parseSubnet6, type Ipv6Subnet } from './subnets6.js';
import type { NetworkRecord } from './types.js';

/** The bridge devices (and their iptables rules) of one berthd's networks. */
export class BridgeDevices {
  readonly #logger: Logger;
  readonly #rules = new BridgeRules('iptables');
  readonly #rules6 = new BridgeRules('ip6tables');
  readonly #pinned = new Set<string>();

  constructor(logger: Logger) {
    this.#logger = logger;
  }

  /** Whether the device `name` exists on the host. */
  async exists(name: string): Promise<boolean> {
    return name !== '' && (await runCommand('ip', ['link', 'show', name])).exitCode === 0;
  }

  /**
   * Make the bridge with its gateway address now rather than at the first CNI ADD: its route
   * then shows the subnet as taken to every other engine (or berthd) choosing one.
   */
  async ensure(record: NetworkRecord): Promise<void> {
    if (record.driver !== 'bridge' || record.bridgeName === '') return;
    if ((await runCommand('ip', ['link', 'show', record.bridgeName])).exitCode !== 0) {
      await runCommand('ip', ['link', 'add', 'name', record.bridgeName, 'address', bridgeMac(record.id), 'type', 'bridge']);
    }
    await this.pinMac(record);
    const prefix = record.subnet.split('/')[1] ?? '16';
    await runCommand('ip', ['addr', 'replace', `${record.gateway}/${prefix}`, 'dev', record.bridgeName]);
    if (record.ipv6) {
      // Per bridge only: IPv6 on this device (a host whose default disables it), its gateway without duplicate address detection.
      await writeFile(`/proc/sys/net/ipv6/conf/${record.bridgeName}/disable_ipv6`, '0').catch((err: unknown) => {
        throw new IPv6UnavailableError(`cannot enable IPv6 on bridge ${record.bridgeName}: ${messageOf(err)}`);
      });
      const prefix6 = record.ipv6.subnet.split('/')[1] ?? '64';
      const added = await runCommand('ip', ['-6', 'addr', 'replace', `${record.ipv6.gateway}/${prefix6}`, 'dev', record.bridgeName, 'nodad']);
      if (added.exitCode !== 0) throw new IPv6UnavailableError(`cannot give bridge ${record.bridgeName} its IPv6 gateway ${record.ipv6.gateway}: ${added.stderr.trim()}`);
    }
    await runCommand('ip', ['link', 'set', record.bridgeName, 'up']);
    await this.ensureRules(record);
  }

  /**
   * Give the bridge a fixed MAC address. Left to itself Linux gives a bridge the lowest MAC of
   * its ports, so when a container leaves the gateway's MAC can change under the others' ARP
   * caches and their packets to the gateway (the DNS responder) go nowhere until ARP expires.
   */
  async pinMac(record: NetworkRecord): Promise<void> {
    if (record.driver !== 'bridge' || record.bridgeName === '' || this.#pinned.has(record.bridgeName)) return;
    const assignType = await readFile(`/sys/class/net/${record.bridgeName}/addr_assign_type`, 'utf8').catch(() => '');
    // 3: set by user space already.
    if (assignType.trim() !== '3') await runCommand('ip', ['link', 'set', 'dev', record.bridgeName, 'address', bridgeMac(record.id)]);
    if (assignType !== '') this.#pinned.add(record.bridgeName);
  }

  /** The network's forwarding, isolation and masquerade rules (src/network/bridge-rules.ts); idempotent. */
  async ensureRules(record: NetworkRecord): Promise<void> {
    if (record.driver !== 'bridge' || record.bridgeName === '' || record.subnet === '') return;
    await this.#rules.ensure({ id: record.id, bridgeName: record.bridgeName, subnet: record.subnet, isInternal: record.isInternal });
    if (record.ipv6) await this.#rules6.ensure({ id: record.id, bridgeName: record.bridgeName, subnet: record.ipv6.subnet, isInternal: record.isInternal });
  }

  /** Whether this process made the network's rules already. */
  hasRules(networkId: string): boolean {
    return this.#rules.isEnsured(networkId);
  }

  /** Remove the network's rules only (its bridge was there before it). */
  async removeRules(record: NetworkRecord): Promise<void> {
    await this.#rules.remove(record.id);
    if (record.ipv6) await this.#rules6.remove(record.id);
  }

  /** Remove the network's rules and its bridge device. */
  async remove(record: NetworkRecord): Promise<void> {
    if (record.bridgeName === '') return;
    await this.removeRules(record).catch((err: unknown) =>
      this.#logger.warn('cannot remove the network\'s iptables rules', { network: record.name, error: messageOf(err) }),
    );
    await runCommand('ip', ['link', 'del', record.bridgeName, 'type', 'bridge']);
  }
}

/** A stable, locally administered unicast MAC for a network's bridge, from its id. */
export function bridgeMac(networkId: string): string {
  const hex = networkId.replace(/[^0-9a-f]/g, '').padEnd(10, '0');
  return ['02', hex.slice(0, 2), hex.slice(2, 4), hex.slice(4, 6), hex.slice(6, 8), hex.slice(8, 10)].join(':');
}

/** The host's IPv6 routes other than default, link-local and multicast ones: a new IPv6 subnet must not overlap them. */
export async function hostRoutes6(): Promise<Ipv6Subnet[]> {
  const result = await runCommand('ip', ['-6', '-j', 'route', 'show', 'table', 'all']);
  if (result.exitCode !== 0) return [];
  const routes = JSON.parse(result.stdout || '[]') as Array<{ dst?: string; type?: string }>;
  const out: Ipv6Subnet[] = [];
  for (const route of routes) {
    if (!route.dst || route.dst === 'default' || (route.type && route.type !== 'unicast')) continue;
    try {
      const subnet = parseSubnet6(route.dst.includes('/') ? route.dst : `${route.dst}/128`);
      // fe80::/10 and ff00::/8 are on every interface; ::1 is loopback.
      if (subnet.base >> 118n === 0x3fan || subnet.base >> 120n === 0xffn || subnet.base === 1n) continue;
      out.push(subnet);
    } catch {
      // Not an IPv6 CIDR: ignore.
    }
  }
  return out;
}

/** The host's IPv4 routes other than the default one: a new subnet must not overlap them. */
export async function hostRoutes(): Promise<Ipv4Subnet[]> {
  const result = await runCommand('ip', ['-4', '-j', 'route', 'show', 'table', 'all']);
  if (result.exitCode !== 0) return [];
  const routes = JSON.parse(result.stdout || '[]') as Array<{ dst?: string; type?: string }>;
  const out: Ipv4Subnet[] = [];
  for (const route of routes) {
    if (!route.dst || route.dst === 'default' || (route.type && route.type !== 'unicast')) continue;
    try {
      out.push(parseSubnet(route.dst.includes('/') ? route.dst : `${route.dst}/32`));
    } catch {
      // Not an IPv4 CIDR: ignore.
    }
  }
  return out;
}
