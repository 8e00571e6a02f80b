/**
 * A VM container's network: the container's network namespace (made by CNI, as for a process
 * container) keeps its veth `eth0`; a tap device beside it is joined to it with tc (an ingress
 * qdisc and a u32 match-all filter redirecting every frame, both ways, as Kata's tc-redirect
 * does), QEMU runs inside that namespace with a virtio-net device on the tap carrying eth0's
 * MAC, and the guest agent gives the guest's interface eth0's name, MTU, addresses and routes.
 * So the bridge, port publishing and DNS see the same MAC and IP as for a process container.
 */
import { writeFileSync, rmSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RuntimeSpec } from '../oci/index.js';
import { runCommand, type CommandResult } from '../sys/index.js';

/** The name of the file in the state directory that holds the netns path (the C shim setns()s to it). */
export const NETNS_FILE = 'netns';
/** Taps are named for the interface they serve: `bvm-eth0`. */
const TAP_PREFIX = 'bvm-';

/** One interface of the container's namespace as the guest must see it. */
export interface GuestInterface {
  /** Its name in the namespace, which the guest's interface takes (`eth0`). */
  name: string;
  mac: string;
  mtu: number;
  /** IPv4 addresses with their prefix lengths. */
  addresses: { address: string; prefixLength: number }[];
  /** The tap device beside it. */
  tap: string;
}

/** One IPv4 route through a gateway. */
export interface GuestRoute {
  /** `0.0.0.0` with prefix 0 for the default route. */
  destination: string;
  prefixLength: number;
  gateway: string;
  device: string;
}

/** What the shim needs to give a VM its network: plain data, so a shim in any language can use it. */
export interface GuestNetwork {
  /** QEMU must run in this network namespace (`nsenter --net=<path>` or setns). */
  netnsPath: string;
  /** `-netdev`/`-device` pairs, one virtio-net device per interface. */
  qemuArgs: string[];
  /** START fields (`iface=`, `addr=`, `route=`; PROTOCOL.md). */
  startFields: string[];
  /** The same for a VM template and its clones: the devices carry the template's MACs. */
  templateQemuArgs: string[];
  templateStartFields: string[];
  /** virtio-mmio transports the devices take (one per interface). */
  deviceCount: number;
  /**
   * What undoes the set-up once the VM is gone, as `ip -batch` and `tc -batch` input run inside
   * the namespace (the C shim runs them as it ends; releaseGuestNetwork is the fallback).
   */
  releaseIpBatch: string;
  releaseTcBatch: string;
}

/** The VM cannot get the network the spec asks for. */
export class GuestNetworkError extends Error {}

/**
 * The spec's network namespace: `host` (no network namespace: the host's, which a VM cannot
 * share), `new` (a fresh, loopback-only one: `--network none`) or a prepared one's path.
 */
export function networkNamespaceOf(spec: RuntimeSpec): 'host' | 'new' | { path: string } {
  const ns = spec.linux?.namespaces?.find((n) => n.type === 'network');
  if (!ns) return 'host';
  return ns.path ? { path: ns.path } : 'new';
}

interface IpLink {
  ifname: string;
  address?: string;
  mtu?: number;
  link_type?: string;
  addr_info?: { family: string; local: string; prefixlen: number }[];
}

interface IpRoute {
  dst: string;
  gateway?: string;
  dev?: string;
}

/** The namespace's Ethernet interfaces (not lo, not our taps), from `ip -j addr show`. */
export function interfacesFromIpJson(json: string): GuestInterface[] {
  const links = JSON.parse(json) as IpLink[];
  return links
    .filter((l) => l.link_type === 'ether' && !l.ifname.startsWith(TAP_PREFIX) && l.address)
    .map((l) => ({
      name: l.ifname,
      mac: l.address!,
      mtu: l.mtu ?? 1500,
      addresses: (l.addr_info ?? []).filter((a) => a.family === 'inet').map((a) => ({ address: a.local, prefixLength: a.prefixlen })),
      tap: `${TAP_PREFIX}${l.ifname}`.slice(0, 15),
    }));
}

