/**
 * Builds a container's OCI config.json from the engine's settings with docker's defaults:
 * namespaces, mounts, capabilities, seccomp, masked paths, devices and cgroup placement.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { release } from 'node:os';
import { InvalidArgumentError, replaceFile } from '../../common/index.js';
import type { LinuxDevice, LinuxDeviceCgroup, LinuxNamespace, RuntimeMount, RuntimeSpec } from '../../oci/index.js';
import { berthCgroupsPath } from '../../sys/index.js';
import type { ContainerRuntimeSettings } from '../types.js';
import {
  ALL_CAPABILITIES, DEFAULT_CAPABILITIES, DEFAULT_MASKED_PATHS, DEFAULT_PATH_ENV, DEFAULT_READONLY_PATHS,
  DEFAULT_SHM_SIZE_BYTES, defaultDeviceRules, defaultMounts,
} from './defaults.js';
import { devicesOf, deviceNumbers, parseDeviceCgroupRule } from './devices.js';
import { resolveGroups, resolveUser } from './resolve-user.js';
import { hostHardLimits, toOciResources, toOciRlimits } from './resources.js';
import { dockerDefaultSeccompProfile } from './docker-default-seccomp.js';
import { hostSeccompTarget, loadSeccompProfile, toOciSeccomp, type MobySeccompProfile, InvalidSeccompProfileError } from './seccomp-profile.js';

/** Host facts the builder needs; tests pass their own, the daemon takes the defaults. */
export interface SpecHost {
  /** The default seccomp profile (moby format); loaded from containers-common when absent. */
  loadDefaultSeccomp: () => Promise<MobySeccompProfile>;
  /** Reads a profile named by `--security-opt seccomp=<path>`. */
  loadSeccompFile: (path: string) => Promise<MobySeccompProfile>;
  /** Capabilities this kernel knows (privileged containers get all of them). */
  knownCapabilities: () => Promise<string[]>;
  /** The host's device nodes, given to privileged containers. */
  hostDevices: () => Promise<LinuxDevice[]>;
  kernelRelease: string;
  /** Ceilings for `--ulimit` hard limits (undefined: no ceiling); berthd's own by default. */
  hardLimits?: () => Promise<Record<string, number> | undefined>;
}

/**
 * The capabilities a container can be given: those this kernel knows, limited to berthd's own
 * bounding set (a host without CAP_SYS_RESOURCE, say, cannot grant it; asking makes capset fail).
 */
async function kernelCapabilities(): Promise<string[]> {
  let known = [...ALL_CAPABILITIES];
  try {
    const last = Number((await readFile('/proc/sys/kernel/cap_last_cap', 'utf8')).trim());
    known = ALL_CAPABILITIES.slice(0, last + 1);
  } catch {
    // Keep every capability we know of.
  }
  try {
    const status = await readFile('/proc/self/status', 'utf8');
    const match = /^CapBnd:\s*([0-9a-f]+)$/m.exec(status);
    if (match) {
      const bounding = BigInt('0x' + match[1]);
      known = known.filter((_name, index) => ((bounding >> BigInt(index)) & 1n) === 1n);
    }
  } catch {
    // No /proc: keep the kernel's list.
  }
  return known;
}

// /dev entries a privileged container must not get from the host: its own pts, shm, mqueue are mounted.
const SKIPPED_DEV_DIRS = new Set(['pts', 'shm', 'mqueue', 'fd', '.lxc', '.udev', 'hugepages']);

async function scanHostDevices(dir = '/dev'): Promise<LinuxDevice[]> {
  const devices: LinuxDevice[] = [];
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (!SKIPPED_DEV_DIRS.has(entry.name)) devices.push(...(await scanHostDevices(path)));
      continue;
    }
    if (!entry.isCharacterDevice() && !entry.isBlockDevice()) continue;
    if (path === '/dev/console') continue;
    const info = await stat(path).catch(() => undefined);
    if (!info) continue;
    const { major, minor } = deviceNumbers(info.rdev);
    devices.push({ path, type: entry.isCharacterDevice() ? 'c' : 'b', major, minor, fileMode: info.mode & 0o7777, uid: info.uid, gid: info.gid });
  }
  return devices;
}

