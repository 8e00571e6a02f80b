/**
 * Berth's networks through CNI: network records and their CNI config lists under
 * `<root>/networks`, one network namespace handle per running container under
 * `<execRoot>/netns`, CNI ADD when a container starts or connects and DEL (in reverse) when it
 * stops, disconnects or is removed. What was ADDed is written down before it is used, so a
 * restart after a crash can DEL whatever belongs to no running container.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { InvalidArgumentError, KeyedLock, crashPoint, messageOf, newId, type Logger } from '../common/index.js';
import { BridgeDevices } from './bridge-devices.js';
import { CniEndpoints } from './cni-endpoints.js';
import { CniRunner, DEFAULT_CNI_PATH, waitForOrphanedPlugins } from './cni.js';
import { cniNameOf, conflistFor } from './conflist.js';
import { InvalidBridgeNameError, isValidBridgeName, NetworkExistsError, NetworkInUseError, PredefinedNetworkError } from './errors.js';
import { checkEndpointAddresses, chooseSubnet, ipv4ConfigOf, ipv6ConfigOf } from './network-addresses.js';
import { createNetns, listNetns, removeNetns } from './netns.js';
import { NetworkDns } from './network-dns.js';
import { NetworkStore, stripEndpoint } from './network-store.js';
import { PortReserver } from './port-reserver.js';
import { firstHost, formatSubnet } from './subnets.js';
import type { AttachRequest, EndpointFile, EndpointState, NetworkCreateRequest, NetworkRecord } from './types.js';
import type { MountHelper } from '../sys/index.js';

export { bridgeMac } from './bridge-devices.js';
export { legacyConflist } from './conflist.js';

export interface CniNetworkServiceOptions {
  root: string;
  execRoot: string;
  logger: Logger;
  cniPath?: string;
  /** The default network's bridge device; `berth0` unless a private root asks for another. */
  defaultBridgeName: string;
  /** Makes and removes namespace handles without a process each (unshare and umount otherwise). */
  mountHelper?: MountHelper;
}

const NETWORK_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

