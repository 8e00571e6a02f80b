/**
 * zod schemas for the request bodies berthd validates. Like dockerd they are lenient about
 * fields they do not know (kept, so newer clients work) and strict about the types of the
 * fields they do (a wrong type is a 400). Every known field accepts null as docker's own
 * clients send it for "unset".
 */
import { z } from 'zod';

const str = z.string().nullish();
const bool = z.boolean().nullish();
const int = z.number().int().nullish();
const num = z.number().nullish();
const strList = z.array(z.string()).nullish();
const strMap = z.record(z.string(), z.string()).nullish();
const emptyObjMap = z.record(z.string(), z.looseObject({})).nullish();

/** `HealthConfig`. */
export const healthConfigSchema = z.looseObject({
  Test: strList,
  Interval: int,
  Timeout: int,
  Retries: int,
  StartPeriod: int,
  StartInterval: int,
});

const portBindingSchema = z.looseObject({ HostIp: str, HostPort: str });

/** `PortMap`: `port/proto` to bindings. */
export const portMapSchema = z.record(z.string(), z.array(portBindingSchema).nullable()).nullish();

const throttleDevice = z.looseObject({ Path: str, Rate: int });
const throttleList = z.array(throttleDevice).nullish();

/** `Mount` (`--mount`). */
export const mountSchema = z.looseObject({
  Target: str,
  Source: str,
  Type: z.enum(['bind', 'volume', 'tmpfs', 'npipe', 'cluster', 'image']).nullish(),
  ReadOnly: bool,
  Consistency: str,
  BindOptions: z
    .looseObject({ Propagation: str, NonRecursive: bool, CreateMountpoint: bool, ReadOnlyNonRecursive: bool, ReadOnlyForceRecursive: bool })
    .nullish(),
  VolumeOptions: z
    .looseObject({
      NoCopy: bool,
      Labels: strMap,
      DriverConfig: z.looseObject({ Name: str, Options: strMap }).nullish(),
      Subpath: str,
    })
    .nullish(),
  TmpfsOptions: z.looseObject({ SizeBytes: int, Mode: int, Options: z.array(z.array(z.string())).nullish() }).nullish(),
  ImageOptions: z.looseObject({ Subpath: str }).nullish(),
});

/** `Resources`: the cgroup limits; also the body of `POST /containers/{id}/update`. */
export const resourcesSchema = z.looseObject({
  CpuShares: int,
  Memory: int,
  CgroupParent: str,
  BlkioWeight: int,
  BlkioWeightDevice: z.array(z.looseObject({ Path: str, Weight: int })).nullish(),
  BlkioDeviceReadBps: throttleList,
  BlkioDeviceWriteBps: throttleList,
  BlkioDeviceReadIOps: throttleList,
  BlkioDeviceWriteIOps: throttleList,
  CpuPeriod: int,
  CpuQuota: int,
  CpuRealtimePeriod: int,
  CpuRealtimeRuntime: int,
  CpusetCpus: str,
  CpusetMems: str,
  Devices: z.array(z.looseObject({ PathOnHost: str, PathInContainer: str, CgroupPermissions: str })).nullish(),
  DeviceCgroupRules: strList,
  DeviceRequests: z.array(z.looseObject({})).nullish(),
  KernelMemoryTCP: int,
  MemoryReservation: int,
  MemorySwap: int,
  MemorySwappiness: int,
  NanoCpus: int,
  OomKillDisable: bool,
  Init: bool,
  PidsLimit: int,
  Ulimits: z.array(z.looseObject({ Name: str, Soft: int, Hard: int })).nullish(),
  CpuCount: int,
  CpuPercent: int,
  IOMaximumIOps: int,
  IOMaximumBandwidth: int,
});

/** `HostConfig` as sent in the create body. */
export const hostConfigSchema = resourcesSchema.extend({
  Binds: strList,
  ContainerIDFile: str,
  LogConfig: z.looseObject({ Type: str, Config: strMap }).nullish(),
  NetworkMode: str,
  PortBindings: portMapSchema,
  RestartPolicy: z
    .looseObject({
      Name: z.enum(['', 'no', 'always', 'unless-stopped', 'on-failure']).nullish(),
      MaximumRetryCount: int,
    })
    .nullish(),
  AutoRemove: bool,
  VolumeDriver: str,
  VolumesFrom: strList,
  Mounts: z.array(mountSchema).nullish(),
  ConsoleSize: z.array(z.number().int().nonnegative()).length(2).nullish(),
  Annotations: strMap,
  CapAdd: strList,
  CapDrop: strList,
  CgroupnsMode: z.enum(['private', 'host', '']).nullish(),
  Dns: strList,
  DnsOptions: strList,
  DnsSearch: strList,
  ExtraHosts: strList,
  GroupAdd: strList,
  IpcMode: str,
  Cgroup: str,
  Links: strList,
  OomScoreAdj: int,
  PidMode: str,
  Privileged: bool,
  PublishAllPorts: bool,
  ReadonlyRootfs: bool,
  SecurityOpt: strList,
  StorageOpt: strMap,
  Tmpfs: strMap,
  UTSMode: str,
  UsernsMode: str,
  ShmSize: int,
  Sysctls: strMap,
  Runtime: str,
  Isolation: str,
  MaskedPaths: strList,
  ReadonlyPaths: strList,
});

