/**
 * A container's networking as the container service drives it: which networks a create asks
 * for, the namespace the runtime gets at start (new, the host's, another container's, or one
 * the network service prepared and joined to its networks), the published ports, /etc/hosts
 * (the container itself, as docker) and a resolv.conf that points containers on user-defined
 * networks at the DNS responder on their gateway.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BerthError, ConflictError, InvalidArgumentError } from '../common/index.js';
import { isRunningStatus, type ContainerRecord, type HostSettings } from './container.js';
import { buildHosts, buildResolvConf, readHostResolvConf } from './etc-files.js';
import { linkHostEntries } from './legacy-links.js';
import { findOrUndefined } from './shared-namespaces.js';
import type { NetworkAttachRequest, NetworkPort, NetworkPortMapping, RuntimeTraits } from './ports.js';

/** What the helpers need from the container service. */
export interface NetworkingContext {
  port: NetworkPort | undefined;
  get(ref: string): ContainerRecord;
  all(): ContainerRecord[];
  userdataOf(id: string): string;
  /** What the runtime of `record` allows (sharing its network namespace...). */
  traitsOf(record: ContainerRecord): RuntimeTraits;
}

/** An IPv6 network for a container whose runtime configures IPv4 only (a VM guest): refused rather than an address inspect shows and the guest lacks. */
export class IPv6NetworkUnsupportedError extends BerthError {
  constructor(networkName: string) {
    super('invalid-argument', 'BERTH_VM_IPV6', `network ${networkName} has IPv6, which VM containers (--isolation=vm) do not support: their guest is configured with IPv4 only`);
  }
}

/** Per-network settings a create or connect asks for. */
export interface EndpointSettingsInput {
  aliases: string[];
  ipv4Address: string;
  /** `--ip6`; absent in records made before Berth had IPv6. */
  ipv6Address?: string;
  macAddress: string;
}

const NO_ENDPOINT: EndpointSettingsInput = { aliases: [], ipv4Address: '', macAddress: '' };

/**
 * `pod:<id>` mode's holder: a namespace the network service set up under that id for a pod
 * sandbox (the CRI's), which the container joins. Undefined for any other mode.
 */
export function podModeId(networkMode: string): string | undefined {
  return networkMode.startsWith('pod:') ? networkMode.slice('pod:'.length) : undefined;
}

/** `container:<ref>` mode's reference, or undefined for any other mode. */
export function containerModeRef(networkMode: string): string | undefined {
  return networkMode.startsWith('container:') ? networkMode.slice('container:'.length) : undefined;
}

/**
 * At create: resolve `--network` and the per-network settings into `host.networks`, checking
 * that every network (or the container whose stack is shared) exists. Without a network
 * service nothing changes.
 */
export function resolveNetworksAtCreate(host: HostSettings, endpoints: Record<string, EndpointSettingsInput>, ctx: NetworkingContext): void {
  const port = ctx.port;
  if (!port) return;
  if (host.networkMode === '' || host.networkMode === 'default') {
    // docker's CLI names the default network `default` in EndpointsConfig too.
    if (endpoints['default'] !== undefined) {
      const { default: settings, ...rest } = endpoints;
      endpoints = { bridge: settings, ...rest };
    }
    host.networkMode = 'bridge';
  }
  const mode = host.networkMode;
  const sharedRef = containerModeRef(mode);
  if (sharedRef !== undefined) {
    ctx.get(sharedRef);
    host.networks = {};
    return;
  }
  const podId = podModeId(mode);
  if (podId !== undefined) {
    if (port.namespaceOf(podId) === undefined) throw new InvalidArgumentError(`network mode ${mode}: no pod network namespace ${podId}`);
    host.networks = {};
    return;
  }
  // As dockerd: a network that does not exist fails the start, not the create (a 404 from
  // create would make the CLI try to pull the image).
  const exists = (ref: string): boolean => {
    try {
      port.get(ref);
      return true;
    } catch {
      return false;
    }
  };
  if (!exists(mode)) {
    host.networks = { [mode]: { ...(endpoints[mode] ?? NO_ENDPOINT) } };
    return;
  }
  const primary = port.get(mode);
  const networks: NonNullable<HostSettings['networks']> = {};
  const settingsFor = (name: string, id: string): EndpointSettingsInput => endpoints[name] ?? endpoints[id] ?? Object.entries(endpoints).find(([key]) => id.startsWith(key))?.[1] ?? NO_ENDPOINT;
  networks[primary.name] = { ...settingsFor(mode, primary.id), networkId: primary.id };
  if (primary.driver !== 'bridge') {
    if (Object.keys(endpoints).some((key) => key !== mode)) throw new InvalidArgumentError(`container cannot be connected to multiple networks with one of the networks in private (none) mode`);
  } else {
    for (const [ref, settings] of Object.entries(endpoints)) {
      const network = port.get(ref);
      if (network.id === primary.id) continue;
      if (network.driver !== 'bridge') throw new InvalidArgumentError(`container cannot be connected to host network or none network together with others`);
      networks[network.name] = { ...settings, networkId: network.id };
    }
  }
  // Bad addresses fail the create, not the start: nothing is left behind.
  for (const [name, settings] of Object.entries(networks)) port.checkAddresses(settings.networkId ?? name, settings.ipv4Address, settings.ipv6Address ?? '');
  host.networks = networks;
}