/** Where CNI plugin calls through the helper keep their config and result files. */
function cniIoDirOf(execRoot: string): string {
  return join(execRoot, 'cni-io');
}

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
  readonly #store: NetworkStore;
  readonly #bridges: BridgeDevices;
  readonly #dns: NetworkDns;
  readonly #endpoints: CniEndpoints;
  /** Network changes and endpoint changes run one at a time (one key: the whole service). */
  readonly #lock = new KeyedLock();
  /** The steps of the set-up or tear-down under way with their wall ms, for the debug log (operations are serial). */
  #steps: string[] = [];

  private constructor(options: CniNetworkServiceOptions) {
    this.#options = options;
    const throughHelper = options.mountHelper ? { helper: options.mountHelper, ioDir: cniIoDirOf(options.execRoot) } : undefined;
    this.#cni = new CniRunner(options.cniPath ?? DEFAULT_CNI_PATH, ({ command, type, ms }) => this.#steps.push(`${type}/${command}=${ms.toFixed(1)}`), throughHelper);
    this.#store = new NetworkStore(join(options.root, 'networks'), options.logger);
    this.#bridges = new BridgeDevices(options.logger);
    this.#dns = new NetworkDns(this.#store, options.logger);
    this.#endpoints = new CniEndpoints({ cni: this.#cni, ports: this.#ports, store: this.#store, bridges: this.#bridges, dns: this.#dns, timed: (name, step) => this.#timed(name, step) });
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

  get #netnsDir(): string {
    return join(this.#options.execRoot, 'netns');
  }

  /** Load records and endpoint files; make the predefined `bridge`, `host` and `none` networks on first start. */
  static async open(options: CniNetworkServiceOptions): Promise<CniNetworkService> {
    const service = new CniNetworkService(options);
    await service.#store.load();
    await service.#ensurePredefined();
    for (const record of service.#store.records()) {
      if (record.driver !== 'bridge') continue;
      if (record.isPredefined) {
        // The default network's bridge waits for its first container; containers still running from before need its rules now.
        if (service.endpointsOf(record.id).length > 0) await service.#bridges.ensureRules(record);
        continue;
      }
      // close() removed idle bridges; the responder needs the gateway address back.
      await service.#bridges.ensure(record);
      await service.#dns.start(record);
    }
    return service;
  }

  async #ensurePredefined(): Promise<void> {
    const now = new Date().toISOString();
    const base = { created: now, subnet: '', gateway: '', ipRange: '', bridgeName: '', isInternal: false, isAttachable: false, isPredefined: true, labels: {}, options: {} };
    if (!this.#store.byName('host')) await this.#store.save({ ...base, id: newId(), name: 'host', driver: 'host' });
    if (!this.#store.byName('none')) await this.#store.save({ ...base, id: newId(), name: 'none', driver: 'null' });
    if (!this.#store.byName('bridge')) {
      const subnet = await chooseSubnet(this.#store.records(), undefined);
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
    return this.#lock.run('networks', operation);
  }

  // ---- records ----------------------------------------------------------------

  /** Every network, predefined ones first. */
  list(): NetworkRecord[] {
    return this.#store.records().sort((a, b) => Number(b.isPredefined) - Number(a.isPredefined) || a.created.localeCompare(b.created));
  }

  /** By full id, exact name, or unique id prefix (docker's order); NoSuchNetworkError otherwise. */
  get(ref: string): NetworkRecord {
    return this.#store.get(ref);
  }

  /** Create a bridge network; checks name, subnet overlap and gateway before anything is written. */
  create(request: NetworkCreateRequest): Promise<NetworkRecord> {
    return this.#serial(async () => {
      if (!NETWORK_NAME.test(request.name)) throw new InvalidArgumentError(`invalid network name "${request.name}"`);
      if (this.#store.byName(request.name)) throw new NetworkExistsError(request.name);
      const driver = request.driver === '' ? 'bridge' : request.driver;
      if (driver !== 'bridge') {
        if (driver === 'host' || driver === 'null') throw new PredefinedNetworkError(`only one instance of "${driver}" network is allowed`);
        throw new InvalidArgumentError(`plugin "${driver}" not found`);
      }
      const { subnet, gateway } = await ipv4ConfigOf(request, this.#store.records());
      const ipv6 = await ipv6ConfigOf(request, this.#store.records(), this.#options.root);
      const id = newId();
      const bridgeName = request.options['com.docker.network.bridge.name'] || `br-${id.slice(0, 12)}`;
      if (!isValidBridgeName(bridgeName)) throw new InvalidBridgeNameError(bridgeName);
      const saved = await this.#saveBridge({
        id,
        name: request.name,
        driver: 'bridge',
        created: new Date().toISOString(),
        subnet,
        gateway,
        ipRange: request.ipRange,
        bridgeName,
        isInternal: request.isInternal,
        isAttachable: request.isAttachable,
        isPredefined: false,
        labels: request.labels,
        options: request.options,
        ...(ipv6 ? { ipv6 } : {}),
      });
      await this.#dns.start(saved);
      return saved;
    });
  }

  /** Remove a user-defined network that no running container is attached to; its bridge goes too. */
  remove(ref: string): Promise<void> {
    return this.#serial(async () => {
      const record = this.get(ref);
      if (record.isPredefined) throw new PredefinedNetworkError(`${record.name} is a pre-defined network and cannot be removed`);
      if (this.endpointsOf(record.id).length > 0) throw new NetworkInUseError(record.name, record.id);
      await this.#dns.stop(record.id);
      // Host state first: a crash part-way leaves the record, and a second `network rm` finishes.
      await this.#bridges.remove(record);
      crashPoint('network-rm.bridge-removed');
      await this.#store.remove(record);
      await rm(join(this.#store.ipamDir, cniNameOf(record)), { recursive: true, force: true });
    });
  }

  /** Check `--ip`/`--ip6` for `ref` before anything is made, with docker's wording; '' asks for nothing. */
  checkAddresses(ref: string, ipv4Address: string, ipv6Address: string): void {
    checkEndpointAddresses(this.get(ref), ipv4Address, ipv6Address);
  }

  /** The running containers attached to a network. */
  endpointsOf(networkId: string): Array<{ containerId: string; endpoint: EndpointState }> {
    return this.#store.endpointsOf(networkId);
  }

  /** A running container's endpoints, in the order they were made. */
  endpointsOfContainer(containerId: string): EndpointState[] {
    return (this.#store.endpoints.get(containerId)?.endpoints ?? []).map(stripEndpoint);
  }

  /** The container's namespace handle while it has one. */
  namespaceOf(containerId: string): string | undefined {
    return this.#store.endpoints.get(containerId)?.netnsPath;
  }

  // ---- endpoints -----------------------------------------------------------------

  /**
   * Give a container its network namespace and join it to `requests` (in order: the first
   * gets eth0 and the published ports). All or nothing: a failure undoes every step.
   * `onNamespace` is told the handle's path once it exists, before any network is joined (a
   * runtime that needs no interfaces yet can create the container meanwhile); after a failure
   * that handle is gone again.
   */
  setUp(containerId: string, requests: readonly AttachRequest[], onNamespace?: (netnsPath: string) => void): Promise<{ netnsPath: string; endpoints: EndpointState[] }> {
    return this.#serial(async () => {
      if (this.#store.endpoints.has(containerId)) await this.#tearDown(containerId);
      const t0 = performance.now();
      this.#steps = [];
      // A new namespace has its loopback down: it comes up in the same step.
      const netnsPath = await this.#timed('netns', () => createNetns(this.#netnsDir, containerId, { loopbackUp: true, helper: this.#options.mountHelper }));
      const file: EndpointFile = { containerId, netnsPath, endpoints: [] };
      onNamespace?.(netnsPath);
      try {
        this.#store.endpoints.set(containerId, file);
        // The first endpoint's record (written before its ADD) names the namespace too; a crash before it
        // leaves a handle of no endpoint file, which recovery removes.
        if (requests.length === 0) await this.#timed('record', () => this.#store.saveEndpoints(file));
        for (const request of requests) await this.#addEndpoint(file, request);
      } catch (err) {
        this.#steps = [];
        await this.#tearDown(containerId).catch(() => {});
        await removeNetns(netnsPath, this.#options.mountHelper);
        throw err;
      }
      this.#logSteps('network set up', containerId, t0);
      return { netnsPath, endpoints: file.endpoints.map(stripEndpoint) };
    });
  }

  /** Join a running container (one with a namespace from setUp) to one more network. */
  connect(containerId: string, request: AttachRequest): Promise<EndpointState> {
    return this.#serial(async () => {
      const file = this.#store.endpoints.get(containerId);
      if (!file) throw new InvalidArgumentError(`container ${containerId} has no network namespace of its own`);
      return stripEndpoint(await this.#addEndpoint(file, request));
    });
  }

  /** Leave one network (CNI DEL); the namespace stays. */
  disconnect(containerId: string, networkId: string): Promise<void> {
    return this.#serial(async () => {
      const file = this.#store.endpoints.get(containerId);
      const endpoint = file?.endpoints.find((e) => e.networkId === networkId);
      if (!file || !endpoint) return;
      await this.#endpoints.del(file, endpoint);
      file.endpoints = file.endpoints.filter((e) => e !== endpoint);
      await this.#store.saveEndpoints(file);
    });
  }

  /** Leave every network in reverse order, release ports and remove the namespace. Idempotent. */
  tearDown(containerId: string): Promise<void> {
    return this.#serial(async () => {
      const t0 = performance.now();
      this.#steps = [];
      const hadEndpoints = this.#store.endpoints.has(containerId);
      await this.#tearDown(containerId);
      if (hadEndpoints) this.#logSteps('network torn down', containerId, t0);
    });
  }

  async #tearDown(containerId: string): Promise<void> {
    const file = this.#store.endpoints.get(containerId);
    this.#ports.release(containerId);
    if (!file) {
      await removeNetns(join(this.#netnsDir, containerId), this.#options.mountHelper);
      return;
    }
    for (const endpoint of [...file.endpoints].reverse()) {
      await this.#endpoints.del(file, endpoint).catch((err: unknown) =>
        this.#options.logger.warn('CNI DEL failed', { id: containerId, network: endpoint.networkName, error: messageOf(err) }),
      );
    }
    await this.#timed('netns', () => removeNetns(file.netnsPath, this.#options.mountHelper));
    await this.#store.removeEndpoints(containerId);
  }

  async #addEndpoint(file: EndpointFile, request: AttachRequest): Promise<EndpointState> {
    const record = this.get(request.networkId);
    if (record.driver !== 'bridge') throw new InvalidArgumentError(`container cannot be connected to network ${record.name}`);
    if (file.endpoints.some((e) => e.networkId === record.id)) {
      throw new PredefinedNetworkError(`endpoint with name ${request.containerName} already exists in network ${record.name}`);
    }
    checkEndpointAddresses(record, request.ipv4Address, request.ipv6Address);
    return this.#endpoints.add(file, record, request);
  }

  // ---- crash safety ----------------------------------------------------------------

  /**
   * After a daemon start (once the CNI plugins a crash left running have finished): DEL the
   * endpoints of containers that no longer run, remove their namespace handles and any lease
   * held for an unknown container, and hold the published ports of those that still run again.
   */
  recover(runningContainerIds: ReadonlySet<string>): Promise<void> {
    return this.#serial(async () => {
      const endpoints = this.#store.endpoints;
      // An ADD the crash cut short may still run (its plugin outlived the daemon): DEL after it.
      const orphans = await waitForOrphanedPlugins(endpoints.keys());
      if (orphans.length > 0) this.#options.logger.warn('CNI plugins a crashed daemon started still run; recovering without waiting longer', { pids: orphans });
      // The config and result files of plugin calls a crash cut short (a plugin still running writes to its unlinked file).
      await rm(cniIoDirOf(this.#options.execRoot), { recursive: true, force: true });
      for (const containerId of [...endpoints.keys()]) {
        if (runningContainerIds.has(containerId)) {
          // Each endpoint's ports again, relaying (on IPv6 host addresses) to that endpoint's addresses.
          const held = endpoints.get(containerId)!.endpoints.map((e) => this.#ports.reserve(containerId, e.ports, () => e));
          await Promise.all(held).catch((err: unknown) =>
            this.#options.logger.warn('could not hold published ports again', { id: containerId, error: messageOf(err) }),
          );
          continue;
        }
        this.#options.logger.info('removing the network of a container that no longer runs', { id: containerId });
        await this.#tearDown(containerId);
      }
      for (const name of await listNetns(this.#netnsDir)) {
        if (!endpoints.has(name)) await removeNetns(join(this.#netnsDir, name), this.#options.mountHelper);
      }
      // host-local's lease files hold `<containerId>\r\n<ifname>`: a lease of no known endpoint is stale.
      const ipamDir = this.#store.ipamDir;
      for (const network of await readdir(ipamDir).catch(() => [] as string[])) {
        for (const lease of await readdir(join(ipamDir, network)).catch(() => [] as string[])) {
          if (!/^[\d.]+$/.test(lease) && !/^[0-9a-f]*:[0-9a-f:]*$/.test(lease)) continue;
          const owner = (await readFile(join(ipamDir, network, lease), 'utf8').catch(() => '')).split(/\s/)[0] ?? '';
          if (!endpoints.has(owner)) await rm(join(ipamDir, network, lease), { force: true });
        }
      }
    });
  }

  /** At daemon shutdown: stop holding ports, remove bridges no container uses (CNI makes them again). */
  async close(): Promise<void> {
    await this.#serial(async () => {
      this.#ports.releaseAll();
      await this.#dns.stopAll();
      for (const record of this.#store.records()) {
        if (record.driver === 'bridge' && this.endpointsOf(record.id).length === 0) await this.#bridges.remove(record);
      }
    });
  }

  // ---- helpers ---------------------------------------------------------------------

  /** The config list goes first: a record is visible only once everything it needs exists. */
  async #saveBridge(record: NetworkRecord): Promise<NetworkRecord> {
    await this.#store.writeConflist(record.id, conflistFor(record, true, this.#store.ipamDir));
    // The default network's bridge waits for its first container (a daemon that never runs one leaves nothing on the host).
    const bridgeExisted = await this.#bridges.exists(record.bridgeName);
    // The record before the bridge: a crash between them leaves a record whose bridge the next
    // start makes (open() ensures every bridge), never a bridge and rules no record names.
    const saved = await this.#store.save(record).catch(async (err: unknown) => {
      await this.#store.removeConflist(record.id);
      throw err;
    });
    try {
      if (!record.isPredefined) {
        crashPoint('network-create.recorded');
        await this.#bridges.ensure(record);
      }
      return saved;
    } catch (err) {
      // Nothing half-made: no record, rules, config list or (unless it was there before) bridge of a network that does not exist.
      if (bridgeExisted) await this.#bridges.removeRules(record).catch(() => {});
      else await this.#bridges.remove(record).catch(() => {});
      await this.#store.remove(record);
      await this.#store.removeConflist(record.id);
      throw err;
    }
  }
}
