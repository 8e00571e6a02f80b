/**
 * Docker's `HostConfig` (moby api/swagger.yaml, API 1.51): the non-portable settings of a
 * container, as `docker run` sends them in the create body and inspect returns them.
 */

/** `PortBinding`: one host side of a published port. */
export interface PortBinding {
  HostIp?: string;
  HostPort?: string;
}

/** `PortMap`: `port/proto` to its host bindings (null when exposed but not published). */
export type PortMap = Record<string, PortBinding[] | null>;

/** `RestartPolicy`. An empty Name means `no`. */
export interface RestartPolicy {
  Name?: '' | 'no' | 'always' | 'unless-stopped' | 'on-failure';
  MaximumRetryCount?: number;
}

/** `LogConfig`: the log driver and its options. */
export interface LogConfig {
  Type?: string;
  Config?: Record<string, string> | null;
}

/** `Mount`: one `--mount` entry. */
export interface Mount {
  Target?: string;
  Source?: string;
  Type?: 'bind' | 'volume' | 'tmpfs' | 'npipe' | 'cluster' | 'image';
  ReadOnly?: boolean;
  Consistency?: string;
  BindOptions?: {
    Propagation?: string;
    NonRecursive?: boolean;
    CreateMountpoint?: boolean;
    ReadOnlyNonRecursive?: boolean;
    ReadOnlyForceRecursive?: boolean;
  } | null;
  VolumeOptions?: {
    NoCopy?: boolean;
    Labels?: Record<string, string> | null;
    DriverConfig?: { Name?: string; Options?: Record<string, string> | null } | null;
    Subpath?: string;
  } | null;
  TmpfsOptions?: {
    /** Bytes. */
    SizeBytes?: number;
    Mode?: number;
    Options?: string[][] | null;
  } | null;
  ImageOptions?: { Subpath?: string } | null;
}

/** `ThrottleDevice`: a per-device rate limit. */
export interface ThrottleDevice {
  Path?: string;
  Rate?: number;
}

/** `DeviceMapping`: one `--device`. */
export interface DeviceMapping {
  PathOnHost?: string;
  PathInContainer?: string;
  CgroupPermissions?: string;
}

/** `DeviceRequest`: one `--gpus` style request. */
export interface DeviceRequest {
  Driver?: string;
  Count?: number;
  DeviceIDs?: string[] | null;
  Capabilities?: string[][] | null;
  Options?: Record<string, string> | null;
}

/** `Ulimit`: one `--ulimit`. */
export interface Ulimit {
  Name?: string;
  Soft?: number;
  Hard?: number;
}

/** `Resources`: the cgroup limits (inline in HostConfig, also the body of `POST /containers/{id}/update`). */
export interface Resources {
  CpuShares?: number;
  /** Bytes; 0 means unlimited. */
  Memory?: number;
  CgroupParent?: string;
  BlkioWeight?: number;
  BlkioWeightDevice?: { Path?: string; Weight?: number }[] | null;
  BlkioDeviceReadBps?: ThrottleDevice[] | null;
  BlkioDeviceWriteBps?: ThrottleDevice[] | null;
  BlkioDeviceReadIOps?: ThrottleDevice[] | null;
  BlkioDeviceWriteIOps?: ThrottleDevice[] | null;
  CpuPeriod?: number;
  CpuQuota?: number;
  CpuRealtimePeriod?: number;
  CpuRealtimeRuntime?: number;
  CpusetCpus?: string;
  CpusetMems?: string;
  Devices?: DeviceMapping[] | null;
  DeviceCgroupRules?: string[] | null;
  DeviceRequests?: DeviceRequest[] | null;
  /** Before API 1.42 only (always 0: Berth sets no kernel memory limit). */
  KernelMemory?: number;
  /** Before API 1.42 only, as KernelMemory. */
  KernelMemoryTCP?: number;
  MemoryReservation?: number;
  /** Bytes of memory plus swap; -1 means unlimited swap. */
  MemorySwap?: number;
  MemorySwappiness?: number | null;
  /** CPU quota in units of 1e-9 CPUs (`--cpus 1.5` is 1500000000). */
  NanoCpus?: number;
  OomKillDisable?: boolean | null;
  Init?: boolean | null;
  PidsLimit?: number | null;
  Ulimits?: Ulimit[] | null;
  CpuCount?: number;
  CpuPercent?: number;
  IOMaximumIOps?: number;
  IOMaximumBandwidth?: number;
}

/** `HostConfig`. */
export interface HostConfig extends Resources {
  /** `src:dst[:opts]` entries from `-v`. */
  Binds?: string[] | null;
  ContainerIDFile?: string;
  LogConfig?: LogConfig | null;
  /** `bridge`, `host`, `none`, `container:<id>` or a network name; `default` means bridge. */
  NetworkMode?: string;
  PortBindings?: PortMap | null;
  RestartPolicy?: RestartPolicy | null;
  AutoRemove?: boolean;
  VolumeDriver?: string;
  VolumesFrom?: string[] | null;
  Mounts?: Mount[] | null;
  ConsoleSize?: [number, number] | null;
  Annotations?: Record<string, string> | null;
  CapAdd?: string[] | null;
  CapDrop?: string[] | null;
  CgroupnsMode?: 'private' | 'host' | '';
  Dns?: string[] | null;
  DnsOptions?: string[] | null;
  DnsSearch?: string[] | null;
  ExtraHosts?: string[] | null;
  GroupAdd?: string[] | null;
  IpcMode?: string;
  Cgroup?: string;
  Links?: string[] | null;
  OomScoreAdj?: number;
  PidMode?: string;
  Privileged?: boolean;
  PublishAllPorts?: boolean;
  ReadonlyRootfs?: boolean;
  /** `seccomp=...`, `no-new-privileges[:true]`, `apparmor=...`, `label=...`. */
  SecurityOpt?: string[] | null;
  StorageOpt?: Record<string, string> | null;
  /** Container path to tmpfs options (`size=64m,mode=1777`). */
  Tmpfs?: Record<string, string> | null;
  UTSMode?: string;
  UsernsMode?: string;
  ShmSize?: number;
  Sysctls?: Record<string, string> | null;
  /** The OCI runtime name (`runc`, `crun`, `berth-vm`). */
  Runtime?: string;
  /** Berth accepts `default`, `process`, `vm` and `hyperv`; docker on Linux only the empty string and `default`. */
  Isolation?: string;
  MaskedPaths?: string[] | null;
  ReadonlyPaths?: string[] | null;
}
