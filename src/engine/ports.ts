/**
 * What the engine needs from the services below it. The daemon passes in the concrete
 * implementations (image/, runtime/); the engine sees only these shapes, so tests can
 * hand it fakes and the VM runtime can slot in beside crun.
 */
import type { Readable, Stream, Writable } from 'node:stream';
import type { CgroupStats, HostCpuSample, NetworkCounters } from '../sys/index.js';
import type { LogPolicy } from './log-config.js';

/** An image as the engine needs it to create and describe containers. */
export interface EngineImage {
  id: string;
  repoTags: string[];
  config: {
    config?: {
      User?: string;
      Env?: string[];
      Cmd?: string[] | null;
      Entrypoint?: string[] | null;
      WorkingDir?: string;
      Labels?: Record<string, string> | null;
      StopSignal?: string;
      Healthcheck?: { Test?: string[] | null; Interval?: number; Timeout?: number; StartPeriod?: number; StartInterval?: number; Retries?: number } | null;
      ExposedPorts?: Record<string, Record<string, never>>;
      Volumes?: Record<string, Record<string, never>>;
    };
    /** The rest of the image config, for commit (which builds on the parent's). */
    architecture?: string;
    os?: string;
    variant?: string;
    rootfs?: { type: string; diff_ids: string[] };
    history?: Array<{ created?: string; created_by?: string; author?: string; comment?: string; empty_layer?: boolean }>;
  };
}

/** The image store, as the engine uses it. */
export interface ImagePort {
  get(ref: string): Promise<EngineImage>;
  lowerDirs(imageId: string): Promise<string[]>;
}

/** Mounting a container's root filesystem. */
export interface RootfsPort {
  mount(options: { lowerDirs: string[]; upperDir: string; workDir: string; mergedDir: string }): Promise<void>;
  unmount(mergedDir: string): Promise<void>;
}

/** The state an OCI runtime reports for a container it knows. */
export type RuntimeStatus = 'created' | 'running' | 'paused' | 'stopped';

/** What the engine hands the runtime to create a container's process. */
export interface RuntimeCreateRequest {
  id: string;
  name: string;
  bundleDir: string;
  rootfsDir: string;
  logPath: string;
  args: string[];
  env: string[];
  cwd: string;
  user: string;
  hostname: string;
  tty: boolean;
  openStdin: boolean;
  /** docker's StdinOnce: the first attach's stdin EOF closes the container's stdin (else it stays open). */
  stdinOnce?: boolean;
  etcFiles: { hosts: string; hostname: string; resolvConf: string };
  privileged: boolean;
  capAdd: string[];
  capDrop: string[];
  securityOpt: string[];
  readonlyRootfs: boolean;
  shmSizeBytes: number;
  labels: Record<string, string>;
  /** Cgroup limits; only what is set is applied. */
  resources: ResourceLimits;
  oomKillDisable: boolean;
  /** `--ulimit`s; every other rlimit is inherited. */
  ulimits: Array<{ name: string; soft: number; hard: number }>;
  /** Binds, volumes (as binds of their data) and tmpfs mounts, parents before children. */
  mounts?: RuntimeMountRequest[];
  /** The network namespace: a new one (loopback only, the default), the host's, or a prepared handle. */
  networkNamespace?: 'new' | 'host' | { path: string };
  /** `Config.Domainname`. */
  domainname?: string;
  /** `--group-add` entries (names or ids, resolved in the container's /etc/group). */
  groupAdd?: string[];
  oomScoreAdj?: number;
  sysctls?: Record<string, string>;
  /** Namespaces shared with the host (`--pid host`, `--ipc host`, `--uts host`, `--cgroupns host`). */
  hostNamespaces?: Array<'pid' | 'ipc' | 'uts' | 'cgroup'>;
  /** `--device`: host device nodes to make in the container (a directory: every node below it). */
  devices?: Array<{ pathOnHost: string; pathInContainer: string; cgroupPermissions: string }>;
  /** `--device-cgroup-rule`s (`c 1:3 rwm`). */
  deviceCgroupRules?: string[];
  /** How the log is kept (from the container's log driver and options). */
  log?: LogPolicy;
  /** The cgroup the container's own cgroup goes below (a pod's); Berth's default when absent. */
  cgroupParent?: string;
  /** An IPC namespace to join (a handle on the host) instead of a new one. */
  ipcNamespacePath?: string;
  /** A PID namespace to join (`--pid container:<id>`: the donor's /proc link) instead of a new one. */
  pidNamespacePath?: string;
}

