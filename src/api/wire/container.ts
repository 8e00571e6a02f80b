/**
 * Docker's container JSON shapes (moby api/swagger.yaml, API 1.51): create, inspect,
 * list, wait and top. Field names are docker's; optional fields may be absent or null
 * because older clients and docker itself send both.
 */
import type { HostConfig, PortMap } from './host-config.js';

/** A label map as docker sends it. */
export type Labels = Record<string, string>;

/** `HealthConfig`: the healthcheck of a container or image. Durations are nanoseconds. */
export interface HealthConfig {
  Test?: string[] | null;
  Interval?: number;
  Timeout?: number;
  Retries?: number;
  StartPeriod?: number;
  StartInterval?: number;
}

/** `ContainerConfig`: the portable part of a container's configuration (`Config` in inspect). */
export interface ContainerConfig {
  Hostname?: string;
  Domainname?: string;
  User?: string;
  AttachStdin?: boolean;
  AttachStdout?: boolean;
  AttachStderr?: boolean;
  /** Keys are `port/proto` (`80/tcp`); values are always `{}`. */
  ExposedPorts?: Record<string, Record<string, never>> | null;
  Tty?: boolean;
  OpenStdin?: boolean;
  StdinOnce?: boolean;
  /** `KEY=value` entries. */
  Env?: string[] | null;
  Cmd?: string[] | null;
  Healthcheck?: HealthConfig | null;
  ArgsEscaped?: boolean | null;
  Image?: string;
  /** Keys are container paths; values are always `{}`. */
  Volumes?: Record<string, Record<string, never>> | null;
  WorkingDir?: string;
  Entrypoint?: string[] | null;
  NetworkDisabled?: boolean | null;
  MacAddress?: string | null;
  OnBuild?: string[] | null;
  Labels?: Labels | null;
  StopSignal?: string | null;
  /** Seconds to wait after the stop signal before SIGKILL. */
  StopTimeout?: number | null;
  Shell?: string[] | null;
}

/** `EndpointIPAMConfig`: static addresses requested for one endpoint. */
export interface EndpointIpamConfig {
  IPv4Address?: string;
  IPv6Address?: string;
  LinkLocalIPs?: string[] | null;
}

/** `EndpointSettings`: a container's attachment to one network (request and inspect). */
export interface EndpointSettings {
  IPAMConfig?: EndpointIpamConfig | null;
  Links?: string[] | null;
  MacAddress?: string;
  Aliases?: string[] | null;
  DriverOpts?: Record<string, string> | null;
  GwPriority?: number;
  NetworkID?: string;
  EndpointID?: string;
  Gateway?: string;
  IPAddress?: string;
  IPPrefixLen?: number;
  IPv6Gateway?: string;
  GlobalIPv6Address?: string;
  GlobalIPv6PrefixLen?: number;
  DNSNames?: string[] | null;
}

/** `NetworkingConfig`: endpoints to connect at create time, keyed by network name or id. */
export interface NetworkingConfig {
  EndpointsConfig?: Record<string, EndpointSettings> | null;
}

/** Body of `POST /containers/create`: the container config with HostConfig and NetworkingConfig inline. */
export interface ContainerCreateRequest extends ContainerConfig {
  HostConfig?: HostConfig | null;
  NetworkingConfig?: NetworkingConfig | null;
}

/** Answer of `POST /containers/create` (201). */
export interface ContainerCreateResponse {
  Id: string;
  Warnings: string[];
}

/** Docker's container states, as `State.Status` and the `status` filter spell them. */
export type ContainerStatus = 'created' | 'running' | 'paused' | 'restarting' | 'removing' | 'exited' | 'dead';

/** `HealthcheckResult`: one probe run. */
export interface HealthcheckResult {
  Start: string;
  End: string;
  ExitCode: number;
  Output: string;
}

/** `Health`: the healthcheck state of a running container. */
export interface Health {
  Status: 'none' | 'starting' | 'healthy' | 'unhealthy';
  FailingStreak: number;
  Log: HealthcheckResult[] | null;
}

/** `ContainerState`: `State` in inspect. Times are RFC 3339 with nanoseconds; zero time is `0001-01-01T00:00:00Z`. */
export interface ContainerState {
  Status: ContainerStatus;
  Running: boolean;
  Paused: boolean;
  Restarting: boolean;
  OOMKilled: boolean;
  Dead: boolean;
  Pid: number;
  ExitCode: number;
  Error: string;
  StartedAt: string;
  FinishedAt: string;
  Health?: Health | null;
}

