/**
 * CRI messages to engine settings and back: pure functions, so every field's fate (honoured or
 * refused by name) is unit-tested here. Nothing a request sets is dropped silently: a field
 * Berth cannot honour throws CriUnsupportedError or CriInvalidError naming it.
 */
import { newCreateInput, ZERO_TIME, type ContainerRecord, type ContainerStatus as EngineStatus, type CreateContainerInput, type NetworkPortMapping } from '../engine/index.js';
import { DEFAULT_MASKED_PATHS, DEFAULT_READONLY_PATHS } from '../runtime/index.js';
import { CriInvalidError, CriUnsupportedError } from './grpc-errors.js';
import type { SandboxRecord } from './sandbox-store.js';
import type {
  ContainerConfig,
  ContainerMetadata,
  ContainerStateName,
  Int64,
  LinuxContainerResources,
  LinuxContainerSecurityContext,
  LinuxSandboxSecurityContext,
  Mount,
  NamespaceOption,
  PodSandboxConfig,
  PortMapping,
  SecurityProfile,
} from './wire.js';

/** Labels that mark an engine container as a CRI container (what `docker ps` shows of it). */
export const LABEL_TYPE = 'io.kubernetes.cri.type';
export const LABEL_SANDBOX_ID = 'io.kubernetes.sandbox.id';
export const LABEL_CONTAINER_NAME = 'io.kubernetes.container.name';
/** The CRI's own view of the container (metadata, labels, annotations, image, log path), as JSON. */
export const LABEL_CRI_CONTAINER = 'io.berth.cri.container';

/** What the CRI keeps of a container beside the engine's record. */
export interface CriContainerInfo {
  metadata: ContainerMetadata;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  /** ImageSpec.image as the kubelet gave it. */
  image: string;
  logPath: string;
}

/** Nanoseconds since the epoch of an RFC 3339 time, as int64 text; docker's zero time is 0. */
export function nanosOf(iso: string): string {
  if (iso === '' || iso === ZERO_TIME) return '0';
  const match = /\.(\d+)Z$/.exec(iso);
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) return '0';
  const fraction = (match?.[1] ?? '').padEnd(9, '0').slice(0, 9);
  return String(BigInt(Math.floor(ms / 1000)) * 1_000_000_000n + BigInt(fraction));
}

/** Now in nanoseconds since the epoch, as int64 text. */
export function nowNanos(): string {
  return String(BigInt(Date.now()) * 1_000_000n);
}

export function containerState(status: EngineStatus): ContainerStateName {
  switch (status) {
    case 'created':
      return 'CONTAINER_CREATED';
    case 'running':
    case 'paused':
    case 'restarting':
      return 'CONTAINER_RUNNING';
    case 'exited':
    case 'dead':
      return 'CONTAINER_EXITED';
    default:
      return 'CONTAINER_UNKNOWN';
  }
}

/** The CamelCase reason the kubelet shows for an exited container. */
export function exitReason(record: ContainerRecord): string {
  if (containerState(record.state.status) !== 'CONTAINER_EXITED') return '';
  if (record.state.oomKilled) return 'OOMKilled';
  return record.state.exitCode === 0 ? 'Completed' : 'Error';
}

/** The CRI view kept in a container's labels; undefined for a container the CRI did not make. */
export function criInfoOf(record: ContainerRecord): CriContainerInfo | undefined {
  const text = record.settings.labels[LABEL_CRI_CONTAINER];
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as CriContainerInfo;
  } catch {
    return undefined;
  }
}

/** Every pair of `selector` is among `labels`. */
export function labelsMatch(labels: Record<string, string>, selector: Record<string, string> | undefined): boolean {
  return Object.entries(selector ?? {}).every(([key, value]) => labels[key] === value);
}

function int(value: Int64 | undefined): number {
  return Number(value ?? 0);
}

interface NamespaceChoice {
  hostNetwork: boolean;
  hostPid: boolean;
  hostIpc: boolean;
  /** pid POD: the pod's shared process namespace. */
  podPid: boolean;
  /** pid TARGET: the container whose process namespace this one joins. */
  pidTarget: string;
}