/** The gateway routes among `ip -j -4 route show`; the subnet routes follow from the addresses. */
export function routesFromIpJson(json: string): GuestRoute[] {
  const routes = JSON.parse(json) as IpRoute[];
  const result: GuestRoute[] = [];
  for (const r of routes) {
    if (!r.gateway || !r.dev) continue;
    if (r.dst === 'default') {
      result.push({ destination: '0.0.0.0', prefixLength: 0, gateway: r.gateway, device: r.dev });
      continue;
    }
    const [destination, prefix] = r.dst.split('/');
    result.push({ destination: destination!, prefixLength: prefix === undefined ? 32 : Number(prefix), gateway: r.gateway, device: r.dev });
  }
  return result;
}

/**
 * The MAC of a VM template's Nth network device (src/vm/vm-template.ts): every clone of the
 * template starts with it, and its START gives the device the container's.
 */
export function templateMac(index: number): string {
  return `02:b5:00:00:00:${index.toString(16).padStart(2, '0')}`;
}

/**
 * QEMU's devices for the interfaces: a tap backend and a virtio-net device with the MAC (the
 * template's with isTemplate: the guest sets the container's at START).
 */
export function networkQemuArgs(interfaces: readonly GuestInterface[], isTemplate = false): string[] {
  return interfaces.flatMap((iface, index) => [
    '-netdev', `tap,id=net${index},ifname=${iface.tap},script=no,downscript=no`,
    '-device', `virtio-net-device,netdev=net${index},mac=${isTemplate ? templateMac(index) : iface.mac}`,
  ]);
}

/**
 * The START fields for the interfaces and routes (PROTOCOL.md: `iface`, `addr`, `route`); with
 * isTemplate each interface names the template's MAC it has before START.
 */
export function networkStartFields(interfaces: readonly GuestInterface[], routes: readonly GuestRoute[], isTemplate = false): string[] {
  const fields: string[] = [];
  for (const [index, iface] of interfaces.entries()) {
    fields.push(`iface=${iface.mac}/${iface.name}/${iface.mtu}${isTemplate ? `/${templateMac(index)}` : ''}`);
    for (const a of iface.addresses) fields.push(`addr=${iface.name}/${a.address}/${a.prefixLength}`);
  }
  for (const r of routes) {
    if (!interfaces.some((i) => i.name === r.device)) continue;
    fields.push(`route=${r.destination}/${r.prefixLength}/${r.gateway}/${r.device}`);
  }
  return fields;
}

function inNetns(netnsPath: string, program: string, args: readonly string[], input?: string): Promise<CommandResult> {
  return runCommand('nsenter', [`--net=${netnsPath}`, '--', program, ...args], { timeoutMs: 10_000, ...(input !== undefined ? { input } : {}) });
}

async function mustInNetns(netnsPath: string, program: string, args: readonly string[], input?: string): Promise<string> {
  const result = await inNetns(netnsPath, program, args, input);
  if (result.exitCode !== 0) {
    throw new GuestNetworkError(`${program} ${args.join(' ')} in the container's network namespace: ${result.stderr.trim() || `exit status ${result.exitCode}`}`);
  }
  return result.stdout;
}

/** `ip -batch` input that adds each interface's tap, up, with the interface's MTU. */
function plugIpBatch(interfaces: readonly GuestInterface[]): string {
  return interfaces.map((iface) => `tuntap add dev ${iface.tap} mode tap\nlink set ${iface.tap} mtu ${iface.mtu} up\n`).join('');
}

/** `tc -batch` input that redirects every frame between each interface and its tap, both ways. */
function plugTcBatch(interfaces: readonly GuestInterface[]): string {
  return interfaces
    .flatMap((iface) => [[iface.name, iface.tap], [iface.tap, iface.name]])
    .map(([from, to]) => `qdisc add dev ${from} ingress\nfilter add dev ${from} parent ffff: protocol all u32 match u8 0 0 action mirred egress redirect dev ${to}\n`)
    .join('');
}

/** `ip -batch` and `tc -batch` input that undoes plugIpBatch and plugTcBatch. */
function unplugBatches(interfaces: readonly Pick<GuestInterface, 'name' | 'tap'>[]): { ip: string; tc: string } {
  return {
    ip: interfaces.map((iface) => `link del ${iface.tap}\n`).join(''),
    tc: interfaces.map((iface) => `qdisc del dev ${iface.name} ingress\n`).join(''),
  };
}

