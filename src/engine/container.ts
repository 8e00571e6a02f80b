/**
 * A container as the engine keeps it: what was asked for at create time and where it is in
 * its life. Persisted as `<root>/containers/<id>/config.json`; everything else is derived.
 */

import type { ContainerMountRecord, MountRequest } from './mounts.js';
import type { NetworkEndpoint } from './ports.js';

/** The life of a container, as docker names the states. */
export type ContainerStatus = 'created' | 'running' | 'paused' | 'restarting' | 'removing' | 'exited' | 'dead';

/** The process settings fixed at create time (image defaults already merged in). */
export interface ContainerSettings {
  hostname: string;
  domainname: string;
  user: string;
  env: string[];
  /** The command as the user gave it (`Cmd`), or the image's. */
  cmd: string[];
  /** The entrypoint as the user gave it, or the image's; null when none. */
  entrypoint: string[] | null;
  workingDir: string;
  labels: Record<string, string>;
  tty: boolean;
  openStdin: boolean;
  stdinOnce: boolean;
  attachStdin: boolean;
  attachStdout: boolean;
  attachStderr: boolean;
  stopSignal: string;
  stopTimeoutSec: number | null;
  exposedPorts: Record<string, Record<string, never>>;
  volumes: Record<string, Record<string, never>>;
  /** Config.Image as the user wrote it. */
  imageRef: string;
  /** The healthcheck, the user's merged with the image's (absent: none configured). */
  healthcheck?: HealthcheckSettings;
}

/**
 * docker's HealthConfig: `test` is `['CMD', ...args]`, `['CMD-SHELL', command]`, `['NONE']` or
 * `[]` (the image's); durations in nanoseconds, 0 meaning the image's or docker's default.
 */
export interface HealthcheckSettings {
  test: string[];
  intervalNs: number;
  timeoutNs: number;
  startPeriodNs: number;
  startIntervalNs: number;
  retries: number;
}

/** One probe's result, as inspect's State.Health.Log shows it. */
export interface HealthProbeResult {
  start: string;
  end: string;
  exitCode: number;
  output: string;
}

/** A container's health (inspect's State.Health): set from its first start with a healthcheck on. */
export interface HealthState {
  status: 'starting' | 'healthy' | 'unhealthy';
  failingStreak: number;
  /** The last results, oldest first (at most five). */
  log: HealthProbeResult[];
}

export type RestartPolicyName = 'no' | 'always' | 'unless-stopped' | 'on-failure';