/** `MountPoint`: one entry of inspect's `Mounts`. */
export interface MountPoint {
  Type: 'bind' | 'volume' | 'tmpfs' | 'npipe' | 'cluster' | 'image';
  Name?: string;
  Source: string;
  Destination: string;
  Driver?: string;
  Mode: string;
  RW: boolean;
  Propagation: string;
}

/** `NetworkSettings` in inspect. The deprecated top-level address fields are still sent for the default bridge. */
export interface NetworkSettings {
  Bridge?: string;
  SandboxID: string;
  SandboxKey: string;
  Ports: PortMap;
  HairpinMode?: boolean;
  LinkLocalIPv6Address?: string;
  LinkLocalIPv6PrefixLen?: number;
  SecondaryIPAddresses?: unknown[] | null;
  SecondaryIPv6Addresses?: unknown[] | null;
  EndpointID?: string;
  Gateway?: string;
  GlobalIPv6Address?: string;
  GlobalIPv6PrefixLen?: number;
  IPAddress?: string;
  IPPrefixLen?: number;
  IPv6Gateway?: string;
  MacAddress?: string;
  Networks: Record<string, EndpointSettings>;
}

/** `GraphDriverData`: the storage driver's view of a container or image. */
export interface GraphDriverData {
  Name: string;
  Data: Record<string, string> | null;
}

/** Answer of `GET /containers/{id}/json`. */
export interface ContainerInspectResponse {
  Id: string;
  /** RFC 3339 with nanoseconds. */
  Created: string;
  Path: string;
  Args: string[];
  State: ContainerState;
  /** The image id (`sha256:...`). */
  Image: string;
  ResolvConfPath: string;
  HostnamePath: string;
  HostsPath: string;
  LogPath: string;
  /** With the leading slash: `/name`. */
  Name: string;
  RestartCount: number;
  Driver: string;
  Platform: string;
  MountLabel: string;
  ProcessLabel: string;
  AppArmorProfile: string;
  ExecIDs: string[] | null;
  HostConfig: HostConfig;
  GraphDriver: GraphDriverData;
  SizeRw?: number;
  SizeRootFs?: number;
  Mounts: MountPoint[];
  Config: ContainerConfig;
  NetworkSettings: NetworkSettings;
  /**
   * Berth's own, on VM containers only (docker has no such field; `docker inspect` prints the
   * daemon's JSON as it is, and `-f '{{.VM.Accelerator}}'` reads it): `Accelerator` is what the
   * container's VM ran with in its last run (`kvm` or `tcg`), empty until berth-vm reported it.
   */
  VM?: { Accelerator: string };
}

/** `Port`: one row of a container summary's `Ports`. */
export interface Port {
  IP?: string;
  PrivatePort: number;
  PublicPort?: number;
  Type: 'tcp' | 'udp' | 'sctp';
}

/** `ContainerSummary`: one entry of `GET /containers/json` (docker ps). */
export interface ContainerSummary {
  Id: string;
  /** With leading slashes: `["/name"]`. */
  Names: string[];
  /** The reference the user gave (or the id when the image was re-tagged). */
  Image: string;
  ImageID: string;
  ImageManifestDescriptor?: unknown;
  /** Path and args joined with spaces. */
  Command: string;
  /** Unix seconds. */
  Created: number;
  Ports: Port[];
  SizeRw?: number;
  SizeRootFs?: number;
  Labels: Labels;
  State: ContainerStatus;
  /** Human text: `Up 3 seconds`, `Exited (0) 2 minutes ago`. */
  Status: string;
  HostConfig: { NetworkMode: string; Annotations?: Record<string, string> };
  NetworkSettings: { Networks: Record<string, EndpointSettings> };
  Mounts: MountPoint[];
}

/** Conditions `POST /containers/{id}/wait` accepts. */
export type WaitCondition = 'not-running' | 'next-exit' | 'removed';

/** Answer of `POST /containers/{id}/wait`. */
export interface ContainerWaitResponse {
  StatusCode: number;
  Error?: { Message: string } | null;
}

/** Answer of `GET /containers/{id}/top`: `ps` output split into columns. */
export interface ContainerTopResponse {
  Titles: string[];
  Processes: string[][];
}

/** Answer of `POST /containers/prune`. */
export interface ContainerPruneResponse {
  ContainersDeleted: string[] | null;
  SpaceReclaimed: number;
}

/** One entry of `GET /containers/{id}/changes`: Kind 0 modified, 1 added, 2 deleted. */
export interface FilesystemChange {
  Path: string;
  Kind: 0 | 1 | 2;
}