/**
 * A container's cgroup limits in Berth's units: a field left out is unset at create, or kept
 * as it is by `update`. `memorySwapBytes` is memory plus swap (-1 unlimited); `nanoCpus` is
 * `--cpus` times 1e9; `pidsLimit` -1 is unlimited.
 */
export interface ResourceLimits {
  memoryLimitBytes?: number;
  memorySwapBytes?: number;
  memoryReservationBytes?: number;
  nanoCpus?: number;
  cpuShares?: number;
  /** `--cpu-quota`/`--cpu-period` in microseconds. */
  cpuQuota?: number;
  cpuPeriod?: number;
  /** `--cpu-rt-period`/`--cpu-rt-runtime` in microseconds. */
  cpuRealtimePeriod?: number;
  cpuRealtimeRuntime?: number;
  cpusetCpus?: string;
  pidsLimit?: number;
  /** `--memory-swappiness` (0-100). */
  memorySwappiness?: number;
  /** `--blkio-weight`, `--blkio-weight-device` and the device throttles, by device numbers (`value`: weight or rate per second). */
  blkio?: {
    weight?: number;
    weightDevices?: BlkioDeviceNumbers[];
    readBps?: BlkioDeviceNumbers[];
    writeBps?: BlkioDeviceNumbers[];
    readIops?: BlkioDeviceNumbers[];
    writeIops?: BlkioDeviceNumbers[];
  };
}

/** A block device by its numbers, with a weight or a rate. */
export interface BlkioDeviceNumbers {
  major: number;
  minor: number;
  value: number;
}

/** One stats sample of a running container, as the runtime reads it from the host. */
export interface RuntimeStatsSample {
  readAtMs: number;
  cgroup: CgroupStats;
  host: HostCpuSample;
  /** The container's network interfaces, loopback included. */
  networks: Record<string, NetworkCounters>;
}

/** One record of a container's log. */
export interface LogEntry {
  stream: 'stdout' | 'stderr';
  /** RFC 3339 with nanoseconds, as conmon wrote it. */
  timestamp: string;
  data: Buffer;
}

export interface LogReadOptions {
  follow: boolean;
  tailLines: number | undefined;
  sinceNs: bigint | undefined;
  untilNs: bigint | undefined;
  stdout: boolean;
  stderr: boolean;
  signal: AbortSignal;
}

/** An attach session: the container's output (already framed as the caller asked) and its stdin. */
export interface AttachSession {
  output: NodeJS.ReadableStream;
  input: NodeJS.WritableStream | null;
  close(): void;
}

/** What the engine hands the runtime to run a process in a running container. */
export interface RuntimeExecRequest {
  execId: string;
  containerId: string;
  bundleDir: string;
  args: string[];
  env: string[];
  cwd: string;
  user: string;
  tty: boolean;
  stdin: boolean;
  privileged: boolean;
  consoleSize?: { height: number; width: number };
}

/** A running exec: output framed as for attach, stdin when asked, and its exit. */
export interface RuntimeExecHandle {
  pid: number;
  output: NodeJS.ReadableStream;
  input: NodeJS.WritableStream | null;
  /** Settles with the exit status after the output is drained. */
  exited: Promise<number>;
  resize(height: number, width: number): Promise<void>;
  /** Stop relaying (detach); the process keeps running. */
  detach(): void;
  /** End the process now (SIGKILL; for a VM, its host-side helper, whose end ends the guest's process). */
  kill(): void;
  /** Remove the session's files, after exit. */
  cleanup(): Promise<void>;
}

/**
 * What a runtime's isolation lets the engine do, declared for each runtime by
 * daemon/builtins.ts. The engine asks these traits; it never names an isolation level or a runtime.
 */
export interface RuntimeTraits {
  /** The isolation level (`--isolation`) its containers get: a create asking for a level runs on a runtime that declares it. */
  isolation: 'process' | 'vm';
  /**
   * Its containers run on the host's kernel, so settings made there apply to them: host
   * namespaces, sysctls, devices, cgroup tuning beyond memory and CPUs, the daemon's init binary
   * (false for a VM: the container runs on the guest's own kernel).
   */
  sharesHostKernel: boolean;
  /** Its containers may use the host's network namespace or another container's, and others may join theirs (false for a VM: its network stack is in the guest). */
  sharesNetworkNamespace: boolean;
  /** A running container can join another network (false for a VM: its devices are fixed at boot). */
  hotPlugsNetworks: boolean;
  /** `top` lists the container's processes through guestProcesses: they run where the host's ps cannot see them. */
  listsProcesses: boolean;
  /** Its containers get only their IPv4 addresses (a VM: the guest agent configures IPv4 only), so IPv6 networks are refused for them. */
  ipv4Only?: boolean;
  /** The state annotation that explains an exit without the container's status (a guest panic), if the runtime has one. */
  exitReasonAnnotation?: string;
  /** The state annotation naming the accelerator a run got, read shortly after its start, if the runtime has one. */
  acceleratorAnnotation?: string;
}