/** `EndpointSettings` as a request (network connect, create's NetworkingConfig). */
export const endpointSettingsSchema = z.looseObject({
  IPAMConfig: z.looseObject({ IPv4Address: str, IPv6Address: str, LinkLocalIPs: strList }).nullish(),
  Links: strList,
  MacAddress: str,
  Aliases: strList,
  DriverOpts: strMap,
  GwPriority: int,
  NetworkID: str,
  EndpointID: str,
  Gateway: str,
  IPAddress: str,
  IPPrefixLen: int,
  IPv6Gateway: str,
  GlobalIPv6Address: str,
  GlobalIPv6PrefixLen: int,
  DNSNames: strList,
});

/** `ContainerConfig`'s fields (also the `Config` of commit and build). */
export const containerConfigSchema = z.looseObject({
  Hostname: str,
  Domainname: str,
  User: str,
  AttachStdin: bool,
  AttachStdout: bool,
  AttachStderr: bool,
  ExposedPorts: emptyObjMap,
  Tty: bool,
  OpenStdin: bool,
  StdinOnce: bool,
  Env: strList,
  // docker's own types accept a bare string for Cmd/Entrypoint (strslice) and so do we.
  Cmd: z.union([z.array(z.string()), z.string()]).nullish(),
  Healthcheck: healthConfigSchema.nullish(),
  ArgsEscaped: bool,
  Image: str,
  Volumes: emptyObjMap,
  WorkingDir: str,
  Entrypoint: z.union([z.array(z.string()), z.string()]).nullish(),
  NetworkDisabled: bool,
  MacAddress: str,
  OnBuild: strList,
  Labels: strMap,
  StopSignal: str,
  StopTimeout: int,
  Shell: strList,
});

/** Body of `POST /containers/create`. */
export const containerCreateRequestSchema = containerConfigSchema.extend({
  HostConfig: hostConfigSchema.nullish(),
  NetworkingConfig: z.looseObject({ EndpointsConfig: z.record(z.string(), endpointSettingsSchema).nullish() }).nullish(),
});

/** The create body after validation. */
export type ValidContainerCreateRequest = z.infer<typeof containerCreateRequestSchema>;

/** Body of `POST /containers/{id}/exec`. */
export const execCreateRequestSchema = z.looseObject({
  AttachStdin: bool,
  AttachStdout: bool,
  AttachStderr: bool,
  ConsoleSize: z.array(z.number().int().nonnegative()).length(2).nullish(),
  DetachKeys: str,
  Tty: bool,
  Env: strList,
  Cmd: z.array(z.string()).min(1),
  Privileged: bool,
  User: str,
  WorkingDir: str,
});

/** Body of `POST /exec/{id}/start`. */
export const execStartRequestSchema = z.looseObject({
  Detach: bool,
  Tty: bool,
  ConsoleSize: z.array(z.number().int().nonnegative()).length(2).nullish(),
});

/** Body of `POST /volumes/create`. */
export const volumeCreateRequestSchema = z.looseObject({
  Name: str,
  Driver: str,
  DriverOpts: strMap,
  Labels: strMap,
});

/** Body of `POST /networks/create`. */
export const networkCreateRequestSchema = z.looseObject({
  Name: z.string().min(1),
  Driver: str,
  Scope: str,
  Internal: bool,
  Attachable: bool,
  Ingress: bool,
  EnableIPv4: bool,
  EnableIPv6: bool,
  IPAM: z
    .looseObject({
      Driver: str,
      Config: z.array(z.looseObject({ Subnet: str, IPRange: str, Gateway: str, AuxiliaryAddresses: strMap })).nullish(),
      Options: strMap,
    })
    .nullish(),
  Options: strMap,
  Labels: strMap,
});

/** Body of `POST /networks/{id}/connect`. */
export const networkConnectRequestSchema = z.looseObject({
  Container: z.string().min(1),
  EndpointConfig: endpointSettingsSchema.nullish(),
});

/** Body of `POST /networks/{id}/disconnect`. */
export const networkDisconnectRequestSchema = z.looseObject({
  Container: z.string().min(1),
  Force: bool,
});

/**
 * One line describing why `value` failed `schema`, in the spirit of dockerd's JSON decode
 * errors ("json: cannot unmarshal string into Go struct field ... of type int64"); the API
 * layer sends it with 400.
 */
export function describeIssue(error: z.ZodError): string {
  const issue = error.issues[0];
  if (!issue) return 'invalid request body';
  const path = issue.path.map(String).join('.');
  return path ? `invalid JSON: field ${path}: ${issue.message}` : `invalid JSON: ${issue.message}`;
}

/** `POST /auth`: docker's AuthConfig (older clients send `auth` as base64 user:password). */
export const authConfigSchema = z.looseObject({
  username: z.string().optional(),
  password: z.string().optional(),
  auth: z.string().optional(),
  email: z.string().optional(),
  serveraddress: z.string().optional(),
  identitytoken: z.string().optional(),
  registrytoken: z.string().optional(),
});