function checkNamespaces(options: NamespaceOption | null, field: string): NamespaceChoice {
  if (!options) return { hostNetwork: false, hostPid: false, hostIpc: false, podPid: false, pidTarget: '' };
  if (options.network !== 'POD' && options.network !== 'NODE') throw new CriUnsupportedError(`${field}.network`, `${options.network}: a pod has one network namespace (POD) or the node's (NODE)`);
  if (options.ipc === 'CONTAINER' || options.ipc === 'TARGET') throw new CriUnsupportedError(`${field}.ipc`, `${options.ipc}: use POD or NODE`);
  if (options.pid === 'TARGET' && options.target_id === '') throw new CriInvalidError(`${field}.target_id`, 'pid TARGET needs the target container\'s id');
  if (options.pid !== 'TARGET' && options.target_id !== '') throw new CriInvalidError(`${field}.target_id`, 'a target is only for pid TARGET');
  const userns = options.userns_options;
  if (userns && (userns.mode !== 'NODE' || userns.uids.length > 0 || userns.gids.length > 0)) {
    throw new CriUnsupportedError(`${field}.userns_options`, 'user namespaces are not supported over the CRI; use mode NODE');
  }
  return {
    hostNetwork: options.network === 'NODE',
    hostPid: options.pid === 'NODE',
    hostIpc: options.ipc === 'NODE',
    podPid: options.pid === 'POD',
    pidTarget: options.pid === 'TARGET' ? options.target_id : '',
  };
}

function checkSelinux(options: { user: string; role: string; type: string; level: string } | null, field: string): void {
  if (options && (options.user || options.role || options.type || options.level)) {
    throw new CriUnsupportedError(field, 'SELinux labels are not supported (Berth targets hosts without SELinux)');
  }
}

/** The published ports of a pod: host_port 0 publishes nothing (the CRI's rule). */
export function portMappingsOf(mappings: readonly PortMapping[]): NetworkPortMapping[] {
  const out: NetworkPortMapping[] = [];
  for (const m of mappings) {
    if (m.host_port === 0) continue;
    if (m.container_port <= 0 || m.container_port > 65535 || m.host_port < 0 || m.host_port > 65535) {
      throw new CriInvalidError('port_mappings', `invalid port mapping ${m.host_port}:${m.container_port}`);
    }
    out.push({ containerPort: m.container_port, hostPort: m.host_port, hostIp: m.host_ip || '0.0.0.0', protocol: m.protocol.toLowerCase() as NetworkPortMapping['protocol'] });
  }
  return out;
}

/** What RunPodSandbox's config asks for, checked; the rest of the record comes from the service. */
export function sandboxSettings(config: PodSandboxConfig | null): Omit<SandboxRecord, 'id' | 'createdAtNs' | 'runtimeHandler' | 'runtime' | 'state' | 'ip' | 'ipcPath' | 'cgroupParent' | 'ownsCgroupParent'> & { cgroupParent: string } {
  if (!config) throw new CriInvalidError('config', 'a pod sandbox config is required');
  const metadata = config.metadata;
  if (!metadata || metadata.name === '' || metadata.uid === '' || metadata.namespace === '') {
    throw new CriInvalidError('config.metadata', 'name, uid and namespace are required');
  }
  const linux = config.linux;
  const security: LinuxSandboxSecurityContext | null = linux?.security_context ?? null;
  const namespaces = checkNamespaces(security?.namespace_options ?? null, 'config.linux.security_context.namespace_options');
  checkSelinux(security?.selinux_options ?? null, 'config.linux.security_context.selinux_options');
  // The sandbox runs no process of its own: run_as_*, readonly_rootfs, seccomp and apparmor of the
  // sandbox have nothing to apply to (the containers' own contexts carry them), and overhead and
  // resources size the pod's cgroup, which the kubelet limits itself.
  if (namespaces.pidTarget !== '') throw new CriInvalidError('config.linux.security_context.namespace_options.pid', 'TARGET is for a container, not a pod sandbox');
  if (namespaces.hostNetwork && config.port_mappings.some((m) => m.host_port !== 0)) {
    throw new CriInvalidError('config.port_mappings', 'a pod on the node network publishes nothing: its ports are the node\'s');
  }
  return {
    metadata: { name: metadata.name, uid: metadata.uid, namespace: metadata.namespace, attempt: metadata.attempt },
    labels: { ...config.labels },
    annotations: { ...config.annotations },
    hostname: config.hostname,
    logDirectory: config.log_directory,
    dns: { servers: [...(config.dns_config?.servers ?? [])], searches: [...(config.dns_config?.searches ?? [])], options: [...(config.dns_config?.options ?? [])] },
    hostNetwork: namespaces.hostNetwork,
    hostPid: namespaces.hostPid,
    hostIpc: namespaces.hostIpc,
    sharesPid: namespaces.podPid,
    cgroupParent: linux?.cgroup_parent ?? '',
    sysctls: { ...(linux?.sysctls ?? {}) },
    portMappings: portMappingsOf(config.port_mappings),
  };
}

