/**
 * Networks as the API sees them: the network service plus what only the engine knows, which
 * containers are on each network. `connect` and `disconnect` change a container's networks,
 * at once when it runs and at its next start otherwise.
 */
import { BerthError, crashPoint, boolFilter, checkFilterKeys, filterValues, idMatches, InvalidArgumentError, InvalidFilterError, labelsMatch, nameMatches, timeFilterMs, type Filters } from '../common/index.js';
import { isRunningStatus } from './container.js';
import { IPv6NetworkUnsupportedError, refreshHostsFiles, refreshResolvConf, type EndpointSettingsInput, type NetworkingContext } from './container-networking.js';
import type { ContainerService } from './container-service.js';
import type { EventBus } from './events.js';
import type { EngineNetwork, NetworkEndpoint, NetworkPort } from './ports.js';

/** A network with the running containers attached to it. */
export interface NetworkUsage {
  network: EngineNetwork;
  containers: Array<{ id: string; endpoint: NetworkEndpoint }>;
}

const LIST_FILTERS = ['driver', 'id', 'label', 'label!', 'name', 'scope', 'type', 'dangling'];
const PRUNE_FILTERS = ['label', 'label!', 'until'];

/** The engine's network operations. */
export class NetworkManager {
  readonly #port: NetworkPort;
  readonly #containers: ContainerService;
  readonly #events: EventBus;

  constructor(options: { port: NetworkPort; containers: ContainerService; events: EventBus }) {
    this.#port = options.port;
    this.#containers = options.containers;
    this.#events = options.events;
  }

  #usage(network: EngineNetwork): NetworkUsage {
    return { network, containers: this.#port.endpointsOf(network.id).map((e) => ({ id: e.containerId, endpoint: e.endpoint })) };
  }

