/** The CNI config lists a container joins a Berth network with, now and as Berth wrote them before per-network rules. */
import { formatIpv4, parseSubnet } from './subnets.js';
import { formatIpv6, lastAddress6, parseSubnet6 } from './subnets6.js';
import type { CniConfigList } from './cni.js';
import type { NetworkRecord } from './types.js';

/** The CNI network name of a record (host-local keeps its leases under it). */
export function cniNameOf(record: NetworkRecord): string {
  return `berth-${record.id.slice(0, 12)}`;
}

/**
 * The config list a container joins `record` with: the bridge plugin without `ipMasq` and no
 * firewall plugin (the network's own rules, made once, do their work), and portmap only when
 * the container publishes ports (without any it would only cost a process on each ADD and DEL).
 * An IPv6 network adds a second host-local range; its bridge gets its gateway addresses from
 * Berth (bridge-devices.ts), not from the plugin, whose `isGateway` would also turn on the
 * host-wide net.ipv6.conf.all.forwarding.
 */
export function conflistFor(record: NetworkRecord, withPorts: boolean, ipamDir: string): CniConfigList {
  const range: Record<string, string> = { subnet: record.subnet, gateway: record.gateway };
  if (record.ipRange !== '') {
    const ipRange = parseSubnet(record.ipRange);
    range['rangeStart'] = formatIpv4(ipRange.base + 1);
    range['rangeEnd'] = formatIpv4(ipRange.base + 2 ** (32 - ipRange.prefixLength) - 2);
  }
  const ranges: Array<Array<Record<string, string>>> = [[range]];
  const routes: Array<{ dst: string }> = record.isInternal ? [] : [{ dst: '0.0.0.0/0' }];
  if (record.ipv6) {
    const range6: Record<string, string> = { subnet: record.ipv6.subnet, gateway: record.ipv6.gateway };
    if (record.ipv6.ipRange !== '') {
      const ipRange = parseSubnet6(record.ipv6.ipRange);
      range6['rangeStart'] = formatIpv6(ipRange.base + 1n);
      range6['rangeEnd'] = formatIpv6(lastAddress6(ipRange));
    }
    ranges.push([range6]);
    if (!record.isInternal) routes.push({ dst: '::/0' });
  }
  const mtu = Number(record.options['com.docker.network.driver.mtu'] ?? 0);
  return {
    cniVersion: '1.0.0',
    name: cniNameOf(record),
    plugins: [
      {
        type: 'bridge',
        bridge: record.bridgeName,
        isGateway: record.ipv6 === undefined,
        ipMasq: false,
        hairpinMode: true,
        ...(mtu > 0 ? { mtu } : {}),
        ipam: {
          type: 'host-local',
          ranges,
          routes,
          dataDir: ipamDir,
        },
      },
      ...(withPorts ? [{ type: 'portmap', capabilities: { portMappings: true }, snat: true }] : []),
    ],
  };
}

/**
 * What Berth before per-network rules joined a container with (bridge `ipMasq` on a
 * non-internal network, the firewall plugin after portmap): the list to DEL such an endpoint with.
 */
export function legacyConflist(current: CniConfigList, isInternal: boolean): CniConfigList {
  return {
    ...current,
    plugins: [...current.plugins.map((p) => (p.type === 'bridge' ? { ...p, ipMasq: !isInternal } : p)), { type: 'firewall', backend: 'iptables' }],
  };
}