/** seccomp as docker's security option: the profile message first, then the deprecated path ('' is unconfined). */
export function seccompOption(profile: SecurityProfile | null, deprecatedPath: string, field: string): string | undefined {
  if (profile) {
    if (profile.profile_type === 'RuntimeDefault') return undefined;
    if (profile.profile_type === 'Unconfined') return 'seccomp=unconfined';
    if (!profile.localhost_ref.startsWith('/')) throw new CriInvalidError(`${field}.localhost_ref`, 'a Localhost seccomp profile is an absolute path');
    return `seccomp=${profile.localhost_ref}`;
  }
  if (deprecatedPath === '' || deprecatedPath === 'unconfined') return 'seccomp=unconfined';
  if (deprecatedPath === 'runtime/default' || deprecatedPath === 'docker/default') return undefined;
  if (deprecatedPath.startsWith('localhost/')) return `seccomp=${deprecatedPath.slice('localhost/'.length)}`;
  throw new CriInvalidError(`${field.replace(/seccomp$/, 'seccomp_profile_path')}`, `unknown seccomp profile ${JSON.stringify(deprecatedPath)}`);
}

function checkAppArmor(profile: SecurityProfile | null, deprecated: string, field: string): void {
  if (profile?.profile_type === 'Localhost' || deprecated.startsWith('localhost/')) {
    throw new CriUnsupportedError(field, 'AppArmor profiles are not supported (Berth targets hosts without AppArmor)');
  }
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x) => b.includes(x));
}

/** The user a security context names: uid or name, with the group. */
export function userOf(security: LinuxContainerSecurityContext | null): string {
  if (!security) return '';
  const uid = security.run_as_user ? String(security.run_as_user.value) : '';
  const name = security.run_as_username;
  if (uid !== '' && name !== '') throw new CriInvalidError('config.linux.security_context.run_as_username', 'only one of run_as_user and run_as_username may be set');
  const gid = security.run_as_group ? String(security.run_as_group.value) : '';
  const user = uid !== '' ? uid : name;
  if (gid !== '' && user === '') throw new CriInvalidError('config.linux.security_context.run_as_group', 'run_as_group needs run_as_user or run_as_username');
  return gid !== '' ? `${user}:${gid}` : user;
}

function bindOf(mount: Mount, index: number): string {
  const field = `config.mounts[${index}]`;
  if (mount.image) throw new CriUnsupportedError(`${field}.image`, 'image volume mounts are not supported');
  if (mount.selinux_relabel) throw new CriUnsupportedError(`${field}.selinux_relabel`, 'SELinux relabeling is not supported');
  if (mount.uidMappings.length > 0 || mount.gidMappings.length > 0) throw new CriUnsupportedError(`${field}.uidMappings`, 'id-mapped mounts are not supported');
  if (mount.recursive_read_only) throw new CriUnsupportedError(`${field}.recursive_read_only`, 'recursive read-only mounts are not supported');
  if (!mount.host_path.startsWith('/')) throw new CriInvalidError(`${field}.host_path`, 'an absolute host path is required');
  if (!mount.container_path.startsWith('/')) throw new CriInvalidError(`${field}.container_path`, 'an absolute container path is required');
  if (mount.host_path.includes(':') || mount.container_path.includes(':')) throw new CriUnsupportedError(field, 'paths with ":" are not supported');
  const propagation = mount.propagation === 'PROPAGATION_BIDIRECTIONAL' ? 'rshared' : mount.propagation === 'PROPAGATION_HOST_TO_CONTAINER' ? 'rslave' : 'rprivate';
  return `${mount.host_path}:${mount.container_path}:${mount.readonly ? 'ro' : 'rw'},${propagation}`;
}