  /** Whether any container (running or not) names the network. */
  #isReferenced(network: EngineNetwork): boolean {
    return this.#containers.all().some((c) => c.host.networks?.[network.name] !== undefined || c.host.networkMode === network.name || c.host.networkMode === network.id);
  }

  /** `GET /networks` with docker's filters. */
  list(filters: Filters): NetworkUsage[] {
    checkFilterKeys(filters, LIST_FILTERS);
    const dangling = boolFilter(filters, 'dangling');
    for (const type of filterValues(filters, 'type')) if (type !== 'builtin' && type !== 'custom') throw new InvalidFilterError('type', [type]);
    return this.#port
      .list()
      .filter((n) => {
        if (filters['driver']?.length && !filters['driver'].includes(n.driver)) return false;
        if (!idMatches(n.id, filterValues(filters, 'id'))) return false;
        if (!nameMatches(n.name, filterValues(filters, 'name'))) return false;
        if (filters['scope']?.length && !filters['scope'].includes('local')) return false;
        if (filters['type']?.length && !filters['type'].includes(n.isPredefined ? 'builtin' : 'custom')) return false;
        if (!labelsMatch(n.labels, filters)) return false;
        if (dangling !== undefined && dangling === (n.isPredefined || this.#isReferenced(n))) return false;
        return true;
      })
      .map((n) => this.#usage(n));
  }

  get(ref: string): NetworkUsage {
    return this.#usage(this.#port.get(ref));
  }

  async create(request: Parameters<NetworkPort['create']>[0]): Promise<EngineNetwork> {
    const network = await this.#port.create(request);
    this.#events.publish('network', 'create', network.id, { name: network.name, type: network.driver });
    return network;
  }

  async remove(ref: string): Promise<void> {
    const network = this.#port.get(ref);
    await this.#port.remove(network.id);
    this.#events.publish('network', 'destroy', network.id, { name: network.name, type: network.driver });
  }

  /** Remove every user-defined network no container refers to (matching `label` and `until`). */
  async prune(filters: Filters): Promise<string[]> {
    checkFilterKeys(filters, PRUNE_FILTERS);
    const untilMs = timeFilterMs(filters, 'until');
    const deleted: string[] = [];
    for (const network of this.#port.list()) {
      if (network.isPredefined || this.#isReferenced(network)) continue;
      if (!labelsMatch(network.labels, filters)) continue;
      if (untilMs !== undefined && Date.parse(network.created) >= untilMs) continue;
      try {
        await this.remove(network.id);
        deleted.push(network.name);
      } catch {
        // In use after all (a container started meanwhile): keep it.
      }
    }
    return deleted;
  }

  /** Join a container to a network: now when it runs in its own namespace, else at its next start. */
  async connect(networkRef: string, containerRef: string, settings: EndpointSettingsInput): Promise<void> {
    const network = this.#port.get(networkRef);
    const id = this.#containers.get(containerRef).id;
    await this.#containers.withLock(id, async () => {
      const record = this.#containers.get(id);
      const mode = record.host.networkMode;
      if (network.driver !== 'bridge' || mode === 'host' || mode === 'none' || mode.startsWith('container:')) {
        throw new BerthError('forbidden', 'BERTH_NETWORK_MODE', network.driver === 'host' || mode === 'host' ? 'container cannot be disconnected from host network or connected to host network' : `container sharing network namespace with another container or host cannot be connected to any other network`);
      }
      const networks = { ...(record.host.networks ?? {}) };
      if (networks[network.name] !== undefined) {
        throw new BerthError('forbidden', 'BERTH_ENDPOINT_EXISTS', `endpoint with name ${record.name} already exists in network ${network.name}`);
      }
      if (network.ipv6 && this.#containers.runtimeFor(record).traits.ipv4Only) throw new IPv6NetworkUnsupportedError(network.name);
      if (!this.#containers.runtimeFor(record).traits.hotPlugsNetworks && isRunningStatus(record.state.status)) {
        // The VM's devices are fixed at boot (no hot-plug on microvm): the network joins at the next start.
        throw new BerthError('conflict', 'BERTH_VM_NETWORK_HOTPLUG', `cannot connect running VM container ${record.name} to network ${network.name}: stop it first (it joins at its next start)`);
      }
      this.#port.checkAddresses(network.id, settings.ipv4Address, settings.ipv6Address ?? '');
      if (isRunningStatus(record.state.status) && record.network) {
        const endpoint = await this.#port.connect(id, { networkId: network.id, containerName: record.name, aliases: settings.aliases, ipv4Address: settings.ipv4Address, ipv6Address: settings.ipv6Address ?? '', macAddress: settings.macAddress, ports: [], dnsServers: record.host.dns });
        crashPoint('network-connect.endpoint-added');
        record.network = { ...record.network, endpoints: [...record.network.endpoints, endpoint] };
        await refreshResolvConf(record, this.#context());
      }
      networks[network.name] = { ...settings, networkId: network.id };
      record.host = { ...record.host, networks };
      await this.#containers.saveRecord(record);
      await refreshHostsFiles(this.#context());
    });
    this.#events.publish('network', 'connect', network.id, { container: id, name: network.name, type: network.driver });
  }

  /**
   * At start, after the network service's recovery: an endpoint of a running container on a
   * network its record does not name is a connect a crash cut short (the endpoint was made, the
   * record never saved). It leaves, so the connect left no trace and can be repeated. Returns
   * what left, for the log.
   */
  async recoverConnects(): Promise<Array<{ containerId: string; network: string }>> {
    const undone: Array<{ containerId: string; network: string }> = [];
    for (const record of this.#containers.all()) {
      if (!isRunningStatus(record.state.status)) continue;
      const named = Object.entries(record.host.networks ?? {});
      for (const endpoint of this.#port.endpointsOfContainer(record.id)) {
        if (named.some(([name, settings]) => name === endpoint.networkName || settings.networkId === endpoint.networkId)) continue;
        await this.#port.disconnect(record.id, endpoint.networkId);
        undone.push({ containerId: record.id, network: endpoint.networkName });
      }
    }
    return undone;
  }

  /** Leave a network (now if running) and forget it for later starts. */
  async disconnect(networkRef: string, containerRef: string): Promise<void> {
    const network = this.#port.get(networkRef);
    const id = this.#containers.get(containerRef).id;
    await this.#containers.withLock(id, async () => {
      const record = this.#containers.get(id);
      if (record.host.networkMode === 'host' || network.driver === 'host') {
        throw new BerthError('forbidden', 'BERTH_NETWORK_MODE', 'container cannot be disconnected from host network or connected to host network');
      }
      const networks = { ...(record.host.networks ?? {}) };
      if (networks[network.name] === undefined) {
        throw new BerthError('forbidden', 'BERTH_NOT_CONNECTED', `container ${id} is not connected to network ${network.name}`);
      }
      if (record.network) {
        await this.#port.disconnect(id, network.id);
        record.network = { ...record.network, endpoints: record.network.endpoints.filter((e) => e.networkId !== network.id) };
        await refreshResolvConf(record, this.#context());
      }
      delete networks[network.name];
      record.host = { ...record.host, networks };
      await this.#containers.saveRecord(record);
      await refreshHostsFiles(this.#context());
    });
    this.#events.publish('network', 'disconnect', network.id, { container: id, name: network.name, type: network.driver });
  }

  /** The container's network for inspect's NetworkSettings. */
  networkOf(ref: string): EngineNetwork | undefined {
    try {
      return this.#port.get(ref);
    } catch {
      return undefined;
    }
  }

  #context(): NetworkingContext {
    return {
      port: this.#port,
      get: (ref) => this.#containers.get(ref),
      all: () => this.#containers.all(),
      userdataOf: (id) => this.#containers.pathsOf(id).userdata,
      traitsOf: (record) => this.#containers.runtimeFor(record).traits,
    };
  }
}