/** The published ports a container asks for: `-p` bindings, and with `-P` every exposed port. */
export function portRequestsOf(record: ContainerRecord): NetworkPortMapping[] {
  const out: NetworkPortMapping[] = [];
  const bindings = record.host.portBindings ?? {};
  const keys = new Set(Object.keys(bindings));
  if (record.host.publishAllPorts) for (const key of Object.keys(record.settings.exposedPorts)) keys.add(key);
  for (const key of keys) {
    const [portText, protoText] = key.split('/');
    const containerPort = Number(portText);
    const protocol = (protoText ?? 'tcp') as NetworkPortMapping['protocol'];
    const list = bindings[key] ?? [];
    const effective = list.length > 0 ? list : record.host.publishAllPorts ? [{ hostIp: '', hostPort: '' }] : [];
    for (const binding of effective) {
      // A range (`8000-8010`) takes its first port.
      const hostPort = Number((binding.hostPort || '0').split('-')[0]);
      out.push({ containerPort, protocol, hostIp: binding.hostIp || '0.0.0.0', hostPort: Number.isFinite(hostPort) ? hostPort : 0 });
    }
  }
  return out;
}

/** The network namespace a runtime creates a container in. */
export type ContainerNetworkNamespace = 'new' | 'host' | { path: string };

/**
 * setUpNetwork, with the namespace known early: `namespace` resolves as soon as the runtime can
 * be given it (a bridge-mode container's new namespace exists before its networks are joined),
 * `joined` once every network is joined. A runtime that does not need the interfaces at create
 * is created between the two, beside the CNI plugins. Both reject when the set-up fails.
 */
export function beginNetworkSetUp(record: ContainerRecord, ctx: NetworkingContext): { namespace: Promise<ContainerNetworkNamespace>; joined: Promise<ContainerNetworkNamespace> } {
  let announce: (namespace: ContainerNetworkNamespace) => void = () => {};
  const early = new Promise<ContainerNetworkNamespace>((resolve) => (announce = resolve));
  const joined = setUpNetwork(record, ctx, (path) => announce({ path }));
  const namespace = Promise.race([early, joined]);
  // A caller that waits for `joined` alone sees the failure there; this one must not go unhandled.
  namespace.catch(() => {});
  return { namespace, joined };
}

/**
 * At start, before the runtime creates the container: the namespace it gets. A bridge-mode
 * container gets a namespace the network service made and joined to its networks;
 * `record.network` then holds the endpoints (the caller persists the record). `onNamespace`
 * hears of that namespace once it exists, before its networks are joined.
 */