/** The engine limits of LinuxContainerResources (create and update share the checks). */
export function resourcesOf(resources: LinuxContainerResources | null, field: string): { memoryBytes: number; memorySwapBytes: number; cpuShares: number; cpuQuota: number; cpuPeriod: number; cpusetCpus: string; oomScoreAdj: number } {
  const r = resources;
  if (r?.cpuset_mems) throw new CriUnsupportedError(`${field}.cpuset_mems`, 'cpuset memory nodes are not supported');
  if (r && Object.keys(r.unified).length > 0) throw new CriUnsupportedError(`${field}.unified`, 'cgroup v2 unified settings are not supported');
  const hugepages = r?.hugepage_limits.find((h) => int(h.limit) !== 0);
  if (hugepages) throw new CriUnsupportedError(`${field}.hugepage_limits`, `a ${hugepages.page_size} hugepage limit is not supported`);
  const memoryBytes = int(r?.memory_limit_in_bytes);
  const swap = int(r?.memory_swap_limit_in_bytes);
  if (swap !== 0 && memoryBytes === 0) throw new CriInvalidError(`${field}.memory_swap_limit_in_bytes`, 'needs memory_limit_in_bytes');
  return {
    memoryBytes,
    // Unspecified swap is no swap (the kubelet's NoSwap), not docker's default of twice the memory.
    memorySwapBytes: swap !== 0 ? swap : memoryBytes,
    cpuShares: int(r?.cpu_shares),
    cpuQuota: int(r?.cpu_quota),
    cpuPeriod: int(r?.cpu_period),
    cpusetCpus: r?.cpuset_cpus ?? '',
    oomScoreAdj: int(r?.oom_score_adj),
  };
}

/** The engine container name: kubelet-readable and unique per (name, attempt) in the pod. */
export function engineNameOf(sandbox: SandboxRecord, metadata: ContainerMetadata): string {
  const m = sandbox.metadata;
  return `k8s_${metadata.name}_${m.name}_${m.namespace}_${m.uid}_${metadata.attempt}`;
}