/** An OCI runtime driven through conmon, as the engine uses it. */
export interface RuntimePort {
  /** What this runtime's isolation allows (see RuntimeTraits). */
  readonly traits: RuntimeTraits;
  create(request: RuntimeCreateRequest): Promise<{ pid: number; conmonPid: number }>;
  start(id: string): Promise<void>;
  kill(id: string, signal: string): Promise<void>;
  delete(id: string): Promise<void>;
  state(id: string): Promise<RuntimeStatus | undefined>;
  /**
   * The runtime's annotations on the container's state ({} when it has none or no longer knows
   * the container). berth-vm reports `io.berth.vm.accel` (what the VM ran with) and, when the VM
   * ended without the container's exit status, `io.berth.vm.error`. Read before `delete`.
   */
  annotations(id: string): Promise<Record<string, string>>;
  exitCode(id: string): Promise<number | undefined>;
  clearExit(id: string): Promise<void>;
  listPids(id: string): Promise<number[]>;
  /**
   * The container's processes as the runtime sees them, for a runtime whose traits say it
   * `listsProcesses` (a VM's guest): `ps <psArgs>`'s output there (header line, then one line
   * per process). Other runtimes answer with a failed result.
   */
  guestProcesses(id: string, psArgs: readonly string[]): Promise<{ exitCode: number; stdout: string; stderr: string }>;
  /** `client`, the caller's connection, ends the session as soon as it is closed (not half-closed). */
  attach(id: string, options: { stdin: boolean; tty: boolean; client?: Stream }): Promise<AttachSession>;
  exec(request: RuntimeExecRequest): Promise<RuntimeExecHandle>;
  resize(id: string, height: number, width: number): Promise<void>;
  readLogs(logPath: string, options: LogReadOptions): AsyncIterable<LogEntry>;
  /** Keep a running container's log rotated by `log` again, after a daemon restart (create starts it itself). */
  keepLogRotated?(id: string, logPath: string, log: LogPolicy): Promise<void>;
  /** Have the monitor reopen the container's log file (after its owner rotated it away). */
  reopenLog?(id: string): Promise<void>;
  /** Freeze / thaw the container's processes (cgroup freezer). */
  pause(id: string): Promise<void>;
  resume(id: string): Promise<void>;
  /** Change a running container's cgroup limits. */
  update(id: string, resources: ResourceLimits): Promise<void>;
  /** A stats sample; undefined when the container has no running process. */
  stats(id: string): Promise<RuntimeStatsSample | undefined>;
  /** Whether the kernel OOM-killed a process of the container during its last run. */
  wasOomKilled(id: string): Promise<boolean>;
}

/** An image as the API shows it. */
export interface CatalogImage extends EngineImage {
  repoDigests: string[];
  parent: string;
  comment: string;
  created: string;
  author: string;
  architecture: string;
  os: string;
  sizeBytes: number;
  diffIds: string[];
}

export interface ImageHistoryEntry {
  id: string;
  /** Seconds since the epoch; 0 when unknown. */
  createdSec: number;
  createdBy: string;
  tags: string[];
  sizeBytes: number;
  comment: string;
}

export type ContainersUsing = (imageId: string) => Array<{ id: string; isRunning: boolean }>;

/** Registry credentials as a client sent them; every field optional (anonymous access sends none). */
export interface TransferCredentials {
  username?: string;
  password?: string;
  identityToken?: string;
  registryToken?: string;
}

/** One progress step of a long image operation: a status line, optionally for one layer (`id`) and with byte counts. */
export interface TransferProgressStep {
  id?: string;
  status: string;
  currentBytes?: number;
  totalBytes?: number;
  /** The result a push ends with (docker's `aux: {Tag, Digest, Size}`). */
  pushResult?: { tag: string; digest: string; sizeBytes: number };
  /** A line of plain output (`load`'s "Loaded image: ..."). */
  stream?: string;
}

/** Receives progress; must not throw (a client that went away is the sink's own business). */
export type TransferProgress = (step: TransferProgressStep) => void;

