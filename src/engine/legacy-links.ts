/**
 * Legacy links (`--link name[:alias]`), as dockerd keeps them (daemon/links, registerLinks,
 * setupLinkedContainers): resolved to the target's id at create; at each start on the default
 * bridge the target must run, and the process gets docker's link variables (ALIAS_NAME,
 * ALIAS_PORT..., ALIAS_ENV_...). /etc/hosts names the target by its alias, hostname and name,
 * on the default bridge as dockerd writes it and on a user-defined network too, where dockerd
 * makes the alias resolvable to this container (docker-compose 1.29 sends links there).
 */
import { ConflictError, InvalidArgumentError } from '../common/index.js';
import { isRunningStatus, type ContainerRecord, type HostSettings } from './container.js';

/** The default network's name (docker's `bridge`). */
const DEFAULT_NETWORK = 'bridge';

/** `name[:alias]` as docker's ParseLink reads it (a leading '/' on either part is dropped). */
export function parseLink(link: string): { name: string; alias: string } {
  const parts = link.split(':');
  if (parts.length > 2 || parts[0] === '') throw new InvalidArgumentError(`bad format for links: ${link}`, { code: 'BERTH_INVALID_SETTING' });
  const name = parts[0]!.replace(/^\//, '');
  const alias = (parts[1] ?? name).replace(/^\//, '');
  if (alias === '') throw new InvalidArgumentError(`bad format for links: ${link}`, { code: 'BERTH_INVALID_SETTING' });
  return { name, alias };
}

/**
 * At create: the links of `links` (HostConfig.Links and the endpoints' Links) by target id.
 * Throws dockerd's errors: "could not get container for X" (400, so the CLI does not pull),
 * and its conflict with host networking. A target sharing another's network stack is followed
 * to that container, as dockerd does.
 */
export function resolveLinks(links: readonly string[], host: Pick<HostSettings, 'networkMode'>, lookup: (ref: string) => ContainerRecord | undefined): Array<{ targetId: string; targetName: string; alias: string }> {
  if (links.length === 0) return [];
  if (host.networkMode === 'host') throw new InvalidArgumentError("conflicting options: host type networking can't be used with links. This would result in undefined behavior", { code: 'BERTH_INVALID_SETTING' });
  const out: Array<{ targetId: string; targetName: string; alias: string }> = [];
  for (const link of links) {
    const { name, alias } = parseLink(link);
    let target = lookup(name);
    if (!target) throw new InvalidArgumentError(`could not get container for ${name}: No such container: ${name}`, { code: 'BERTH_INVALID_SETTING' });
    for (let hops = 0; target.host.networkMode.startsWith('container:') && hops < 10; hops++) {
      const next = target.host.networkMode.slice('container:'.length);
      const joined = lookup(next);
      if (!joined) throw new InvalidArgumentError(`Could not get container for ${next}`, { code: 'BERTH_INVALID_SETTING' });
      target = joined;
    }
    if (target.host.networkMode === 'host') throw new InvalidArgumentError("conflicting options: host type networking can't be used with links. This would result in undefined behavior", { code: 'BERTH_INVALID_SETTING' });
    if (!out.some((l) => l.alias === alias)) out.push({ targetId: target.id, targetName: target.name, alias });
  }
  return out;
}

/** Whether a container's links are docker's legacy ones: it is on the default bridge. */
function isOnDefaultBridge(record: ContainerRecord): boolean {
  return (record.network?.endpoints ?? []).some((e) => e.networkName === DEFAULT_NETWORK);
}

/** The target's address on a network the container shares with it (the default bridge first). */
function sharedAddress(record: ContainerRecord, target: ContainerRecord): string | undefined {
  const mine = new Set((record.network?.endpoints ?? []).map((e) => e.networkName));
  const theirs = (target.network?.endpoints ?? []).filter((e) => mine.has(e.networkName) && e.ipAddress !== '');
  return (theirs.find((e) => e.networkName === DEFAULT_NETWORK) ?? theirs[0])?.ipAddress;
}

/** `ALIAS` as docker's variables spell it. */
function envPrefix(alias: string): string {
  return alias.toUpperCase().replace(/-/g, '_');
}

/** Exposed ports as docker sorts them for links: by number, tcp before others of the same number. */
function sortedPorts(exposed: Record<string, unknown>): Array<{ port: number; proto: string }> {
  return Object.keys(exposed)
    .map((key) => {
      const [port, proto = 'tcp'] = key.split('/');
      return { port: Number(port), proto: proto.toLowerCase() };
    })
    .filter((p) => Number.isInteger(p.port))
    .sort((a, b) => a.port - b.port || (a.proto === 'tcp' ? -1 : b.proto === 'tcp' ? 1 : a.proto.localeCompare(b.proto)));
}

/** docker's link variables for one link (moby daemon/links Link.ToEnv). */
export function linkEnvironment(childName: string, alias: string, ip: string, target: Pick<ContainerRecord, 'settings'>): string[] {
  const prefix = envPrefix(alias);
  const env: string[] = [];
  const ports = sortedPorts(target.settings.exposedPorts ?? {});
  if (ports.length > 0) env.push(`${prefix}_PORT=${ports[0]!.proto}://${ip}:${ports[0]!.port}`);
  // Runs of consecutive ports of one protocol also get range variables, as docker's do.
  for (let i = 0; i < ports.length; ) {
    let j = i;
    while (j + 1 < ports.length && ports[j + 1]!.proto === ports[i]!.proto && ports[j + 1]!.port === ports[j]!.port + 1) j++;
    const start = ports[i]!;
    const end = ports[j]!;
    const PROTO = start.proto.toUpperCase();
    if (j > i) {
      env.push(`${prefix}_PORT_${start.port}_${PROTO}_START=${start.proto}://${ip}:${start.port}`);
      env.push(`${prefix}_PORT_${start.port}_${PROTO}_ADDR=${ip}`);
      env.push(`${prefix}_PORT_${start.port}_${PROTO}_PORT_START=${start.port}`);
      env.push(`${prefix}_PORT_${start.port}_${PROTO}_PORT_END=${end.port}`);
      env.push(`${prefix}_PORT_${start.port}_${PROTO}_END=${end.proto}://${ip}:${end.port}`);
    }
    i = j + 1;
  }
  for (const { port, proto } of ports) {
    const PROTO = proto.toUpperCase();
    env.push(`${prefix}_PORT_${port}_${PROTO}=${proto}://${ip}:${port}`);
    env.push(`${prefix}_PORT_${port}_${PROTO}_ADDR=${ip}`);
    env.push(`${prefix}_PORT_${port}_${PROTO}_PORT=${port}`);
    env.push(`${prefix}_PORT_${port}_${PROTO}_PROTO=${proto}`);
  }
  env.push(`${prefix}_NAME=/${childName}/${alias}`);
  for (const entry of target.settings.env ?? []) {
    const eq = entry.indexOf('=');
    if (eq <= 0) continue;
    const key = entry.slice(0, eq);
    // docker skips what a build adds and means nothing to the linking container.
    if (key === 'HOME' || key === 'PATH') continue;
    env.push(`${prefix}_ENV_${key}=${entry.slice(eq + 1)}`);
  }
  return env;
}

/**
 * At start, once the container's network is set up: the link variables of a container on the
 * default bridge (none elsewhere, as dockerd). Throws dockerd's 409 for a target that is not
 * running, and its error for one not on the default bridge.
 */
export function linkEnvironmentAtStart(record: ContainerRecord, lookup: (ref: string) => ContainerRecord | undefined): string[] {
  const links = record.host.links ?? [];
  if (links.length === 0 || !isOnDefaultBridge(record)) return [];
  const env: string[] = [];
  for (const link of links) {
    const target = lookup(link.targetId);
    const targetName = target ? `/${target.name}` : link.targetId;
    if (!target || !isRunningStatus(target.state.status)) {
      throw new ConflictError('BERTH_CONTAINER_NOT_RUNNING', `Cannot link to a non running container: ${targetName} AS /${record.name}/${link.alias}`);
    }
    const ip = (target.network?.endpoints ?? []).find((e) => e.networkName === DEFAULT_NETWORK)?.ipAddress;
    if (!ip) throw new InvalidArgumentError(`container ${target.id} not attached to default bridge network`, { code: 'BERTH_INVALID_SETTING' });
    env.push(...linkEnvironment(record.name, link.alias, ip, target));
  }
  return env;
}

/** The /etc/hosts entries of a container's links: the alias, the target's hostname and its name (when not the alias), as dockerd writes them. */
export function linkHostEntries(record: ContainerRecord, lookup: (ref: string) => ContainerRecord | undefined): Array<{ address: string; names: string[] }> {
  const entries: Array<{ address: string; names: string[] }> = [];
  for (const link of record.host.links ?? []) {
    const target = lookup(link.targetId);
    if (!target || !isRunningStatus(target.state.status)) continue;
    const address = sharedAddress(record, target);
    if (!address) continue;
    const names = [link.alias, target.settings.hostname];
    if (link.alias !== target.name) names.push(target.name);
    entries.push({ address, names });
  }
  return entries;
}

/** inspect's HostConfig.Links: `/target:/container/alias`, as dockerd reports them (the target's name as at create). */
export function linksForInspect(record: Pick<ContainerRecord, 'name' | 'host'>): string[] | null {
  const links = record.host.links ?? [];
  if (links.length === 0) return null;
  return links.map((link) => `/${link.targetName}:/${record.name}/${link.alias}`);
}