/** Host-side settings: how the container is isolated and limited. */
export interface HostSettings {
  autoRemove: boolean;
  privileged: boolean;
  capAdd: string[];
  capDrop: string[];
  securityOpt: string[];
  readonlyRootfs: boolean;
  runtime: string;
  isolation: 'process' | 'vm';
  /** What the user asked for in HostConfig.Isolation ('' when nothing). */
  isolationRequested: string;
  networkMode: string;
  restartPolicy: { name: RestartPolicyName; maximumRetryCount: number };
  memoryBytes: number;
  memorySwapBytes: number;
  nanoCpus: number;
  cpuShares: number;
  pidsLimit: number | null;
  /** `--memory-reservation`, `--cpuset-cpus`, `--oom-kill-disable`, `--ulimit`; absent in older records. */
  memoryReservationBytes?: number;
  cpusetCpus?: string;
  oomKillDisable?: boolean;
  ulimits?: Array<{ name: string; soft: number; hard: number }>;
  shmSizeBytes: number;
  binds: string[];
  /** The mounts resolved at create (binds, volumes, tmpfs); absent in records older than volumes. */
  mounts?: ContainerMountRecord[];
  /** `--mount` entries as the user gave them, for inspect's HostConfig.Mounts. */
  mountRequests?: MountRequest[];
  /** `--tmpfs`: container path to mount options. */
  tmpfs?: Record<string, string>;
  /** `--volumes-from`: `container[:ro|rw]`. */
  volumesFrom?: string[];
  /** `--volume-driver`: the driver for volumes named without one ('' for local). */
  volumeDriver?: string;
  logConfig: { type: string; config: Record<string, string> };
  extraHosts: string[];
  /** `-p`: `80/tcp` to host bindings ('' address: all; '' or '0' port: any free one). */
  portBindings?: Record<string, Array<{ hostIp: string; hostPort: string }>>;
  /** `-P`: publish every exposed port to a free host port. */
  publishAllPorts?: boolean;
  /** The networks the container joins when it starts, by network name, with its settings on each. */
  networks?: Record<string, { aliases: string[]; ipv4Address: string; ipv6Address?: string; macAddress: string; networkId?: string }>;
  dns: string[];
  dnsSearch: string[];
  dnsOptions: string[];
  /** Whether the container runs the daemon's init as PID 1 (asked, or the daemon's default that applies to it). */
  init: boolean;
  /** `HostConfig.Init` as asked (null: the daemon's default), which inspect shows as dockerd does; absent in older records. */
  initRequested?: boolean | null;
  /** `--group-add`: groups (names or ids) added to the process's supplementary groups. */
  groupAdd?: string[];
  /** `--oom-score-adj`. */
  oomScoreAdj?: number;
  /** `--sysctl`: namespaced kernel parameters. */
  sysctls?: Record<string, string>;
  /** `--pid`, `--ipc`, `--uts`, `--cgroupns`: 'host' shares the host's namespace ('' or private: its own). */
  pidMode?: string;
  ipcMode?: string;
  utsMode?: string;
  cgroupnsMode?: string;
  /** `--device`: host device nodes made in the container. */
  devices?: Array<{ pathOnHost: string; pathInContainer: string; cgroupPermissions: string }>;
  /** `--device-cgroup-rule`s. */
  deviceCgroupRules?: string[];
  /** `--cpu-quota` and `--cpu-period` in microseconds (0: unset). */
  cpuQuota?: number;
  cpuPeriod?: number;
  /** Legacy `--link`s, by the target's id (its name as at create, for inspect). */
  links?: Array<{ targetId: string; targetName: string; alias: string }>;
  /** `--cpu-rt-period` and `--cpu-rt-runtime` in microseconds (0: unset). */
  cpuRealtimePeriod?: number;
  cpuRealtimeRuntime?: number;
  /** `--memory-swappiness` (0-100); null or absent: the host's. */
  memorySwappiness?: number | null;
  /** `--blkio-weight` (10-1000; 0: unset) and the per-device settings by host path, as docker records them. */
  blkioWeight?: number;
  blkioWeightDevices?: BlkioDeviceSetting[];
  blkioDeviceReadBps?: BlkioDeviceSetting[];
  blkioDeviceWriteBps?: BlkioDeviceSetting[];
  blkioDeviceReadIops?: BlkioDeviceSetting[];
  blkioDeviceWriteIops?: BlkioDeviceSetting[];
  /** The container's log file when its creator names one (a kubelet, through the CRI); else `ctr.log` in its directory. */
  logPath?: string;
  /** The cgroup its own cgroup goes below (a pod's, through the CRI); else Berth's `/berth`. */
  cgroupParent?: string;
  /** An IPC namespace to join (a pod's handle, through the CRI) instead of a new one. */
  ipcNamespacePath?: string;
  /** A PID namespace to join (a pod's shared one, through the CRI) instead of a new one. */
  pidNamespacePath?: string;
}

/** A block device by its host path with a weight (`--blkio-weight-device`) or a rate per second (the throttles). */
export interface BlkioDeviceSetting {
  path: string;
  value: number;
}

/** Where the container is in its life. Times are RFC 3339 strings; docker's zero time when unset. */
export interface ContainerState {
  status: ContainerStatus;
  pid: number;
  conmonPid: number;
  exitCode: number;
  error: string;
  oomKilled: boolean;
  startedAt: string;
  finishedAt: string;
  restartCount: number;
  /** Stopped by a user (stop, or kill with the stop signal): `unless-stopped` does not restart it. */
  hasBeenManuallyStopped?: boolean;
  /** A VM container's accelerator in its last run (`kvm`, `tcg`), as berth-vm reported it. */
  vmAccelerator?: string;
  /** Health of a container with a healthcheck, from its first start on. */
  health?: HealthState;
}

/** The persisted record of one container. */
export interface ContainerRecord {
  id: string;
  /** Without docker's leading slash. */
  name: string;
  created: string;
  imageId: string;
  /** The resolved command: entrypoint followed by cmd. */
  path: string;
  args: string[];
  settings: ContainerSettings;
  host: HostSettings;
  state: ContainerState;
  /** The live network attachments while the container runs (namespace handle and endpoints). */
  network?: { sandboxKey: string; endpoints: NetworkEndpoint[] };
}

/** docker's zero time, which inspect shows for times that never happened. */
export const ZERO_TIME = '0001-01-01T00:00:00Z';

export function isRunningStatus(status: ContainerStatus): boolean {
  return status === 'running' || status === 'paused' || status === 'restarting';
}
