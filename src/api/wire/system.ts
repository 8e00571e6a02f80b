/**
 * Docker's system JSON shapes (moby api/swagger.yaml, API 1.51): version, info, events
 * and the error body every failing endpoint sends.
 */

/** The body of every error answer: `{"message": "..."}`. */
export interface ErrorResponse {
  message: string;
}

/** One component of `SystemVersion.Components`. */
export interface ComponentVersion {
  Name: string;
  Version: string;
  Details?: Record<string, string> | null;
}

/** Answer of `GET /version`. */
export interface SystemVersion {
  Platform: { Name: string };
  Components: ComponentVersion[];
  Version: string;
  ApiVersion: string;
  MinAPIVersion: string;
  GitCommit: string;
  GoVersion: string;
  Os: string;
  Arch: string;
  KernelVersion: string;
  Experimental?: boolean;
  /** RFC 3339. */
  BuildTime: string;
}

/** One runtime of `SystemInfo.Runtimes`. */
export interface RuntimeInfo {
  path: string;
  runtimeArgs?: string[];
}

/** Answer of `GET /info` (the fields docker info prints; docker tolerates the others absent). */
export interface SystemInfo {
  ID: string;
  Containers: number;
  ContainersRunning: number;
  ContainersPaused: number;
  ContainersStopped: number;
  Images: number;
  Driver: string;
  DriverStatus: [string, string][];
  /** Extra `key: value` lines; docker info prints each under the storage driver's. */
  SystemStatus?: [string, string][];
  DockerRootDir: string;
  Plugins: { Volume: string[]; Network: string[]; Authorization: string[] | null; Log: string[] };
  MemoryLimit: boolean;
  SwapLimit: boolean;
  CpuCfsPeriod: boolean;
  CpuCfsQuota: boolean;
  CPUShares: boolean;
  CPUSet: boolean;
  PidsLimit: boolean;
  OomKillDisable: boolean;
  IPv4Forwarding: boolean;
  Debug: boolean;
  NFd: number;
  NGoroutines: number;
  /** RFC 3339 with nanoseconds. */
  SystemTime: string;
  LoggingDriver: string;
  CgroupDriver: 'cgroupfs' | 'systemd' | 'none';
  CgroupVersion: '1' | '2';
  NEventsListener: number;
  KernelVersion: string;
  OperatingSystem: string;
  OSVersion: string;
  OSType: string;
  Architecture: string;
  NCPU: number;
  MemTotal: number;
  IndexServerAddress: string;
  RegistryConfig: unknown;
  GenericResources: unknown[] | null;
  HttpProxy: string;
  HttpsProxy: string;
  NoProxy: string;
  Name: string;
  Labels: string[];
  ExperimentalBuild: boolean;
  ServerVersion: string;
  Runtimes: Record<string, RuntimeInfo>;
  DefaultRuntime: string;
  Swarm: { NodeID: string; NodeAddr: string; LocalNodeState: string; ControlAvailable: boolean; Error: string; RemoteManagers: unknown[] | null };
  LiveRestoreEnabled: boolean;
  Isolation: string;
  InitBinary: string;
  ContainerdCommit: { ID: string; Expected?: string };
  RuncCommit: { ID: string; Expected?: string };
  InitCommit: { ID: string; Expected?: string };
  SecurityOptions: string[];
  Warnings: string[] | null;
}

/** Object types an event can be about. */
export type EventType = 'builder' | 'config' | 'container' | 'daemon' | 'image' | 'network' | 'node' | 'plugin' | 'secret' | 'service' | 'volume';

/** `EventMessage`: one object of `GET /events`. The legacy status/id/from stay for compose 1.x. */
export interface EventMessage {
  Type: EventType;
  Action: string;
  Actor: { ID: string; Attributes: Record<string, string> };
  scope: 'local' | 'swarm';
  /** Unix seconds. */
  time: number;
  timeNano: number;
  /** Legacy: equals Action for containers and images. */
  status?: string;
  /** Legacy: equals Actor.ID. */
  id?: string;
  /** Legacy: the image of a container event. */
  from?: string;
}