/** The real host. */
export function defaultSpecHost(): SpecHost {
  const builtin = dockerDefaultSeccompProfile();
  return {
    loadDefaultSeccomp: () => Promise.resolve(builtin),
    loadSeccompFile: (path) => loadSeccompProfile(path),
    knownCapabilities: kernelCapabilities,
    hostDevices: () => scanHostDevices(),
    kernelRelease: release(),
  };
}

function normalizeCapability(name: string): string {
  const upper = name.trim().toUpperCase();
  return upper === 'ALL' || upper.startsWith('CAP_') ? upper : `CAP_${upper}`;
}

/**
 * docker's `--cap-add/--cap-drop` rules over the default set: `ALL` in drop empties the set
 * before adds, `ALL` in add grants every known capability minus drops. Unknown names are
 * InvalidArgumentError `unknown capability: "CAP_X"`.
 */
export function computeCapabilities(capAdd: readonly string[], capDrop: readonly string[], known: readonly string[]): string[] {
  const adds = capAdd.map(normalizeCapability);
  const drops = capDrop.map(normalizeCapability);
  for (const cap of [...adds, ...drops]) {
    if (cap !== 'ALL' && !ALL_CAPABILITIES.includes(cap)) throw new InvalidArgumentError(`unknown capability: "${cap}"`);
  }
  if (adds.includes('ALL')) return known.filter((cap) => !drops.includes(cap));
  const base = drops.includes('ALL') ? [] : DEFAULT_CAPABILITIES.filter((cap) => !drops.includes(cap));
  for (const cap of adds) if (!base.includes(cap)) base.push(cap);
  return base;
}

interface SecurityOptions {
  seccomp: 'default' | 'unconfined' | { profile: string };
  isNoNewPrivileges: boolean;
}

function parseSecurityOpts(opts: readonly string[]): SecurityOptions {
  const result: SecurityOptions = { seccomp: 'default', isNoNewPrivileges: false };
  opts.forEach((opt, index) => {
    const separator = opt.search(/[=:]/);
    const key = separator < 0 ? opt : opt.slice(0, separator);
    const value = separator < 0 ? '' : opt.slice(separator + 1);
    switch (key) {
      case 'no-new-privileges':
        if (value !== '' && value !== 'true' && value !== 'false') throw new InvalidArgumentError(`invalid --security-opt ${index + 1}: "${opt}"`);
        result.isNoNewPrivileges = value !== 'false';
        return;
      case 'seccomp':
        if (value === '') throw new InvalidArgumentError(`invalid --security-opt ${index + 1}: "${opt}"`);
        result.seccomp = value === 'unconfined' ? 'unconfined' : value === 'builtin' ? 'default' : { profile: value };
        return;
      // No AppArmor or SELinux on the hosts Berth targets: accepted and ignored, as docker does when the LSM is off.
      case 'apparmor':
      case 'label':
        return;
      default:
        throw new InvalidArgumentError(`invalid --security-opt ${index + 1}: "${opt}"`);
    }
  });
  return result;
}

function withDefaultEnv(env: readonly string[], hostname: string, home: string, isTty: boolean): string[] {
  const result = [...env];
  const has = (key: string): boolean => result.some((entry) => entry.startsWith(`${key}=`));
  if (!has('PATH')) result.unshift(DEFAULT_PATH_ENV);
  if (!has('HOSTNAME')) result.push(`HOSTNAME=${hostname}`);
  if (isTty && !has('TERM')) result.push('TERM=xterm');
  if (!has('HOME')) result.push(`HOME=${home}`);
  return result;
}

function namespaces(settings: ContainerRuntimeSettings): LinuxNamespace[] {
  const shared = new Set(settings.hostNamespaces ?? []);
  const list: LinuxNamespace[] = (['pid', 'ipc', 'uts', 'mount', 'cgroup'] as const)
    .filter((type) => !shared.has(type as 'pid'))
    .map((type) => {
      const path = type === 'ipc' ? settings.ipcNamespacePath : type === 'pid' ? settings.pidNamespacePath : undefined;
      return path ? { type, path } : { type };
    });
  const net = settings.networkNamespace;
  if (net === 'new') list.push({ type: 'network' });
  else if (net !== 'host') list.push({ type: 'network', path: net.path });
  return list;
}

