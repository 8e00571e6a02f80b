/** The CNI config lists a container joins a Berth network with, now and as Berth wrote them before per-network rules. */
import { formatIpv4, parseSubnet } from './subnets.js';
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
 */
export function conflistFor(record: NetworkRecord, withPorts: boolean, ipamDir: string): CniConfigList {
  const range: Record<string, string> = { subnet: record.subnet, gateway: record.gateway };
  if (record.ipRange !== '') {
    const ipRange = parseSubnet(record.ipRange);
    range['rangeStart'] = formatIpv4(ipRange.base + 1);
    range['rangeEnd'] = formatIpv4(ipRange.base + 2 ** (32 - ipRange.prefixLength) - 2);
  }
  const mtu = Number(record.options['com.docker.network.driver.mtu'] ?? 0);
  return {
    cniVersion: '1.0.0',
    name: cniNameOf(record),
    plugins: [
      {
        type: 'bridge',
        bridge: record.bridgeName,
        isGateway: true,
        ipMasq: false,
        hairpinMode: true,
        ...(mtu > 0 ? { mtu } : {}),
        ipam: {
          type: 'host-local',
          ranges: [[range]],
          routes: record.isInternal ? [] : [{ dst: '0.0.0.0/0' }],
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
