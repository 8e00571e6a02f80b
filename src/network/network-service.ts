/**
 * Berth's networks through CNI: network records and their CNI config lists under
 * `<root>/networks`, one network namespace handle per running container under
 * `<execRoot>/netns`, CNI ADD when a container starts or connects and DEL (in reverse) when it
 * stops, disconnects or is removed. What was ADDed is written down before it is used, so a
 * restart after a crash can DEL whatever belongs to no running container.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { InvalidArgumentError, messageOf, newId, writeFileAtomic, type Logger } from '../common/index.js';
import { runCommand } from '../sys/index.js';
import { BridgeRules } from './bridge-rules.js';
import { CniRunner, DEFAULT_CNI_PATH, type CniConfigList, type CniInvocation, type CniResult } from './cni.js';
import { DnsResponder, upstreamsFromResolvConf, type DnsRecords } from './dns-responder.js';
import { InvalidAddressError, InvalidBridgeNameError, isValidBridgeName, NetworkExistsError, NetworkInUseError, NoFreeSubnetError, NoSuchNetworkError, PredefinedNetworkError, SubnetOverlapError } from './errors.js';
import { createNetns, listNetns, removeNetns } from './netns.js';
import { PortReserver, type PortMapping } from './port-reserver.js';
import { contains, firstHost, formatIpv4, formatSubnet, overlaps, parseIpv4, parseSubnet, pickFreeSubnet, type Ipv4Subnet } from './subnets.js';
import type { AttachRequest, EndpointFile, EndpointState, NetworkRecord } from './types.js';

/** What `network create` asks for; unset fields take docker's defaults. */
export interface CreateNetworkRequest {
  name: string;
  driver: string;
  subnet: string;
  gateway: string;
  ipRange: string;
  isInternal: boolean;
  isAttachable: boolean;
  labels: Record<string, string>;
  options: Record<string, string>;
}

export interface CniNetworkServiceOptions {
  root: string;
  execRoot: string;
  logger: Logger;
  cniPath?: string;
  /** The default network's bridge device; `berth0` unless a private root asks for another. */
  defaultBridgeName: string;
}

const NETWORK_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

/** The default bridge device name for a daemon root: `berth0` for the system root, a name derived from the root otherwise. */
export function defaultBridgeNameFor(root: string): string {
  if (root === '/var/lib/berth') return 'berth0';
  return `berth-${createHash('sha256').update(root).digest('hex').slice(0, 8)}`;
}

/** The networks and container endpoints of one berthd. */
export class CniNetworkService {
  readonly #options: CniNetworkServiceOptions;
  readonly #cni: CniRunner;
  readonly #ports = new PortReserver();
  readonly #records = new Map<string, NetworkRecord>();
  readonly #endpoints = new Map<string, EndpointFile>();
  /** The DNS responder of each user-defined network, by network id. */
  readonly #dns = new Map<string, DnsResponder>();
  readonly #pinnedBridges = new Set<string>();
  readonly #rules = new BridgeRules();
  /** Network changes and endpoint changes run one at a time. */
  #queue: Promise<unknown> = Promise.resolve();
  /** The steps of the set-up or tear-down under way with their wall ms, for the debug log (operations are serial). */
  #steps: string[] = [];

  private constructor(options: CniNetworkServiceOptions) {
    this.#options = options;
    this.#cni = new CniRunner(options.cniPath ?? DEFAULT_CNI_PATH, ({ command, type, ms }) => this.#steps.push(`${type}/${command}=${ms.toFixed(1)}`));
  }

