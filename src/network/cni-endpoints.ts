/**
 * One container's endpoints on bridge networks through CNI: the ADD that joins a network (its
 * published ports reserved, its record written down before the ADD so a crash part-way can still
 * DEL it) and the DEL that leaves it. The network service checks the request and serialises calls.
 */
import { randomBytes } from 'node:crypto';
import type { BridgeDevices } from './bridge-devices.js';
import type { CniInvocation, CniResult, CniRunner } from './cni.js';
import { conflistFor, legacyConflist } from './conflist.js';
import type { NetworkDns } from './network-dns.js';
import type { NetworkStore } from './network-store.js';
import { isRelayedPort, type PortReserver } from './port-reserver.js';
import { formatIpv6, parseIpv6 } from './subnets6.js';
import type { AttachRequest, EndpointFile, EndpointState, NetworkRecord } from './types.js';

/** What endpoints are made with: the network service's own parts, shared. */
export interface CniEndpointParts {
  cni: CniRunner;
  ports: PortReserver;
  store: NetworkStore;
  bridges: BridgeDevices;
  dns: NetworkDns;
  /** Times one step into the set-up's debug log. */
  timed<T>(name: string, step: () => Promise<T>): Promise<T>;
}

export class CniEndpoints {
  readonly #parts: CniEndpointParts;

  constructor(parts: CniEndpointParts) {
    this.#parts = parts;
  }

  /**
   * Join the container of `file` to `record` (checked by the caller: a bridge network it is not
   * on yet, addresses valid); the endpoint is in `file` and on disk when this resolves, and
   * nothing of it is left when it throws.
   */
  async add(file: EndpointFile, record: NetworkRecord, request: AttachRequest): Promise<EndpointState> {
    // host-local (Debian's 1.1) takes one CNI_ARGS IP; with an IPv6 address both go in runtimeConfig's `ips`, one per range.
    const ipv6Address = request.ipv6Address === '' ? '' : formatIpv6(parseIpv6(request.ipv6Address)!);
    const requestedIps = ipv6Address === '' ? [] : [request.ipv4Address, ipv6Address].filter((a) => a !== '');
    const args: Record<string, string> = request.ipv4Address !== '' && ipv6Address === '' ? { IP: request.ipv4Address } : {};
    // Ports on IPv6 host addresses are relayed by the held socket to this endpoint's addresses once it has them.
    let added: EndpointState | undefined;
    const ports = request.ports.length > 0 && !record.isInternal ? await this.#parts.timed('ports', () => this.#parts.ports.reserve(file.containerId, request.ports, () => added)) : [];
    const natPorts = ports.filter((p) => !isRelayedPort(p));
    const runtimeConfig: Record<string, unknown> = {
      portMappings: natPorts.map((p) => ({ hostPort: p.hostPort, containerPort: p.containerPort, protocol: p.protocol, hostIP: p.hostIp === '0.0.0.0' ? '' : p.hostIp })),
      ...(request.macAddress !== '' ? { mac: request.macAddress } : {}),
      ...(requestedIps.length > 0 ? { ips: requestedIps } : {}),
    };
    const ifName = nextIfName(file);
    const invocation: CniInvocation = { containerId: file.containerId, netnsPath: file.netnsPath, ifName, args, runtimeConfig };
    if (!this.#parts.bridges.hasRules(record.id)) await this.#parts.timed('rules', () => this.#parts.bridges.ensureRules(record));
    const cniConfig = conflistFor(record, natPorts.length > 0, this.#parts.store.ipamDir);
    // Written down before the ADD, with the config list it uses, so a crash part-way still finds it to DEL (with that list, whatever a later Berth writes).
    const pending = { ...emptyEndpoint(record, request, ifName), runtimeConfig, args, cniResult: null as unknown, dnsServers: request.dnsServers, cniConfig };
    file.endpoints.push(pending);
    await this.#parts.timed('record', () => this.#parts.store.saveEndpoints(file));
    let result: CniResult;
    try {
      result = await this.#parts.cni.add(cniConfig, invocation);
    } catch (err) {
      file.endpoints = file.endpoints.filter((e) => e !== pending);
      await this.#parts.store.saveEndpoints(file);
      this.#parts.ports.release(file.containerId);
      throw err;
    }
    const ip = result.ips?.find((i) => !i.address.includes(':'));
    const [address, prefix] = (ip?.address ?? '/').split('/');
    const sandboxInterface = result.interfaces?.find((i) => i.name === ifName && i.sandbox);
    pending.ipAddress = address ?? '';
    pending.ipPrefixLen = Number(prefix ?? 0);
    pending.gateway = ip?.gateway ?? record.gateway;
    const ip6 = result.ips?.find((i) => i.address.includes(':'));
    if (ip6) {
      const [address6, prefix6] = ip6.address.split('/');
      pending.ipv6Address = address6 ?? '';
      pending.ipv6PrefixLen = Number(prefix6 ?? 0);
      pending.ipv6Gateway = ip6.gateway ?? record.ipv6?.gateway ?? '';
    }
    pending.macAddress = sandboxInterface?.mac ?? request.macAddress;
    pending.ports = ports;
    pending.cniResult = result;
    await this.#parts.timed('record', () => this.#parts.store.saveEndpoints(file));
    // The bridge exists now for sure (the default network's is made by the first ADD).
    await this.#parts.timed('bridge-mac', () => this.#parts.bridges.pinMac(record));
    // The bridge and its gateway address exist now for sure (a responder that could not bind earlier gets another chance).
    await this.#parts.dns.start(record);
    added = pending;
    return pending;
  }

  /** CNI DEL of one endpoint, with the config list it was ADDed with. */
  async del(file: EndpointFile, endpoint: EndpointFile['endpoints'][number]): Promise<void> {
    const record = this.#parts.store.recordOf(endpoint.networkId);
    // An endpoint made before Berth kept its list was ADDed with the per-container iptables plugins: DEL them too.
    const list = endpoint.cniConfig ?? (record ? legacyConflist(conflistFor(record, true, this.#parts.store.ipamDir), record.isInternal) : await this.#parts.store.readConflist(endpoint.networkId));
    if (!list) return;
    const invocation: CniInvocation = { containerId: file.containerId, netnsPath: file.netnsPath, ifName: endpoint.ifName, args: endpoint.args, runtimeConfig: endpoint.runtimeConfig };
    await this.#parts.cni.del(list, invocation, (endpoint.cniResult as CniResult | null) ?? undefined);
  }
}

function nextIfName(file: EndpointFile): string {
  for (let n = 0; ; n++) if (!file.endpoints.some((e) => e.ifName === `eth${n}`)) return `eth${n}`;
}

function emptyEndpoint(record: NetworkRecord, request: AttachRequest, ifName: string): EndpointState {
  return {
    networkId: record.id,
    networkName: record.name,
    endpointId: randomBytes(32).toString('hex'),
    ifName,
    ipAddress: '',
    ipPrefixLen: 0,
    gateway: '',
    macAddress: '',
    aliases: request.aliases,
    containerName: request.containerName,
    ports: [],
  };
}
