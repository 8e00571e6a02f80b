/**
 * The engine's view of one container as the runtime layer needs it to build and run an OCI
 * bundle. camelCase, already validated: the API edge checked the user's input.
 */
import type { Readable, Stream, Writable } from 'node:stream';
import type { CgroupStats, HostCpuSample, NetworkCounters } from '../sys/index.js';

/** Which network namespace the container gets. */
export type NetworkNamespaceSetting = 'new' | 'host' | { path: string };

/** Host files bind-mounted over the container's /etc/hosts, /etc/hostname, /etc/resolv.conf. */
export interface EtcFiles {
  hosts?: string;
  hostname?: string;
  resolvConf?: string;
}

/** A bind, tmpfs or volume mount the engine resolved to a host path. */
export interface ContainerMount {
  destination: string;
  /** Host path for binds and volumes; ignored for tmpfs. */
  source?: string;
  type: 'bind' | 'tmpfs';
  isReadOnly?: boolean;
  /** Extra mount options (tmpfs `size=64m`, propagation `rprivate`...). */
  options?: string[];
}

/** One `--device host[:container[:rwm]]`. */
export interface DeviceMapping {
  pathOnHost: string;
  pathInContainer: string;
  /** Some of `r`, `w`, `m`. */
  cgroupPermissions: string;
}

/** Everything needed to write a container's config.json. */
export interface ContainerRuntimeSettings {
  /** Full 64-hex container id; also the OCI runtime's container id. */
  id: string;
  /** Directory that holds config.json; conmon puts its attach socket and ctl fifo here. */
  bundleDir: string;
  /** The already-mounted root filesystem (overlay `merged`). */
  rootfsDir: string;
  /** argv; args[0] is looked up in PATH by the runtime. */
  args: string[];
  /** `KEY=value` strings; PATH and HOSTNAME get docker's defaults when missing. */
  env: string[];
  /** Working directory inside the container; '' means '/'. */
  cwd: string;
  /** docker's `--user`: '', name, uid, name:group, uid:gid (groups may be names or ids). */
  user: string;
  hostname: string;
  isTty: boolean;
  isStdinOpen: boolean;
  /**
   * docker's StdinOnce: the first attach client's stdin EOF closes the container's stdin. Absent
   * means true (conmon's default); false with isStdinOpen keeps stdin open across attaches (`docker run -di`).
   */
  isStdinOnce?: boolean;
  etcFiles?: EtcFiles;
  mounts?: ContainerMount[];
  isPrivileged: boolean;
  capAdd: string[];
  capDrop: string[];
  isReadonlyRootfs: boolean;
  /** docker's `--security-opt` values: `seccomp=unconfined|<path>`, `no-new-privileges[:true]`, `apparmor=...`, `label=...`. */
  securityOpt: string[];
  /** cgroupfs path; defaults to `/berth/<id>`. */
  cgroupsPath?: string;
  /** Written to the spec's annotations (labels go here too, prefixed by the engine if it wants). */
  annotations?: Record<string, string>;
  networkNamespace: NetworkNamespaceSetting;
  /** `--shm-size` in bytes; docker's default is 64 MiB. */
  shmSizeBytes?: number;
  /** `--ipc none`: no /dev/shm at all (the IPC namespace stays the container's own), as dockerd's. */
  isShmOmitted?: boolean;
  /** `--memory`, `--pids-limit`, `--cpu-shares`: only what is set is written. */
  memoryLimitBytes?: number;
  pidsLimit?: number;
  cpuShares?: number;
  /** `--memory-swap` (memory plus swap; -1 unlimited), `--memory-reservation`: only when set. */
  memorySwapBytes?: number;
  memoryReservationBytes?: number;
  /** `--cpus` in units of 1e-9 CPUs; written as a CFS quota over a 100 ms period, as docker does. */
  nanoCpus?: number;
  /** `--cpuset-cpus` (`0-1`, `0,1`). */
  cpusetCpus?: string;
  /** `--cpu-quota`/`--cpu-period`, `--cpu-rt-period`/`--cpu-rt-runtime` in microseconds. */
  cpuQuota?: number;
  cpuPeriod?: number;
  cpuRealtimePeriod?: number;
  cpuRealtimeRuntime?: number;
  /** `--memory-swappiness` (0-100). */
  memorySwappiness?: number;
  /** `--blkio-weight`, `--blkio-weight-device` and the device throttles. */
  blkio?: BlkioLimits;
  /** `--oom-kill-disable`. */
  isOomKillDisabled?: boolean;
  /** `--ulimit`: only these are set; every other limit is inherited from the monitor. */
  ulimits?: Ulimit[];
  /** `--sysctl` key/values. */
  sysctls?: Record<string, string>;
  /** `Config.Domainname`. */
  domainname?: string;
  /** `--group-add`: group names or ids, resolved in the rootfs's /etc/group. */
  groupAdd?: string[];
  /** `--oom-score-adj`. */
  oomScoreAdj?: number;
  /** Namespaces shared with the host instead of new ones. */
  hostNamespaces?: Array<'pid' | 'ipc' | 'uts' | 'cgroup'>;
  /** An IPC namespace to join (a pod's handle) instead of a new one. */
  ipcNamespacePath?: string;
  /** A PID namespace to join (another container's) instead of a new one. */
  pidNamespacePath?: string;
  /** `--device`: host device nodes made in the container, with the cgroup rules to use them. */
  devices?: DeviceMapping[];
  /** `--device-cgroup-rule`: `type major:minor access` rules added to the defaults. */
  deviceCgroupRules?: string[];
  /** `--init`-free process: initial terminal size when isTty. */
  consoleSize?: { height: number; width: number };
}