  /** Time one step of a set-up or tear-down into the debug log's step list. */
  async #timed<T>(name: string, step: () => Promise<T>): Promise<T> {
    const t0 = performance.now();
    try {
      return await step();
    } finally {
      this.#steps.push(`${name}=${(performance.now() - t0).toFixed(1)}`);
    }
  }

  /** Log the steps gathered since the last call (what `bench/network` reads to say where set-up time goes). */
  #logSteps(message: string, containerId: string, t0: number): void {
    this.#options.logger.debug(message, { id: containerId, totalMs: Number((performance.now() - t0).toFixed(1)), steps: this.#steps.join(' ') });
    this.#steps = [];
  }

  get #dir(): string {
    return join(this.#options.root, 'networks');
  }

  get #netnsDir(): string {
    return join(this.#options.execRoot, 'netns');
  }

  /** Load records and endpoint files; make the predefined `bridge`, `host` and `none` networks on first start. */
  static async open(options: CniNetworkServiceOptions): Promise<CniNetworkService> {
    const service = new CniNetworkService(options);
    await service.#load();
    await service.#ensurePredefined();
    for (const record of service.#records.values()) {
      if (record.driver !== 'bridge') continue;
      if (record.isPredefined) {
        // The default network's bridge waits for its first container; containers still running from before need its rules now.
        if (service.endpointsOf(record.id).length > 0) await service.#ensureRules(record);
        continue;
      }
      // close() removed idle bridges; the responder needs the gateway address back.
      await service.#ensureBridge(record);
      await service.#startDns(record);
    }
    return service;
  }

  async #load(): Promise<void> {
    let names: string[] = [];
    try {
      names = await readdir(this.#dir);
    } catch {
      return;
    }
    for (const name of names.filter((n) => n.endsWith('.json'))) {
      try {
        const record = JSON.parse(await readFile(join(this.#dir, name), 'utf8')) as NetworkRecord;
        this.#records.set(record.id, record);
      } catch (err) {
        this.#options.logger.warn('skipping an unreadable network record', { file: name, error: messageOf(err) });
      }
    }
    const endpointDir = join(this.#dir, 'endpoints');
    for (const name of await readdir(endpointDir).catch(() => [] as string[])) {
      if (!name.endsWith('.json')) continue;
      try {
        const file = JSON.parse(await readFile(join(endpointDir, name), 'utf8')) as EndpointFile;
        this.#endpoints.set(file.containerId, file);
      } catch {
        await rm(join(endpointDir, name), { force: true });
      }
    }
  }

  async #ensurePredefined(): Promise<void> {
    const now = new Date().toISOString();
    const base = { created: now, subnet: '', gateway: '', ipRange: '', bridgeName: '', isInternal: false, isAttachable: false, isPredefined: true, labels: {}, options: {} };
    if (!this.#byName('host')) await this.#save({ ...base, id: newId(), name: 'host', driver: 'host' });
    if (!this.#byName('none')) await this.#save({ ...base, id: newId(), name: 'none', driver: 'null' });
    if (!this.#byName('bridge')) {
      const subnet = await this.#chooseSubnet(undefined);
      await this.#saveBridge({
        ...base,
        id: newId(),
        name: 'bridge',
        driver: 'bridge',
        subnet: formatSubnet(subnet),
        gateway: firstHost(subnet),
        bridgeName: this.#options.defaultBridgeName,
        options: {
          'com.docker.network.bridge.default_bridge': 'true',
          'com.docker.network.bridge.enable_icc': 'true',
          'com.docker.network.bridge.enable_ip_masquerade': 'true',
          'com.docker.network.bridge.host_binding_ipv4': '0.0.0.0',
          'com.docker.network.bridge.name': this.#options.defaultBridgeName,
          'com.docker.network.driver.mtu': '1500',
        },
      });
    }
  }

  #serial<T>(operation: () => Promise<T>): Promise<T> {
    const next = this.#queue.then(operation, operation);
    this.#queue = next.catch(() => {});
    return next;
  }

  // ---- records ----------------------------------------------------------------

  /** Every network, predefined ones first. */
  list(): NetworkRecord[] {
    return [...this.#records.values()].sort((a, b) => Number(b.isPredefined) - Number(a.isPredefined) || a.created.localeCompare(b.created));
  }

  /** By full id, exact name, or unique id prefix (docker's order); NoSuchNetworkError otherwise. */
  get(ref: string): NetworkRecord {
    const byId = this.#records.get(ref);
    if (byId) return byId;
    const byName = this.#byName(ref);
    if (byName) return byName;
    const prefixed = ref.length > 0 ? [...this.#records.values()].filter((r) => r.id.startsWith(ref)) : [];
    if (prefixed.length === 1) return prefixed[0]!;
    throw new NoSuchNetworkError(ref);
  }

  #byName(name: string): NetworkRecord | undefined {
    return [...this.#records.values()].find((r) => r.name === name);
  }

  /** Create a bridge network; checks name, subnet overlap and gateway before anything is written. */
  create(request: CreateNetworkRequest): Promise<NetworkRecord> {
    return this.#serial(async () => {
      if (!NETWORK_NAME.test(request.name)) throw new InvalidArgumentError(`invalid network name "${request.name}"`);
      if (this.#byName(request.name)) throw new NetworkExistsError(request.name);
      const driver = request.driver === '' ? 'bridge' : request.driver;
      if (driver !== 'bridge') {
        if (driver === 'host' || driver === 'null') throw new PredefinedNetworkError(`only one instance of "${driver}" network is allowed`);
        throw new InvalidArgumentError(`plugin "${driver}" not found`);
      }
      const requested = request.subnet === '' ? undefined : parseSubnet(request.subnet);
      const subnet = await this.#chooseSubnet(requested);
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
      const id = newId();
      const bridgeName = request.options['com.docker.network.bridge.name'] || `br-${id.slice(0, 12)}`;
      if (!isValidBridgeName(bridgeName)) throw new InvalidBridgeNameError(bridgeName);
      const saved = await this.#saveBridge({
        id,
        name: request.name,
        driver: 'bridge',
        created: new Date().toISOString(),
        subnet: formatSubnet(subnet),
        gateway,
        ipRange: request.ipRange,
        bridgeName,
        isInternal: request.isInternal,
        isAttachable: request.isAttachable,
        isPredefined: false,
        labels: request.labels,
        options: request.options,
      });
      await this.#startDns(saved);
      return saved;
    });
  }

  /** Remove a user-defined network that no running container is attached to; its bridge goes too. */
  remove(ref: string): Promise<void> {
    return this.#serial(async () => {
      const record = this.get(ref);
      if (record.isPredefined) throw new PredefinedNetworkError(`${record.name} is a pre-defined network and cannot be removed`);
      if (this.endpointsOf(record.id).length > 0) throw new NetworkInUseError(record.name, record.id);
      await this.#stopDns(record.id);
      // Host state first: a crash part-way leaves the record, and a second `network rm` finishes.
      await this.#deleteBridge(record);
      this.#records.delete(record.id);
      await rm(join(this.#dir, `${record.id}.json`), { force: true });
      await rm(join(this.#dir, `${record.id}.conflist`), { force: true });
      await rm(join(this.#dir, 'ipam', this.#cniName(record)), { recursive: true, force: true });
    });
  }

  /** The running containers attached to a network. */
  endpointsOf(networkId: string): Array<{ containerId: string; endpoint: EndpointState }> {
    const out: Array<{ containerId: string; endpoint: EndpointState }> = [];
    for (const file of this.#endpoints.values()) {
      for (const endpoint of file.endpoints) if (endpoint.networkId === networkId) out.push({ containerId: file.containerId, endpoint: strip(endpoint) });
    }
    return out;
  }

  /** A running container's endpoints, in the order they were made. */
  endpointsOfContainer(containerId: string): EndpointState[] {
    return (this.#endpoints.get(containerId)?.endpoints ?? []).map(strip);
  }

  /** The container's namespace handle while it has one. */
  namespaceOf(containerId: string): string | undefined {
    return this.#endpoints.get(containerId)?.netnsPath;
  }

  // ---- endpoints -----------------------------------------------------------------

  /**
   * Give a container its network namespace and join it to `requests` (in order: the first
   * gets eth0 and the published ports). All or nothing: a failure undoes every step.
   */
  setUp(containerId: string, requests: readonly AttachRequest[]): Promise<{ netnsPath: string; endpoints: EndpointState[] }> {
    return this.#serial(async () => {
      if (this.#endpoints.has(containerId)) await this.#tearDown(containerId);
      const t0 = performance.now();
      this.#steps = [];
      // A new namespace has its loopback down: it comes up in the same step.
      const netnsPath = await this.#timed('netns', () => createNetns(this.#netnsDir, containerId, { loopbackUp: true }));
      const file: EndpointFile = { containerId, netnsPath, endpoints: [] };
      try {
        this.#endpoints.set(containerId, file);
        // The first endpoint's record (written before its ADD) names the namespace too; a crash before it
        // leaves a handle of no endpoint file, which recovery removes.
        if (requests.length === 0) await this.#timed('record', () => this.#saveEndpoints(file));
        for (const request of requests) await this.#addEndpoint(file, request);
      } catch (err) {
        this.#steps = [];
        await this.#tearDown(containerId).catch(() => {});
        await removeNetns(netnsPath);
        throw err;
      }
      this.#logSteps('network set up', containerId, t0);
      return { netnsPath, endpoints: file.endpoints.map(strip) };
    });
  }

  /** Join a running container (one with a namespace from setUp) to one more network. */
  connect(containerId: string, request: AttachRequest): Promise<EndpointState> {
    return this.#serial(async () => {
      const file = this.#endpoints.get(containerId);
      if (!file) throw new InvalidArgumentError(`container ${containerId} has no network namespace of its own`);
      return strip(await this.#addEndpoint(file, request));
    });
  }

  /** Leave one network (CNI DEL); the namespace stays. */
  disconnect(containerId: string, networkId: string): Promise<void> {
    return this.#serial(async () => {
      const file = this.#endpoints.get(containerId);
      const endpoint = file?.endpoints.find((e) => e.networkId === networkId);
      if (!file || !endpoint) return;
      await this.#delEndpoint(file, endpoint);
      file.endpoints = file.endpoints.filter((e) => e !== endpoint);
      await this.#saveEndpoints(file);
    });
  }

  /** Leave every network in reverse order, release ports and remove the namespace. Idempotent. */
  tearDown(containerId: string): Promise<void> {
    return this.#serial(async () => {
      const t0 = performance.now();
      this.#steps = [];
      const hadEndpoints = this.#endpoints.has(containerId);
      await this.#tearDown(containerId);
      if (hadEndpoints) this.#logSteps('network torn down', containerId, t0);
    });
  }

  async #tearDown(containerId: string): Promise<void> {
    const file = this.#endpoints.get(containerId);
    this.#ports.release(containerId);
    if (!file) {
      await removeNetns(join(this.#netnsDir, containerId));
      return;
    }
    for (const endpoint of [...file.endpoints].reverse()) {
      await this.#delEndpoint(file, endpoint).catch((err: unknown) =>
        this.#options.logger.warn('CNI DEL failed', { id: containerId, network: endpoint.networkName, error: messageOf(err) }),
      );
    }
    await this.#timed('netns', () => removeNetns(file.netnsPath));
    this.#endpoints.delete(containerId);
    await rm(this.#endpointPath(containerId), { force: true });
  }

  async #addEndpoint(file: EndpointFile, request: AttachRequest): Promise<EndpointState> {
    const record = this.get(request.networkId);
    if (record.driver !== 'bridge') throw new InvalidArgumentError(`container cannot be connected to network ${record.name}`);
    if (file.endpoints.some((e) => e.networkId === record.id)) {
      throw new PredefinedNetworkError(`endpoint with name ${request.containerName} already exists in network ${record.name}`);
    }
    const args: Record<string, string> = {};
    if (request.ipv4Address !== '') {
      const address = parseIpv4(request.ipv4Address);
      if (address === undefined) throw new InvalidAddressError(`invalid IPv4 address: ${request.ipv4Address}`);
      if (record.isPredefined) throw new InvalidAddressError('user specified IP address is supported on user defined networks only');
      if (!contains(parseSubnet(record.subnet), address)) throw new InvalidAddressError(`no configured subnet or ip-range contain the IP address ${request.ipv4Address}`);
      args['IP'] = request.ipv4Address;
    }
    const ports = request.ports.length > 0 && !record.isInternal ? await this.#timed('ports', () => this.#ports.reserve(file.containerId, request.ports)) : [];
    const runtimeConfig: Record<string, unknown> = {
      portMappings: ports.map((p) => ({ hostPort: p.hostPort, containerPort: p.containerPort, protocol: p.protocol, hostIP: p.hostIp === '0.0.0.0' ? '' : p.hostIp })),
      ...(request.macAddress !== '' ? { mac: request.macAddress } : {}),
    };
    const ifName = nextIfName(file);
    const invocation: CniInvocation = { containerId: file.containerId, netnsPath: file.netnsPath, ifName, args, runtimeConfig };
    if (!this.#rules.isEnsured(record.id)) await this.#timed('rules', () => this.#ensureRules(record));
    const cniConfig = this.#conflist(record, ports.length > 0);
    // Written down before the ADD, with the config list it uses, so a crash part-way still finds it to DEL (with that list, whatever a later Berth writes).
    const pending = { ...emptyEndpoint(record, request, ifName), runtimeConfig, args, cniResult: null as unknown, dnsServers: request.dnsServers, cniConfig };
    file.endpoints.push(pending);
    await this.#timed('record', () => this.#saveEndpoints(file));
    let result: CniResult;
    try {
      result = await this.#cni.add(cniConfig, invocation);
    } catch (err) {
      file.endpoints = file.endpoints.filter((e) => e !== pending);
      await this.#saveEndpoints(file);
      this.#ports.release(file.containerId);
      throw err;
    }
    const ip = result.ips?.[0];
    const [address, prefix] = (ip?.address ?? '/').split('/');
    const sandboxInterface = result.interfaces?.find((i) => i.name === ifName && i.sandbox);
    pending.ipAddress = address ?? '';
    pending.ipPrefixLen = Number(prefix ?? 0);
    pending.gateway = ip?.gateway ?? record.gateway;
    pending.macAddress = sandboxInterface?.mac ?? request.macAddress;
    pending.ports = ports;
    pending.cniResult = result;
    await this.#timed('record', () => this.#saveEndpoints(file));
    // The bridge exists now for sure (the default network's is made by the first ADD).
    await this.#timed('bridge-mac', () => this.#pinBridgeMac(record));
    // The bridge and its gateway address exist now for sure (a responder that could not bind earlier gets another chance).
    await this.#startDns(record);
    return pending;
  }

  async #delEndpoint(file: EndpointFile, endpoint: EndpointFile['endpoints'][number]): Promise<void> {
    const record = this.#records.get(endpoint.networkId);
    // An endpoint made before Berth kept its list was ADDed with the per-container iptables plugins: DEL them too.
    const list = endpoint.cniConfig ?? (record ? legacyConflist(this.#conflist(record, true), record.isInternal) : await this.#readConflist(endpoint.networkId));
    if (!list) return;
    const invocation: CniInvocation = { containerId: file.containerId, netnsPath: file.netnsPath, ifName: endpoint.ifName, args: endpoint.args, runtimeConfig: endpoint.runtimeConfig };
    await this.#cni.del(list, invocation, (endpoint.cniResult as CniResult | null) ?? undefined);
  }

  // ---- crash safety ----------------------------------------------------------------

  /**
   * After a daemon start: DEL the endpoints of containers that no longer run, remove their
   * namespace handles and any lease held for an unknown container, and hold the published
   * ports of those that still run again.
   */
  recover(runningContainerIds: ReadonlySet<string>): Promise<void> {
    return this.#serial(async () => {
      for (const containerId of [...this.#endpoints.keys()]) {
        if (runningContainerIds.has(containerId)) {
          const ports = this.#endpoints.get(containerId)!.endpoints.flatMap((e) => e.ports);
          await this.#ports.reserve(containerId, ports).catch((err: unknown) =>
            this.#options.logger.warn('could not hold published ports again', { id: containerId, error: messageOf(err) }),
          );
          continue;
        }
        this.#options.logger.info('removing the network of a container that no longer runs', { id: containerId });
        await this.#tearDown(containerId);
      }
      for (const name of await listNetns(this.#netnsDir)) {
        if (!this.#endpoints.has(name)) await removeNetns(join(this.#netnsDir, name));
      }
      // host-local's lease files hold `<containerId>\r\n<ifname>`: a lease of no known endpoint is stale.
      const ipamDir = join(this.#dir, 'ipam');
      for (const network of await readdir(ipamDir).catch(() => [] as string[])) {
        for (const lease of await readdir(join(ipamDir, network)).catch(() => [] as string[])) {
          if (!/^[\d.]+$/.test(lease)) continue;
          const owner = (await readFile(join(ipamDir, network, lease), 'utf8').catch(() => '')).split(/\s/)[0] ?? '';
          if (!this.#endpoints.has(owner)) await rm(join(ipamDir, network, lease), { force: true });
        }
      }
    });
  }

  /** At daemon shutdown: stop holding ports, remove bridges no container uses (CNI makes them again). */
  async close(): Promise<void> {
    await this.#serial(async () => {
      this.#ports.releaseAll();
      for (const id of [...this.#dns.keys()]) await this.#stopDns(id);
      for (const record of this.#records.values()) {
        if (record.driver === 'bridge' && this.endpointsOf(record.id).length === 0) await this.#deleteBridge(record);
      }
    });
  }

  // ---- helpers ---------------------------------------------------------------------

  async #chooseSubnet(requested: Ipv4Subnet | undefined): Promise<Ipv4Subnet> {
    const taken = [...(await hostRoutes()), ...[...this.#records.values()].filter((r) => r.subnet !== '').map((r) => parseSubnet(r.subnet))];
    if (requested) {
      if (taken.some((t) => overlaps(t, requested))) throw new SubnetOverlapError();
      return requested;
    }
    const free = pickFreeSubnet(taken);
    if (!free) throw new NoFreeSubnetError();
    return free;
  }

  #cniName(record: NetworkRecord): string {
    return `berth-${record.id.slice(0, 12)}`;
  }

  /**
   * The config list a container joins `record` with: the bridge plugin without `ipMasq` and no
   * firewall plugin (the network's own rules, made once, do their work), and portmap only when
   * the container publishes ports (without any it would only cost a process on each ADD and DEL).
   */
  #conflist(record: NetworkRecord, withPorts: boolean): CniConfigList {
    const range: Record<string, string> = { subnet: record.subnet, gateway: record.gateway };
    if (record.ipRange !== '') {
      const ipRange = parseSubnet(record.ipRange);
      range['rangeStart'] = formatIpv4(ipRange.base + 1);
      range['rangeEnd'] = formatIpv4(ipRange.base + 2 ** (32 - ipRange.prefixLength) - 2);
    }
    const mtu = Number(record.options['com.docker.network.driver.mtu'] ?? 0);
    return {
      cniVersion: '1.0.0',
      name: this.#cniName(record),
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
            dataDir: join(this.#dir, 'ipam'),
          },
        },
        ...(withPorts ? [{ type: 'portmap', capabilities: { portMappings: true }, snat: true }] : []),
      ],
    };
  }

  async #readConflist(networkId: string): Promise<CniConfigList | undefined> {
    try {
      return JSON.parse(await readFile(join(this.#dir, `${networkId}.conflist`), 'utf8')) as CniConfigList;
    } catch {
      return undefined;
    }
  }

  async #save(record: NetworkRecord): Promise<NetworkRecord> {
    await writeFileAtomic(join(this.#dir, `${record.id}.json`), JSON.stringify(record, null, 2));
    this.#records.set(record.id, record);
    return record;
  }

  /** The config list goes first: a record is visible only once everything it needs exists. */
  async #saveBridge(record: NetworkRecord): Promise<NetworkRecord> {
    await writeFileAtomic(join(this.#dir, `${record.id}.conflist`), JSON.stringify(this.#conflist(record, true), null, 2));
    // The default network's bridge waits for its first container (a daemon that never runs one leaves nothing on the host).
    const bridgeExisted = record.bridgeName !== '' && (await runCommand('ip', ['link', 'show', record.bridgeName])).exitCode === 0;
    try {
      if (!record.isPredefined) await this.#ensureBridge(record);
      return await this.#save(record);
    } catch (err) {
      // Nothing half-made: no rules, config list or (unless it was there before) bridge of a network that does not exist.
      if (bridgeExisted) await this.#rules.remove(record.id).catch(() => {});
      else await this.#deleteBridge(record);
      await rm(join(this.#dir, `${record.id}.conflist`), { force: true });
      throw err;
    }
  }

  /**
   * Give the bridge a fixed MAC address. Left to itself Linux gives a bridge the lowest MAC of
   * its ports, so when a container leaves the gateway's MAC can change under the others' ARP
   * caches and their packets to the gateway (the DNS responder) go nowhere until ARP expires.
   */
  async #pinBridgeMac(record: NetworkRecord): Promise<void> {
    if (record.driver !== 'bridge' || record.bridgeName === '' || this.#pinnedBridges.has(record.bridgeName)) return;
    const assignType = await readFile(`/sys/class/net/${record.bridgeName}/addr_assign_type`, 'utf8').catch(() => '');
    // 3: set by user space already.
    if (assignType.trim() !== '3') await runCommand('ip', ['link', 'set', 'dev', record.bridgeName, 'address', bridgeMac(record.id)]);
    if (assignType !== '') this.#pinnedBridges.add(record.bridgeName);
  }

  /**
   * Make the bridge with its gateway address now rather than at the first CNI ADD: its route
   * then shows the subnet as taken to every other engine (or berthd) choosing one.
   */
  async #ensureBridge(record: NetworkRecord): Promise<void> {
    if (record.driver !== 'bridge' || record.bridgeName === '') return;
    if ((await runCommand('ip', ['link', 'show', record.bridgeName])).exitCode !== 0) {
      await runCommand('ip', ['link', 'add', 'name', record.bridgeName, 'address', bridgeMac(record.id), 'type', 'bridge']);
    }
    await this.#pinBridgeMac(record);
    const prefix = record.subnet.split('/')[1] ?? '16';
    await runCommand('ip', ['addr', 'replace', `${record.gateway}/${prefix}`, 'dev', record.bridgeName]);
    await runCommand('ip', ['link', 'set', record.bridgeName, 'up']);
    await this.#ensureRules(record);
  }

  /** The network's forwarding, isolation and masquerade rules (src/network/bridge-rules.ts); idempotent. */
  async #ensureRules(record: NetworkRecord): Promise<void> {
    if (record.driver !== 'bridge' || record.bridgeName === '' || record.subnet === '') return;
    await this.#rules.ensure({ id: record.id, bridgeName: record.bridgeName, subnet: record.subnet, isInternal: record.isInternal });
  }

  /**
   * Start the network's DNS responder on its gateway address unless it runs (the default
   * `bridge` network has none, as docker's). A failure to bind is logged, not fatal: names
   * then do not resolve, but containers still run.
   */
  async #startDns(record: NetworkRecord): Promise<void> {
    if (record.driver !== 'bridge' || record.isPredefined || record.gateway === '' || this.#dns.has(record.id)) return;
    const resolvConf = await readFile('/etc/resolv.conf', 'utf8').catch(() => '');
    try {
      const responder = await DnsResponder.start({ address: record.gateway, records: this.#dnsRecords(record.id), upstreams: upstreamsFromResolvConf(resolvConf), logger: this.#options.logger });
      this.#dns.set(record.id, responder);
    } catch (err) {
      this.#options.logger.warn('cannot start the DNS responder', { network: record.name, address: record.gateway, error: messageOf(err) });
    }
  }

  async #stopDns(networkId: string): Promise<void> {
    const responder = this.#dns.get(networkId);
    this.#dns.delete(networkId);
    await responder?.close();
  }

  /** Names on a network read live from its endpoints: container name, aliases and short id, case-insensitive. */
  #dnsRecords(networkId: string): DnsRecords {
    return {
      addressesOf: (name) => {
        const ipv4 = this.endpointsOf(networkId)
          .filter(({ containerId, endpoint }) => endpoint.ipAddress !== '' && [endpoint.containerName, ...endpoint.aliases, containerId.slice(0, 12)].some((n) => n.toLowerCase() === name))
          .map(({ endpoint }) => endpoint.ipAddress);
        return ipv4.length > 0 ? { ipv4, ipv6: [] } : undefined;
      },
      namesOf: (address) => {
        const names = this.endpointsOf(networkId)
          .filter(({ endpoint }) => endpoint.ipAddress === address)
          .map(({ endpoint }) => `${endpoint.containerName}.${endpoint.networkName}`);
        return names.length > 0 ? names : undefined;
      },
      upstreamsOf: (address) => {
        for (const file of this.#endpoints.values()) {
          const endpoint = file.endpoints.find((e) => e.networkId === networkId && e.ipAddress === address);
          if (endpoint) return endpoint.dnsServers !== undefined && endpoint.dnsServers.length > 0 ? endpoint.dnsServers.map((server) => ({ address: server, port: 53 })) : undefined;
        }
        return undefined;
      },
      isInSubnet: (address) => {
        const record = this.#records.get(networkId);
        const parsed = parseIpv4(address);
        return record !== undefined && record.subnet !== '' && parsed !== undefined && contains(parseSubnet(record.subnet), parsed);
      },
    };
  }

  #endpointPath(containerId: string): string {
    return join(this.#dir, 'endpoints', `${containerId}.json`);
  }

  async #saveEndpoints(file: EndpointFile): Promise<void> {
    await writeFileAtomic(this.#endpointPath(file.containerId), JSON.stringify(file));
  }

  async #deleteBridge(record: NetworkRecord): Promise<void> {
    if (record.bridgeName === '') return;
    await this.#rules.remove(record.id).catch((err: unknown) =>
      this.#options.logger.warn('cannot remove the network\'s iptables rules', { network: record.name, error: messageOf(err) }),
    );
    await runCommand('ip', ['link', 'del', record.bridgeName, 'type', 'bridge']);
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

function strip(endpoint: EndpointState & { runtimeConfig?: unknown; args?: unknown; cniResult?: unknown; dnsServers?: unknown; cniConfig?: unknown }): EndpointState {
  const { runtimeConfig: _r, args: _a, cniResult: _c, dnsServers: _d, cniConfig: _l, ...state } = endpoint;
  return state;
}

/** The host's IPv4 routes other than the default one: a new subnet must not overlap them. */
async function hostRoutes(): Promise<Ipv4Subnet[]> {
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

/** A stable, locally administered unicast MAC for a network's bridge, from its id. */
export function bridgeMac(networkId: string): string {
  const hex = networkId.replace(/[^0-9a-f]/g, '').padEnd(10, '0');
  return ['02', hex.slice(0, 2), hex.slice(2, 4), hex.slice(4, 6), hex.slice(6, 8), hex.slice(8, 10)].join(':');
}