/**
 * Moving images in and out of the store: registries (pull, push, login), archives (save, load,
 * import) and the layer total `system df` reports. Each operation either completes or leaves
 * the store as it was (no tag, blob or unpacked layer of a failed transfer stays visible).
 */
export interface ImageTransferPort {
  pull(ref: string, options: { credentials?: TransferCredentials; platform?: string; progress: TransferProgress }): Promise<{ image: { id: string }; isNew: boolean }>;
  /** Every tag of the repository when `tag` is undefined. */
  push(name: string, tag: string | undefined, options: { credentials?: TransferCredentials; progress: TransferProgress }): Promise<void>;
  login(serverAddress: string, credentials: TransferCredentials): Promise<{ identityToken?: string }>;
  /** Write one docker archive of `refs` to `out` and end it. */
  save(refs: readonly string[], out: Writable): Promise<void>;
  load(source: Readable, options: { progress: TransferProgress; signal?: AbortSignal }): Promise<Array<{ id: string; tags: string[] }>>;
  /** A root filesystem tar as a one-layer image; `changes` are Dockerfile instructions (see oci/ applyChanges). */
  importImage(source: Readable, options: { ref?: string; message?: string; changes?: string[]; progress: TransferProgress; signal?: AbortSignal }): Promise<{ id: string }>;
  diskUsage(): Promise<{ layersSizeBytes: number }>;
}

/** The whole image store, as the engine exposes it to the API. */
export interface ImageStorePort extends ImagePort, ImageCommitPort, ImageTransferPort {
  list(): Promise<CatalogImage[]>;
  get(ref: string): Promise<CatalogImage>;
  /** Returns the new reference in its familiar form. */
  tag(sourceRef: string, repo: string, tag?: string): Promise<string>;
  remove(ref: string, options: { force: boolean; noPrune: boolean }, containersUsing: ContainersUsing): Promise<Array<{ untagged?: string; deleted?: string }>>;
  history(ref: string): Promise<ImageHistoryEntry[]>;
  prune(options: { all: boolean; untilMs?: number; labels?: string[]; excludeLabels?: string[] }, containersUsing: ContainersUsing): Promise<{ deleted: Array<{ untagged?: string; deleted?: string }>; spaceReclaimedBytes: number }>;
  /** Delete the images `rmi -f` kept only for stopped containers that are gone now; returns their ids. */
  releaseHeldImages(containersUsing: ContainersUsing): Promise<string[]>;
}

/** One mount for the runtime: a bind of a host path, or a tmpfs. */
export interface RuntimeMountRequest {
  type: 'bind' | 'tmpfs';
  destination: string;
  /** Host path (binds only). */
  source?: string;
  isReadOnly?: boolean;
  /** tmpfs options (`size=64m`, `mode=1777`), or a bind's propagation (`rprivate`...). */
  options?: string[];
}

/** A volume as the engine sees it. */
export interface EngineVolume {
  name: string;
  driver: string;
  /** Host path of the volume's data. */
  mountpoint: string;
  createdAt: string;
  labels: Record<string, string>;
  options: Record<string, string>;
}

/**
 * The volume store, as the engine uses it. It knows nothing of containers; the engine keeps
 * volumes that containers use from being removed.
 */
export interface VolumePort {
  /** Create the volume, or return the existing one of that name (`isNew` false). */
  create(request: { name?: string; driver?: string; driverOpts?: Record<string, string>; labels?: Record<string, string> }): Promise<{ volume: EngineVolume; isNew: boolean }>;
  /** Throws a not-found error (`get <name>: no such volume`) when missing. */
  get(name: string): EngineVolume;
  has(name: string): boolean;
  list(): EngineVolume[];
  /** Make the data reachable (mounting a tmpfs- or device-backed volume); returns the host path to bind. */
  mount(name: string): Promise<string>;
  /** Release what mount() made once no running container uses the volume (a tmpfs volume is unmounted). */
  unmount?(name: string): Promise<void>;
  remove(name: string): Promise<void>;
  sizeBytes(name: string): Promise<number>;
}

/**
 * What `commit` needs from the image store beyond reading images, and what cp, export and
 * diff need to reach a stopped container's files: berthd's ImageService provides all of it.
 */