function userMounts(settings: ContainerRuntimeSettings): RuntimeMount[] {
  const mounts: RuntimeMount[] = [];
  const etc = settings.etcFiles ?? {};
  const etcBind = (source: string | undefined, destination: string): void => {
    if (source === undefined) return;
    mounts.push({ destination, type: 'bind', source, options: ['rbind', 'rprivate', settings.isReadonlyRootfs ? 'ro' : 'rw'] });
  };
  // A user's own mount at /etc/hosts (say) wins over Berth's file, as in docker.
  const userDestinations = new Set((settings.mounts ?? []).map((mount) => mount.destination));
  if (!userDestinations.has('/etc/resolv.conf')) etcBind(etc.resolvConf, '/etc/resolv.conf');
  if (!userDestinations.has('/etc/hostname')) etcBind(etc.hostname, '/etc/hostname');
  if (!userDestinations.has('/etc/hosts')) etcBind(etc.hosts, '/etc/hosts');
  for (const mount of settings.mounts ?? []) {
    if (mount.type === 'tmpfs') {
      mounts.push({ destination: mount.destination, type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev', 'noexec', ...(mount.options ?? [])] });
    } else {
      if (mount.source === undefined) throw new InvalidArgumentError(`bind mount for ${mount.destination} has no source`);
      mounts.push({ destination: mount.destination, type: 'bind', source: mount.source, options: ['rbind', mount.isReadOnly ? 'ro' : 'rw', ...(mount.options ?? ['rprivate'])] });
    }
  }
  // Parents before children (a volume at /etc, then the /etc/hosts file over it), as docker sorts them.
  const depth = (path: string): number => path.split('/').filter(Boolean).length;
  return mounts.map((mount, index) => ({ mount, index })).sort((a, b) => depth(a.mount.destination) - depth(b.mount.destination) || a.index - b.index).map((x) => x.mount);
}

/**
 * The OCI spec for `settings`. Reads the rootfs's /etc/passwd and /etc/group for `--user`
 * (NoSuchUserError when unknown), the seccomp profile, and for privileged containers the host's
 * capabilities and devices. Throws InvalidArgumentError for bad capabilities or security options.
 */
export async function buildRuntimeSpec(settings: ContainerRuntimeSettings, host: SpecHost = defaultSpecHost()): Promise<RuntimeSpec> {
  const user = await resolveUser(settings.rootfsDir, settings.user);
  const addedGids = await resolveGroups(settings.rootfsDir, settings.groupAdd ?? []);
  const gids = [...new Set([...user.additionalGids, ...addedGids])];
  const sharesUts = (settings.hostNamespaces ?? []).includes('uts');
  const security = parseSecurityOpts(settings.securityOpt);
  const known = await host.knownCapabilities();
  const capabilities = settings.isPrivileged ? known : computeCapabilities(settings.capAdd, settings.capDrop, known);

  const custom = userMounts(settings);
  const covered = new Set(custom.map((mount) => mount.destination));
  // A user mount at a default destination (say /dev/shm) replaces the default one, as in moby.
  const mounts = [
    ...defaultMounts(settings.shmSizeBytes ?? DEFAULT_SHM_SIZE_BYTES, settings.isPrivileged).filter((mount) => !covered.has(mount.destination) && !(settings.isShmOmitted && mount.destination === '/dev/shm')),
    ...custom,
  ];

  const spec: RuntimeSpec = {
    ociVersion: '1.0.2',
    process: {
      terminal: settings.isTty,
      user: { uid: user.uid, gid: user.gid, ...(gids.length > 0 ? { additionalGids: gids } : {}) },
      args: [...settings.args],
      env: withDefaultEnv(settings.env, settings.hostname, user.home, settings.isTty),
      cwd: settings.cwd === '' ? '/' : settings.cwd,
      // Non-root users get only the bounding set, matching what execve would give them (moby does the same).
      capabilities: user.uid === 0
        ? { bounding: [...capabilities], effective: [...capabilities], permitted: [...capabilities] }
        : { bounding: [...capabilities] },
      noNewPrivileges: security.isNoNewPrivileges,
    },
    root: { path: settings.rootfsDir, readonly: settings.isReadonlyRootfs },
    // With the host's UTS namespace the container has the host's names (a runtime refuses to set them).
    ...(sharesUts ? {} : { hostname: settings.hostname, ...(settings.domainname ? { domainname: settings.domainname } : {}) }),
    mounts,
    annotations: { ...(settings.annotations ?? {}) },
    linux: {
      namespaces: namespaces(settings),
      cgroupsPath: settings.cgroupsPath ?? berthCgroupsPath(settings.id),
      resources: { devices: settings.isPrivileged ? [{ allow: true, access: 'rwm' }] : defaultDeviceRules() },
    },
  };
  if (settings.isTty && settings.consoleSize) spec.process!.consoleSize = { ...settings.consoleSize };
  if (settings.oomScoreAdj !== undefined && settings.oomScoreAdj !== 0) spec.process!.oomScoreAdj = settings.oomScoreAdj;
  const linux = spec.linux!;
  const resources = linux.resources!;
  Object.assign(resources, toOciResources(settings));
  if (settings.ulimits && settings.ulimits.length > 0) {
    spec.process!.rlimits = toOciRlimits(settings.ulimits, await (host.hardLimits ?? hostHardLimits)());
  }
  if (settings.sysctls && Object.keys(settings.sysctls).length > 0) linux.sysctl = { ...settings.sysctls };

  // --device: the nodes in the container and the rules that let it use them, then --device-cgroup-rule's.
  const mapped = { devices: [] as LinuxDevice[], rules: [] as LinuxDeviceCgroup[] };
  for (const mapping of settings.devices ?? []) {
    const { devices, rules } = await devicesOf(mapping);
    mapped.devices.push(...devices);
    mapped.rules.push(...rules);
  }
  const customRules = (settings.deviceCgroupRules ?? []).map(parseDeviceCgroupRule);
  if (!settings.isPrivileged) resources.devices = [...(resources.devices ?? []), ...mapped.rules, ...customRules];
  if (settings.isPrivileged) {
    const hostDevices = await host.hostDevices();
    const mappedPaths = new Set(mapped.devices.map((d) => d.path));
    linux.devices = [...hostDevices.filter((d) => !mappedPaths.has(d.path)), ...mapped.devices];
  } else {
    if (mapped.devices.length > 0) linux.devices = mapped.devices;
    linux.maskedPaths = [...DEFAULT_MASKED_PATHS];
    linux.readonlyPaths = [...DEFAULT_READONLY_PATHS];
  }

  // moby: privileged containers run unconfined unless a profile is given explicitly.
  const seccompChoice = settings.isPrivileged && security.seccomp === 'default' ? 'unconfined' : security.seccomp;
  if (seccompChoice !== 'unconfined') {
    let profile: MobySeccompProfile;
    if (seccompChoice === 'default') {
      profile = await host.loadDefaultSeccomp();
    } else if (seccompChoice.profile.trimStart().startsWith('{')) {
      // The docker CLI reads `seccomp=<file>` itself and sends the JSON inline.
      try {
        profile = JSON.parse(seccompChoice.profile) as MobySeccompProfile;
      } catch (err) {
        throw new InvalidSeccompProfileError('decoding seccomp profile failed: invalid JSON', { cause: err });
      }
    } else {
      profile = await host.loadSeccompFile(seccompChoice.profile);
    }
    const target = { ...hostSeccompTarget(capabilities), kernelRelease: host.kernelRelease };
    linux.seccomp = toOciSeccomp(profile, target);
  }
  return spec;
}

/** Build the spec and write it atomically to `<bundleDir>/config.json`; returns the spec. */
export async function writeRuntimeSpec(settings: ContainerRuntimeSettings, host?: SpecHost): Promise<RuntimeSpec> {
  const spec = await buildRuntimeSpec(settings, host);
  await writeRuntimeSpecFile(settings.bundleDir, spec);
  return spec;
}

/**
 * Write `spec` to `<bundleDir>/config.json` atomically. Not fsync'd: the bundle is rewritten at
 * every start and read only while the container runs, which a power loss ends too.
 */
export async function writeRuntimeSpecFile(bundleDir: string, spec: RuntimeSpec): Promise<void> {
  await replaceFile(join(bundleDir, 'config.json'), JSON.stringify(spec, null, 2) + '\n', 0o600);
}