/** Lifecycle states an OCI runtime reports, plus what Berth derives. */
export type RuntimeStatus = 'created' | 'running' | 'paused' | 'stopped';

/** `Runtime.state` result. */
export interface RuntimeState {
  status: RuntimeStatus;
  /** Host pid of the container's init, when it has one. */
  pid?: number;
  /** The runtime's annotations on its state (berth-vm: `io.berth.vm.accel`, `io.berth.vm.error`). */
  annotations?: Record<string, string>;
}

/** What to run in a container. */
export interface ExecSettings {
  /** The exec session's id (64 hex). */
  execId: string;
  containerId: string;
  /** The container's bundle directory (its config.json gives the process defaults). */
  bundleDir: string;
  args: string[];
  /** Added to (and overriding) the container's environment. */
  env: string[];
  /** '' keeps the container's working directory. */
  cwd: string;
  /** docker's `--user` forms; '' keeps the container's user. */
  user: string;
  isTty: boolean;
  isStdinOpen: boolean;
  /**
   * The caller waits for the process and needs nothing of it past its own life (a healthcheck's
   * probe; no tty, no stdin): a runtime that can run it in the foreground, without a monitor, does.
   */
  isForeground?: boolean;
  /** Every capability berthd itself has, as `docker exec --privileged`. */
  privilegedCapabilities: string[] | undefined;
  consoleSize?: { height: number; width: number };
  /** The API client's connection, shared with the session's attach helper (see AttachOptions). */
  client?: Stream;
  /** The session reads stdin from `client` itself once its input ends (see AttachOptions). */
  isStdinFromClient?: boolean;
}

/** A running exec: its output and input (through the attach helper, or the runtime's own pipes) and its exit. */
export interface ExecProcess {
  pid: number;
  /** docker's multiplexed frames (raw with a tty). */
  output: Readable;
  /** The process's stdin, when it has one. */
  input: Writable | null;
  /** Stop relaying (a detach); the process keeps running. */
  stopRelay(): void;
  /** End the process now (SIGKILL). */
  kill(): void;
  /** Settles with the exit status once the process has exited and its output is drained. */
  exited: Promise<number>;
  /** Change the tty size (no-op without one). */
  resize(height: number, width: number): Promise<void>;
  /** Remove the session's files; call after `exited`. */
  cleanup(): Promise<void>;
}


/** One `--ulimit name=soft[:hard]` (docker's names: `nofile`, `nproc`, `core`...). */
export interface Ulimit {
  name: string;
  soft: number;
  hard: number;
}

/**
 * The cgroup limits `Runtime.update` changes on a live container; a field left out keeps its
 * current value. Same units and meanings as in ContainerRuntimeSettings.
 */
export interface RuntimeResources {
  memoryLimitBytes?: number;
  memorySwapBytes?: number;
  memoryReservationBytes?: number;
  nanoCpus?: number;
  cpuShares?: number;
  /** `--cpu-quota`/`--cpu-period` in microseconds. */
  cpuQuota?: number;
  cpuPeriod?: number;
  /** `--cpu-rt-period`/`--cpu-rt-runtime` in microseconds (cgroup v1's real-time group scheduling). */
  cpuRealtimePeriod?: number;
  cpuRealtimeRuntime?: number;
  cpusetCpus?: string;
  pidsLimit?: number;
  /** `--memory-swappiness` (0-100; cgroup v1 only). */
  memorySwappiness?: number;
  /** `--blkio-weight` (10-1000) and the per-device settings, by the devices' numbers. */
  blkio?: BlkioLimits;
}

/** A block device's weight or rate limit, by its device numbers. */
export interface BlkioDeviceLimit {
  major: number;
  minor: number;
  /** The weight (`--blkio-weight-device`) or the rate per second (the throttles). */
  value: number;
}

/** `--blkio-weight`, `--blkio-weight-device` and the `--device-{read,write}-{bps,iops}` throttles. */
export interface BlkioLimits {
  weight?: number;
  weightDevices?: BlkioDeviceLimit[];
  readBps?: BlkioDeviceLimit[];
  writeBps?: BlkioDeviceLimit[];
  readIops?: BlkioDeviceLimit[];
  writeIops?: BlkioDeviceLimit[];
}

/** A sample of a running container's counters, for `stats`. */
export interface RuntimeStats {
  /** When the sample was read (ms since the epoch). */
  readAtMs: number;
  cgroup: CgroupStats;
  host: HostCpuSample;
  /** Interfaces of the container's network namespace, loopback included. */
  networks: Record<string, NetworkCounters>;
}

/** One log entry: a full line with its trailing newline, or a final unterminated fragment. */
export interface LogRecord {
  stream: 'stdout' | 'stderr';
  /** RFC3339Nano as conmon wrote it (of the entry's last part). */
  timestamp: string;
  data: Buffer;
}

export interface ReadLogsOptions {
  /** Keep reading appended records until `isDone`/`signal` says stop. */
  follow?: boolean;
  /** Only the last N entries present when reading starts (before following). */
  tailLines?: number;
  /** Keep entries at or after this time (ns since the epoch). */
  sinceNs?: bigint;
  /** Keep entries at or before this time (ns since the epoch). */
  untilNs?: bigint;
  /** Streams to include; both when neither is set. */
  stdout?: boolean;
  stderr?: boolean;
  /** When following: true once the container has exited; the reader then drains and ends. */
  isDone?: () => boolean;
  /** Ends the iteration (without error) when aborted. */
  signal?: AbortSignal;
  /** How often to re-check the file when no change is signalled. */
  pollMs?: number;
}