export async function setUpNetwork(record: ContainerRecord, ctx: NetworkingContext, onNamespace?: (netnsPath: string) => void): Promise<ContainerNetworkNamespace> {
  const port = ctx.port;
  const mode = record.host.networkMode;
  if (!port || !record.host.networks) {
    if (mode === 'host') return 'host';
    return 'new';
  }
  const sharedRef = containerModeRef(mode);
  if (sharedRef !== undefined) {
    const target = ctx.get(sharedRef);
    if (!isRunningStatus(target.state.status) || target.state.pid === 0) {
      throw new ConflictError('BERTH_CONTAINER_NOT_RUNNING', `cannot join network of a non running container: ${target.id}`);
    }
    if (target.host.networkMode === 'host') return 'host';
    if (!ctx.traitsOf(target).sharesNetworkNamespace) {
      // Its namespace's eth0 is redirected into the VM: a process there would see an interface that never receives.
      throw new InvalidArgumentError(`cannot join the network namespace of VM container ${target.id}: its network stack is inside the VM`, { code: 'BERTH_VM_NETWORK_MODE' });
    }
    return { path: port.namespaceOf(target.id) ?? `/proc/${target.state.pid}/ns/net` };
  }
  const podId = podModeId(mode);
  if (podId !== undefined) {
    const path = port.namespaceOf(podId);
    if (path === undefined) throw new ConflictError('BERTH_POD_NETWORK_GONE', `cannot join the network namespace of pod ${podId}: it is stopped or removed`);
    return { path };
  }
  if (mode === 'host') return 'host';
  if (mode === 'none') return 'new';
  const requests: NetworkAttachRequest[] = [];
  for (const [name, settings] of Object.entries(record.host.networks)) {
    const network = port.get(name);
    if (network.ipv6 && ctx.traitsOf(record).ipv4Only) throw new IPv6NetworkUnsupportedError(network.name);
    requests.push({
      networkId: network.id,
      containerName: record.name,
      aliases: settings.aliases,
      ipv4Address: settings.ipv4Address,
      ipv6Address: settings.ipv6Address ?? '',
      macAddress: settings.macAddress,
      ports: requests.length === 0 ? portRequestsOf(record) : [],
      dnsServers: record.host.dns,
    });
  }
  const { netnsPath, endpoints } = await port.setUp(record.id, requests, onNamespace);
  record.network = { sandboxKey: netnsPath, endpoints };
  await refreshResolvConf(record, ctx);
  return { path: netnsPath };
}

/**
 * On user-defined networks names resolve through berthd's DNS responder on each network's
 * gateway (as podman's aardvark-dns; docker uses 127.0.0.11 behind DNAT), so resolv.conf names
 * those gateways instead of the host's resolvers, which the responder forwards to. `--dns`
 * there does not replace the responder (as dockerd's embedded DNS): the responder forwards this
 * container's other names to those servers. On the default `bridge` network alone `--dns` goes
 * into the file as given, and without it the host's resolvers do (no name resolution there).
 * `--dns-search` and `--dns-option` go into the file either way. Called at start and after
 * connect/disconnect of a running container (docker rewrites the file then too); the file is
 * rewritten in place so the bind mount sees it.
 */
export async function refreshResolvConf(record: ContainerRecord, ctx: NetworkingContext): Promise<void> {
  const port = ctx.port;
  if (!port) return;
  const gateways: string[] = [];
  for (const endpoint of record.network?.endpoints ?? []) {
    let isUserNetwork = false;
    try {
      isUserNetwork = !port.get(endpoint.networkId).isPredefined;
    } catch {
      // Removed meanwhile: no responder to point at.
    }
    if (isUserNetwork && endpoint.gateway !== '' && !gateways.includes(endpoint.gateway)) gateways.push(endpoint.gateway);
  }
  const text = buildResolvConf({ dns: gateways.length > 0 ? gateways : record.host.dns, dnsSearch: record.host.dnsSearch, dnsOptions: record.host.dnsOptions, hostResolvConf: await readHostResolvConf() });
  await writeFile(join(ctx.userdataOf(record.id), 'resolv.conf'), text).catch(() => {});
}

/** After the container stopped (or before it is removed): leave every network. Idempotent. */
export async function tearDownNetwork(record: ContainerRecord, ctx: NetworkingContext): Promise<void> {
  if (!ctx.port) return;
  await ctx.port.tearDown(record.id);
  record.network = undefined;
}

/**
 * Rewrite /etc/hosts of every running container with endpoints: its own addresses under its
 * hostname only, as docker writes it (peers on user-defined networks resolve through the DNS
 * responder). The file is rewritten in place, so the bind mount inside the container sees it.
 */
export async function refreshHostsFiles(ctx: NetworkingContext, changed?: ContainerRecord): Promise<void> {
  const port = ctx.port;
  if (!port) return;
  const running = ctx.all().filter((c) => isRunningStatus(c.state.status) && c.network);
  if (changed && !running.some((c) => c.id === changed.id) && changed.network) running.push(changed);
  for (const container of running) {
    const entries: Array<{ address: string; names: string[] }> = [];
    // Links first, as dockerd writes them (with --add-host), then the container's own addresses.
    entries.push(...linkHostEntries(container, (ref) => findOrUndefined(ctx.get, ref)));
    for (const endpoint of container.network?.endpoints ?? []) {
      if (endpoint.ipAddress !== '') entries.push({ address: endpoint.ipAddress, names: [container.settings.hostname] });
    }
    await writeFile(join(ctx.userdataOf(container.id), 'hosts'), buildHosts(container.host.extraHosts, entries)).catch(() => {});
  }
}