/** CreateContainer's config as an engine create, in the pod's namespaces and cgroup. */
export function createInputOf(sandbox: SandboxRecord, config: ContainerConfig | null, logPath: string): CreateContainerInput {
  if (!config) throw new CriInvalidError('config', 'a container config is required');
  const metadata = config.metadata;
  if (!metadata || metadata.name === '') throw new CriInvalidError('config.metadata.name', 'a container name is required');
  const image = config.image?.image ?? '';
  if (image === '') throw new CriInvalidError('config.image.image', 'an image is required');
  if (config.image && config.image.runtime_handler !== '' && config.image.runtime_handler !== sandbox.runtimeHandler) {
    throw new CriInvalidError('config.image.runtime_handler', `the pod runs on ${JSON.stringify(sandbox.runtimeHandler)}`);
  }
  if (config.devices.length > 0) throw new CriUnsupportedError('config.devices', 'devices are not supported');
  if (config.CDI_devices.length > 0) throw new CriUnsupportedError('config.CDI_devices', 'CDI devices are not supported');
  const field = 'config.linux.security_context';
  const security = config.linux?.security_context ?? null;
  const namespaces = checkNamespaces(security?.namespace_options ?? null, `${field}.namespace_options`);
  if (security?.namespace_options && namespaces.hostNetwork !== sandbox.hostNetwork) {
    throw new CriInvalidError(`${field}.namespace_options.network`, 'a container shares its pod\'s network namespace');
  }
  if (security?.namespace_options && namespaces.hostIpc !== sandbox.hostIpc) {
    throw new CriInvalidError(`${field}.namespace_options.ipc`, 'a container shares its pod\'s IPC mode');
  }
  // The kubelet asks POD of every container of a pod made with shareProcessNamespace, and of no other.
  const podPid = security?.namespace_options ? namespaces.podPid : sandbox.sharesPid === true;
  if (podPid && sandbox.sharesPid !== true) {
    throw new CriInvalidError(`${field}.namespace_options.pid`, 'POD: the pod sandbox was not made with a shared process namespace (its namespace_options.pid POD)');
  }
  checkSelinux(security?.selinux_options ?? null, `${field}.selinux_options`);
  checkAppArmor(security?.apparmor ?? null, security?.apparmor_profile ?? '', `${field}.apparmor`);
  const capabilities = security?.capabilities;
  if (capabilities && capabilities.add_ambient_capabilities.length > 0) throw new CriUnsupportedError(`${field}.capabilities.add_ambient_capabilities`, 'ambient capabilities are not supported');
  if (security?.supplemental_groups_policy === 'Strict') throw new CriUnsupportedError(`${field}.supplemental_groups_policy`, 'Strict is not supported (groups are merged with the image\'s)');
  const privileged = security?.privileged ?? false;
  if (security && !privileged) {
    // The kubelet sends the runtime's usual defaults; other lists (procMount Unmasked) Berth cannot
    // apply. An empty list (also what an unset field decodes to) keeps the defaults.
    if (!sameSet(security.masked_paths, DEFAULT_MASKED_PATHS) && security.masked_paths.length > 0) throw new CriUnsupportedError(`${field}.masked_paths`, 'only Berth\'s default masked paths are supported');
    if (!sameSet(security.readonly_paths, DEFAULT_READONLY_PATHS) && security.readonly_paths.length > 0) throw new CriUnsupportedError(`${field}.readonly_paths`, 'only Berth\'s default read-only paths are supported');
  }
  const securityOpt: string[] = [];
  const seccomp = seccompOption(security?.seccomp ?? null, security?.seccomp_profile_path ?? '', `${field}.seccomp`);
  if (seccomp) securityOpt.push(seccomp);
  if (security?.no_new_privs) securityOpt.push('no-new-privileges');
  const limits = resourcesOf(config.linux?.resources ?? null, 'config.linux.resources');
  const info: CriContainerInfo = { metadata: { name: metadata.name, attempt: metadata.attempt }, labels: { ...config.labels }, annotations: { ...config.annotations }, image, logPath };
  const bare = newCreateInput(image);
  return {
    ...bare,
    name: engineNameOf(sandbox, metadata),
    entrypoint: config.command.length > 0 ? [...config.command] : null,
    cmd: config.args.length > 0 ? [...config.args] : config.command.length > 0 ? [] : null,
    env: config.envs.map((e) => `${e.key}=${e.value}`),
    workingDir: config.working_dir,
    user: userOf(security),
    hostname: sandbox.hostname,
    labels: {
      ...config.labels,
      [LABEL_TYPE]: 'container',
      [LABEL_SANDBOX_ID]: sandbox.id,
      [LABEL_CONTAINER_NAME]: metadata.name,
      'io.kubernetes.pod.name': sandbox.metadata.name,
      'io.kubernetes.pod.namespace': sandbox.metadata.namespace,
      'io.kubernetes.pod.uid': sandbox.metadata.uid,
      [LABEL_CRI_CONTAINER]: JSON.stringify(info),
    },
    tty: config.tty,
    openStdin: config.stdin,
    stdinOnce: config.stdin_once,
    host: {
      ...bare.host,
      privileged,
      capAdd: [...(capabilities?.add_capabilities ?? [])],
      capDrop: [...(capabilities?.drop_capabilities ?? [])],
      securityOpt,
      readonlyRootfs: security?.readonly_rootfs ?? false,
      runtime: sandbox.runtime,
      isolation: 'process',
      networkMode: sandbox.hostNetwork ? 'host' : `pod:${sandbox.id}`,
      memoryBytes: limits.memoryBytes,
      memorySwapBytes: limits.memorySwapBytes,
      cpuShares: limits.cpuShares,
      cpuQuota: limits.cpuQuota,
      cpuPeriod: limits.cpuPeriod,
      cpusetCpus: limits.cpusetCpus,
      binds: config.mounts.map(bindOf),
      dns: [...sandbox.dns.servers],
      dnsSearch: [...sandbox.dns.searches],
      dnsOptions: [...sandbox.dns.options],
      groupAdd: (security?.supplemental_groups ?? []).map(String),
      oomScoreAdj: limits.oomScoreAdj,
      sysctls: { ...sandbox.sysctls },
      pidMode: (security?.namespace_options ? namespaces.hostPid : sandbox.hostPid) ? 'host' : namespaces.pidTarget !== '' ? `container:${namespaces.pidTarget}` : '',
      ...(podPid && sandbox.pidHandle ? { pidNamespacePath: sandbox.pidHandle.path } : {}),
      ipcMode: sandbox.hostIpc ? 'host' : '',
      ...(sandbox.ipcPath !== '' ? { ipcNamespacePath: sandbox.ipcPath } : {}),
      logPath,
      cgroupParent: sandbox.cgroupParent,
    },
  };
}