/** Remove the taps and the redirects of a namespace; what is already gone is no error (-force). */
async function unplug(netnsPath: string, interfaces: readonly Pick<GuestInterface, 'name' | 'tap'>[]): Promise<void> {
  const batches = unplugBatches(interfaces);
  await inNetns(netnsPath, 'ip', ['-force', '-batch', '-'], batches.ip);
  await inNetns(netnsPath, 'tc', ['-force', '-batch', '-'], batches.tc);
}

/**
 * Before QEMU starts: for a prepared namespace, add a tap per interface and redirect it to and
 * from that interface, write the namespace's path to `<stateDir>/netns`, and return QEMU's
 * devices and the guest's START fields. `--network none` (a new namespace) needs nothing: the
 * guest's own loopback is all it gets (undefined). Throws GuestNetworkError for the host's
 * namespace (a VM has its own kernel, so it cannot share the host's stack) and when the
 * namespace cannot be set up, leaving nothing behind.
 */
export async function prepareGuestNetwork(spec: RuntimeSpec, stateDir: string): Promise<GuestNetwork | undefined> {
  const ns = networkNamespaceOf(spec);
  if (ns === 'host') throw new GuestNetworkError('a VM container cannot use the host\'s network stack (--network host)');
  if (ns === 'new') return undefined;
  const netnsPath = ns.path;
  // Each nsenter is a process or two: ask, plug and redirect with as few as possible.
  const [addrJson, routeJson] = await Promise.all([
    mustInNetns(netnsPath, 'ip', ['-j', 'addr', 'show']),
    mustInNetns(netnsPath, 'ip', ['-j', '-4', 'route', 'show']),
  ]);
  const interfaces = interfacesFromIpJson(addrJson);
  const routes = routesFromIpJson(routeJson);
  // A namespace reused after a restart may still hold our devices from the last run.
  const hasLeftovers = (JSON.parse(addrJson) as IpLink[]).some((l) => l.ifname.startsWith(TAP_PREFIX));
  if (hasLeftovers) await unplug(netnsPath, interfaces);
  try {
    await mustInNetns(netnsPath, 'ip', ['-batch', '-'], plugIpBatch(interfaces));
    await mustInNetns(netnsPath, 'tc', ['-batch', '-'], plugTcBatch(interfaces));
    writeFileSync(join(stateDir, NETNS_FILE), `${netnsPath}\n`);
  } catch (err) {
    await unplug(netnsPath, interfaces);
    throw err;
  }
  return {
    netnsPath,
    qemuArgs: networkQemuArgs(interfaces),
    startFields: networkStartFields(interfaces, routes),
    templateQemuArgs: networkQemuArgs(interfaces, true),
    templateStartFields: networkStartFields(interfaces, routes, true),
    deviceCount: interfaces.length,
    releaseIpBatch: unplugBatches(interfaces).ip,
    releaseTcBatch: unplugBatches(interfaces).tc,
  };
}

/**
 * After the VM is gone: remove the taps and redirects in the namespace named by
 * `<stateDir>/netns`, and that file. Never throws; safe to call twice, or when the namespace is
 * gone already (its devices went with it).
 */
export async function releaseGuestNetwork(stateDir: string): Promise<void> {
  let netnsPath: string;
  try {
    netnsPath = readFileSync(join(stateDir, NETNS_FILE), 'utf8').trim();
  } catch {
    return;
  }
  try {
    const listed = await inNetns(netnsPath, 'ip', ['-j', 'link', 'show']);
    if (listed.exitCode === 0) {
      const taps = (JSON.parse(listed.stdout) as IpLink[]).filter((l) => l.ifname.startsWith(TAP_PREFIX));
      if (taps.length > 0) await unplug(netnsPath, taps.map((t) => ({ tap: t.ifname, name: t.ifname.slice(TAP_PREFIX.length) })));
    }
  } catch {
    // The namespace is gone, and our devices with it.
  }
  rmSync(join(stateDir, NETNS_FILE), { force: true });
}