export interface ImageCommitPort {
  /** The blob store: a layer tar put here (digest checked on write) can then be named by addImage. */
  readonly content: { put(source: Uint8Array | AsyncIterable<Uint8Array>): Promise<{ digest: `sha256:${string}`; sizeBytes: number }> };
  /** Store an image from its config and layer blobs (bottom first) and point `tags` at it. */
  addImage(input: { configBytes: Uint8Array; layers: ReadonlyArray<{ blobDigest: `sha256:${string}`; mediaType: string }> }, tags?: readonly string[]): Promise<{ id: string }>;
  /** Overlay mounts of container root filesystems (the same the container service uses). */
  readonly snapshotter: RootfsPort;
  /** The image's layers as stored, bottom first: a commit names its parent's blobs again. */
  recordOf(ref: string): { layers: ReadonlyArray<{ diffId: string; blobDigest?: `sha256:${string}`; mediaType?: string }> };
}

/** What `network create` asks for; '' fields take docker's defaults. */
export interface NetworkCreateRequest {
  name: string;
  driver: string;
  subnet: string;
  gateway: string;
  ipRange: string;
  isInternal: boolean;
  isAttachable: boolean;
  labels: Record<string, string>;
  options: Record<string, string>;
  /** EnableIPv6: the network gets an IPv6 subnet too (a unique local /64 unless `ipv6Subnet` names one). */
  enableIPv6: boolean;
  ipv6Subnet: string;
  ipv6Gateway: string;
  ipv6IpRange: string;
}

/** A network as the engine sees it (src/network's record). */
export interface EngineNetwork {
  id: string;
  name: string;
  /** `bridge`, `host` or `null` (docker's driver names). */
  driver: 'bridge' | 'host' | 'null';
  created: string;
  subnet: string;
  gateway: string;
  ipRange: string;
  bridgeName: string;
  isInternal: boolean;
  isAttachable: boolean;
  /** `bridge`, `host` and `none`, which cannot be removed. */
  isPredefined: boolean;
  labels: Record<string, string>;
  options: Record<string, string>;
  /** The IPv6 subnet of an `--ipv6` network; absent on IPv4-only ones. */
  ipv6?: { subnet: string; gateway: string; ipRange: string };
}

/** One published port: hostPort 0 asks for any free port. */
export interface NetworkPortMapping {
  containerPort: number;
  protocol: 'tcp' | 'udp' | 'sctp';
  hostIp: string;
  hostPort: number;
}

/** What a container asks of one network when it joins it. */
export interface NetworkAttachRequest {
  networkId: string;
  containerName: string;
  aliases: string[];
  ipv4Address: string;
  /** `--ip6`; '' for any. */
  ipv6Address: string;
  macAddress: string;
  ports: NetworkPortMapping[];
  /** `--dns`: on a user-defined network the DNS responder forwards this container's queries for names it does not own there (the host's resolvers otherwise). */
  dnsServers: string[];
}

/** A running container's attachment to one network. */
export interface NetworkEndpoint {
  networkId: string;
  networkName: string;
  endpointId: string;
  ifName: string;
  ipAddress: string;
  ipPrefixLen: number;
  gateway: string;
  /** On IPv6 networks only. */
  ipv6Address?: string;
  ipv6PrefixLen?: number;
  ipv6Gateway?: string;
  macAddress: string;
  aliases: string[];
  containerName: string;
  /** The ports published through this endpoint, host ports resolved. */
  ports: NetworkPortMapping[];
}

/**
 * The network service (CNI bridges, namespaces, IPAM, published ports), as the engine uses it.
 * It knows containers only by id; the engine decides when they join and leave.
 */
export interface NetworkPort {
  list(): EngineNetwork[];
  /** By id, name or id prefix; throws docker's `network X not found` (404). */
  get(ref: string): EngineNetwork;
  create(request: NetworkCreateRequest): Promise<EngineNetwork>;
  /** Check `--ip`/`--ip6` for a network before anything is made (docker's wording: invalid, predefined network, no IPv6, outside the subnet). */
  checkAddresses(networkRef: string, ipv4Address: string, ipv6Address: string): void;
  /** Refuses predefined networks and ones with running containers attached. */
  remove(ref: string): Promise<void>;
  endpointsOf(networkId: string): Array<{ containerId: string; endpoint: NetworkEndpoint }>;
  endpointsOfContainer(containerId: string): NetworkEndpoint[];
  /** The namespace handle of a container set up here, while it runs. */
  namespaceOf(containerId: string): string | undefined;
  /** A new namespace joined to every network asked for; all or nothing. */
  setUp(containerId: string, requests: readonly NetworkAttachRequest[]): Promise<{ netnsPath: string; endpoints: NetworkEndpoint[] }>;
  connect(containerId: string, request: NetworkAttachRequest): Promise<NetworkEndpoint>;
  disconnect(containerId: string, networkId: string): Promise<void>;
  /** Leave every network and remove the namespace; idempotent. */
  tearDown(containerId: string): Promise<void>;
}
