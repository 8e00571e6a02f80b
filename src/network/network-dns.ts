/** The DNS responders of user-defined networks, one on each network's gateway address, answering from the live endpoints. */
import { readFile } from 'node:fs/promises';
import { messageOf, type Logger } from '../common/index.js';
import { DnsResponder, upstreamsFromResolvConf, type DnsRecords } from './dns-responder.js';
import type { NetworkStore } from './network-store.js';
import { contains, parseIpv4, parseSubnet } from './subnets.js';
import { contains6, parseIpv6, parseSubnet6 } from './subnets6.js';
import type { NetworkRecord } from './types.js';

/** One responder per user-defined bridge network, by network id. */
export class NetworkDns {
  readonly #store: NetworkStore;
  readonly #logger: Logger;
  readonly #responders = new Map<string, DnsResponder>();

  constructor(store: NetworkStore, logger: Logger) {
    this.#store = store;
    this.#logger = logger;
  }

  /**
   * Start the network's DNS responder on its gateway address unless it runs (the default
   * `bridge` network has none, as docker's). A failure to bind is logged, not fatal: names
   * then do not resolve, but containers still run.
   */
  async start(record: NetworkRecord): Promise<void> {
    if (record.driver !== 'bridge' || record.isPredefined || record.gateway === '' || this.#responders.has(record.id)) return;
    const resolvConf = await readFile('/etc/resolv.conf', 'utf8').catch(() => '');
    try {
      const responder = await DnsResponder.start({ address: record.gateway, records: this.#recordsOf(record.id), upstreams: upstreamsFromResolvConf(resolvConf), logger: this.#logger });
      this.#responders.set(record.id, responder);
    } catch (err) {
      this.#logger.warn('cannot start the DNS responder', { network: record.name, address: record.gateway, error: messageOf(err) });
    }
  }

  async stop(networkId: string): Promise<void> {
    const responder = this.#responders.get(networkId);
    this.#responders.delete(networkId);
    await responder?.close();
  }

  async stopAll(): Promise<void> {
    for (const id of [...this.#responders.keys()]) await this.stop(id);
  }

  /** Names on a network read live from its endpoints: container name, aliases and short id, case-insensitive. */
  #recordsOf(networkId: string): DnsRecords {
    const store = this.#store;
    return {
      addressesOf: (name) => {
        const named = store.endpointsOf(networkId)
          .filter(({ containerId, endpoint }) => endpoint.ipAddress !== '' && [endpoint.containerName, ...endpoint.aliases, containerId.slice(0, 12)].some((n) => n.toLowerCase() === name))
          .map(({ endpoint }) => endpoint);
        // AAAA answers on IPv6 networks; elsewhere an empty answer (the name exists, with no IPv6 address), as docker's.
        return named.length > 0 ? { ipv4: named.map((e) => e.ipAddress), ipv6: named.flatMap((e) => (e.ipv6Address ? [e.ipv6Address] : [])) } : undefined;
      },
      namesOf: (address) => {
        const names = store.endpointsOf(networkId)
          .filter(({ endpoint }) => isAddressOf(endpoint, address))
          .map(({ endpoint }) => `${endpoint.containerName}.${endpoint.networkName}`);
        return names.length > 0 ? names : undefined;
      },
      upstreamsOf: (address) => {
        for (const file of store.endpoints.values()) {
          const endpoint = file.endpoints.find((e) => e.networkId === networkId && isAddressOf(e, address));
          if (endpoint) return endpoint.dnsServers !== undefined && endpoint.dnsServers.length > 0 ? endpoint.dnsServers.map((server) => ({ address: server, port: 53 })) : undefined;
        }
        return undefined;
      },
      isInSubnet: (address) => {
        const record = store.recordOf(networkId);
        const parsed = parseIpv4(address);
        if (parsed !== undefined) return record !== undefined && record.subnet !== '' && contains(parseSubnet(record.subnet), parsed);
        const parsed6 = parseIpv6(address);
        return record?.ipv6 !== undefined && parsed6 !== undefined && contains6(parseSubnet6(record.ipv6.subnet), parsed6);
      },
    };
  }
}

/** True when `address` (IPv4, or IPv6 in any spelling) is one of the endpoint's. */
function isAddressOf(endpoint: { ipAddress: string; ipv6Address?: string }, address: string): boolean {
  if (endpoint.ipAddress === address) return true;
  const wanted = address.includes(':') ? parseIpv6(address) : undefined;
  return wanted !== undefined && endpoint.ipv6Address !== undefined && endpoint.ipv6Address !== '' && parseIpv6(endpoint.ipv6Address) === wanted;
}
