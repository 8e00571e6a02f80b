/**
 * Containers between docker's wire shapes and the engine's records: the create body in,
 * inspect and ps rows out. The only code that knows both sides.
 */
import { humanDuration, InvalidArgumentError } from '../../common/index.js';
import { DEFAULT_LOG_DRIVER, healthcheckSettingsOf, logDriverName, ZERO_TIME, linksForInspect, type BlkioDeviceSetting, type ContainerRecord, type CreateContainerInput, type HealthcheckSettings, type HealthState, type RestartPolicyName } from '../../engine/index.js';
import type {
  ContainerConfig,
  Health,
  HealthConfig,
  ContainerInspectResponse,
  ContainerSummary,
  HostConfig,
  ValidContainerCreateRequest,
} from '../wire/index.js';
import { fromDockerMount, toDockerMount, toDockerMounts } from './volume.js';
import { refuseUnsupportedCreateSettings } from './unsupported-settings.js';
import { fromDockerEndpointsConfig, toDockerNetworks, toDockerNetworkSettings, toDockerPorts } from './network.js';

function asList(value: string[] | string | null | undefined): string[] | null {
  if (value === null || value === undefined) return null;
  return typeof value === 'string' ? [value] : value;
}

/** The engine's create input from docker's create body and `?name=`. */
export function fromDockerCreate(body: ValidContainerCreateRequest, name: string | undefined): CreateContainerInput {
  if (!body.Image) throw new InvalidArgumentError('config cannot be empty in order to create a container');
  refuseUnsupportedCreateSettings(body);
  const host = body.HostConfig ?? {};
  const restartName = (host.RestartPolicy?.Name || 'no') as RestartPolicyName;
  const timeout = body.StopTimeout;
  return {
    name,
    imageRef: body.Image,
    cmd: asList(body.Cmd),
    entrypoint: asList(body.Entrypoint),
    env: body.Env ?? [],
    workingDir: body.WorkingDir ?? '',
    user: body.User ?? '',
    hostname: body.Hostname ?? '',
    domainname: body.Domainname ?? '',
    labels: body.Labels ?? {},
    tty: body.Tty ?? false,
    openStdin: body.OpenStdin ?? false,
    stdinOnce: body.StdinOnce ?? false,
    attachStdin: body.AttachStdin ?? false,
    attachStdout: body.AttachStdout ?? false,
    attachStderr: body.AttachStderr ?? false,
    stopSignal: body.StopSignal ?? '',
    stopTimeoutSec: timeout === null || timeout === undefined ? null : timeout,
    exposedPorts: (body.ExposedPorts ?? {}) as Record<string, Record<string, never>>,
    volumes: (body.Volumes ?? {}) as Record<string, Record<string, never>>,
    healthcheck: fromDockerHealthcheck(body.Healthcheck),
    host: {
      autoRemove: host.AutoRemove ?? false,
      privileged: host.Privileged ?? false,
      capAdd: host.CapAdd ?? [],
      capDrop: host.CapDrop ?? [],
      securityOpt: host.SecurityOpt ?? [],
      readonlyRootfs: host.ReadonlyRootfs ?? false,
      runtime: host.Runtime ?? '',
      isolation: host.Isolation ?? '',
      networkMode: host.NetworkMode || 'default',
      restartPolicy: { name: restartName, maximumRetryCount: host.RestartPolicy?.MaximumRetryCount ?? 0 },
      memoryBytes: host.Memory ?? 0,
      memorySwapBytes: host.MemorySwap ?? 0,
      nanoCpus: host.NanoCpus ?? 0,
      cpuShares: host.CpuShares ?? 0,
      pidsLimit: host.PidsLimit ?? null,
      memoryReservationBytes: host.MemoryReservation ?? 0,
      cpusetCpus: host.CpusetCpus ?? '',
      oomKillDisable: host.OomKillDisable ?? false,
      ulimits: (host.Ulimits ?? []).map((u) => ({ name: u.Name ?? '', soft: u.Soft ?? 0, hard: u.Hard ?? 0 })),
      shmSizeBytes: host.ShmSize || 64 * 1024 * 1024,
      binds: host.Binds ?? [],
      mountRequests: (host.Mounts ?? []).map(fromDockerMount),
      tmpfs: host.Tmpfs ?? {},
      volumesFrom: host.VolumesFrom ?? [],
      volumeDriver: host.VolumeDriver ?? '',
      logConfig: { type: host.LogConfig?.Type || DEFAULT_LOG_DRIVER, config: host.LogConfig?.Config ?? {} },
      extraHosts: host.ExtraHosts ?? [],
      portBindings: Object.fromEntries(Object.entries(host.PortBindings ?? {}).map(([key, list]) => [key, (list ?? []).map((b) => ({ hostIp: b.HostIp ?? '', hostPort: b.HostPort ?? '' }))])),
      publishAllPorts: host.PublishAllPorts ?? false,
      dns: host.Dns ?? [],
      dnsSearch: host.DnsSearch ?? [],
      dnsOptions: host.DnsOptions ?? [],
      init: host.Init ?? null,
      groupAdd: host.GroupAdd ?? [],
      oomScoreAdj: host.OomScoreAdj ?? 0,
      sysctls: host.Sysctls ?? {},
      pidMode: host.PidMode ?? '',
      ipcMode: host.IpcMode ?? '',
      utsMode: host.UTSMode ?? '',
      cgroupnsMode: host.CgroupnsMode ?? '',
      devices: (host.Devices ?? []).map((d) => ({ pathOnHost: d.PathOnHost ?? '', pathInContainer: d.PathInContainer || d.PathOnHost || '', cgroupPermissions: d.CgroupPermissions || 'rwm' })),
      deviceCgroupRules: host.DeviceCgroupRules ?? [],
      cpuQuota: host.CpuQuota ?? 0,
      cpuPeriod: host.CpuPeriod ?? 0,
      cpuRealtimePeriod: host.CpuRealtimePeriod ?? 0,
      cpuRealtimeRuntime: host.CpuRealtimeRuntime ?? 0,
      // docker's clients send -1 (or null) for "not set".
      memorySwappiness: host.MemorySwappiness === undefined || host.MemorySwappiness === null || host.MemorySwappiness === -1 ? null : host.MemorySwappiness,
      blkioWeight: host.BlkioWeight ?? 0,
      blkioWeightDevices: (host.BlkioWeightDevice ?? []).map((d) => ({ path: d.Path ?? '', value: d.Weight ?? 0 })),
      blkioDeviceReadBps: fromDockerThrottles(host.BlkioDeviceReadBps),
      blkioDeviceWriteBps: fromDockerThrottles(host.BlkioDeviceWriteBps),
      blkioDeviceReadIops: fromDockerThrottles(host.BlkioDeviceReadIOps),
      blkioDeviceWriteIops: fromDockerThrottles(host.BlkioDeviceWriteIOps),
    },
    endpoints: fromDockerEndpointsConfig(body.NetworkingConfig?.EndpointsConfig, host.NetworkMode ?? '', body.MacAddress ?? ''),
    // The docker CLI puts --link into HostConfig.Links, and on a user-defined network into the endpoint's Links too.
    links: [...new Set([...(host.Links ?? []), ...Object.values(body.NetworkingConfig?.EndpointsConfig ?? {}).flatMap((endpoint) => endpoint.Links ?? [])])],
  };
}

function fromDockerThrottles(list: Array<{ Path?: string | null; Rate?: number | null }> | null | undefined): BlkioDeviceSetting[] {
  return (list ?? []).map((d) => ({ path: d.Path ?? '', value: d.Rate ?? 0 }));
}

function toDockerThrottles(list: readonly BlkioDeviceSetting[] | undefined): Array<{ Path: string; Rate: number }> {
  return (list ?? []).map((d) => ({ Path: d.path, Rate: d.value }));
}

/** `Healthcheck` of a create body; null when the user set none (the image's applies). */
function fromDockerHealthcheck(health: ValidContainerCreateRequest['Healthcheck']): HealthcheckSettings | null {
  return health ? healthcheckSettingsOf(health) : null;
}

/** docker's HealthConfig as inspect shows it: Test always, the other fields when set. */
function toDockerHealthcheck(health: HealthcheckSettings): HealthConfig {
  return {
    Test: health.test,
    ...(health.intervalNs ? { Interval: health.intervalNs } : {}),
    ...(health.timeoutNs ? { Timeout: health.timeoutNs } : {}),
    ...(health.startPeriodNs ? { StartPeriod: health.startPeriodNs } : {}),
    ...(health.startIntervalNs ? { StartInterval: health.startIntervalNs } : {}),
    ...(health.retries ? { Retries: health.retries } : {}),
  };
}

function toDockerHealth(health: HealthState): Health {
  return {
    Status: health.status,
    FailingStreak: health.failingStreak,
    Log: health.log.map((r) => ({ Start: r.start, End: r.end, ExitCode: r.exitCode, Output: r.output })),
  };
}

function toDockerConfig(record: ContainerRecord): ContainerConfig {
  const s = record.settings;
  const config: ContainerConfig = {
    Hostname: s.hostname,
    Domainname: s.domainname,
    User: s.user,
    AttachStdin: s.attachStdin,
    AttachStdout: s.attachStdout,
    AttachStderr: s.attachStderr,
    Tty: s.tty,
    OpenStdin: s.openStdin,
    StdinOnce: s.stdinOnce,
    Env: s.env,
    Cmd: s.cmd,
    Image: s.imageRef,
    Volumes: Object.keys(s.volumes).length > 0 ? s.volumes : null,
    WorkingDir: s.workingDir,
    Entrypoint: s.entrypoint,
    OnBuild: null,
    Labels: s.labels,
  };
  if (Object.keys(s.exposedPorts).length > 0) config.ExposedPorts = s.exposedPorts;
  if (s.stopSignal) config.StopSignal = s.stopSignal;
  if (s.stopTimeoutSec !== null) config.StopTimeout = s.stopTimeoutSec;
  if (s.healthcheck) config.Healthcheck = toDockerHealthcheck(s.healthcheck);
  return config;
}

function toDockerHostConfig(record: ContainerRecord): HostConfig {
  const h = record.host;
  return {
    Binds: h.binds.length > 0 ? h.binds : null,
    ContainerIDFile: '',
    LogConfig: { Type: logDriverName(h.logConfig.type), Config: h.logConfig.config },
    NetworkMode: h.networkMode,
    PortBindings: Object.fromEntries(Object.entries(h.portBindings ?? {}).map(([key, list]) => [key, list.map((b) => ({ HostIp: b.hostIp, HostPort: b.hostPort }))])),
    RestartPolicy: { Name: h.restartPolicy.name, MaximumRetryCount: h.restartPolicy.maximumRetryCount },
    AutoRemove: h.autoRemove,
    VolumeDriver: h.volumeDriver ?? '',
    VolumesFrom: h.volumesFrom?.length ? h.volumesFrom : null,
    ...(h.mountRequests?.length ? { Mounts: h.mountRequests.map(toDockerMount) } : {}),
    ...(h.tmpfs && Object.keys(h.tmpfs).length > 0 ? { Tmpfs: h.tmpfs } : {}),
    ConsoleSize: [0, 0],
    CapAdd: h.capAdd.length > 0 ? h.capAdd : null,
    CapDrop: h.capDrop.length > 0 ? h.capDrop : null,
    CgroupnsMode: h.cgroupnsMode === 'host' ? 'host' : 'private',
    Dns: h.dns,
    DnsOptions: h.dnsOptions,
    DnsSearch: h.dnsSearch,
    ExtraHosts: h.extraHosts.length > 0 ? h.extraHosts : null,
    GroupAdd: h.groupAdd?.length ? h.groupAdd : null,
    IpcMode: h.ipcMode || 'private',
    Cgroup: '',
    Links: linksForInspect(record),
    OomScoreAdj: h.oomScoreAdj ?? 0,
    PidMode: h.pidMode ?? '',
    Privileged: h.privileged,
    PublishAllPorts: h.publishAllPorts ?? false,
    ReadonlyRootfs: h.readonlyRootfs,
    SecurityOpt: h.securityOpt.length > 0 ? h.securityOpt : null,
    UTSMode: h.utsMode ?? '',
    UsernsMode: '',
    ShmSize: h.shmSizeBytes,
    ...(h.sysctls && Object.keys(h.sysctls).length > 0 ? { Sysctls: h.sysctls } : {}),
    Runtime: h.runtime,
    Isolation: h.isolation,
    CpuShares: h.cpuShares,
    Memory: h.memoryBytes,
    NanoCpus: h.nanoCpus,
    CgroupParent: '',
    BlkioWeight: h.blkioWeight ?? 0,
    BlkioWeightDevice: (h.blkioWeightDevices ?? []).map((d) => ({ Path: d.path, Weight: d.value })),
    BlkioDeviceReadBps: toDockerThrottles(h.blkioDeviceReadBps),
    BlkioDeviceWriteBps: toDockerThrottles(h.blkioDeviceWriteBps),
    BlkioDeviceReadIOps: toDockerThrottles(h.blkioDeviceReadIops),
    BlkioDeviceWriteIOps: toDockerThrottles(h.blkioDeviceWriteIops),
    CpuRealtimePeriod: h.cpuRealtimePeriod ?? 0,
    CpuRealtimeRuntime: h.cpuRealtimeRuntime ?? 0,
    Devices: (h.devices ?? []).map((d) => ({ PathOnHost: d.pathOnHost, PathInContainer: d.pathInContainer, CgroupPermissions: d.cgroupPermissions })),
    DeviceCgroupRules: h.deviceCgroupRules?.length ? h.deviceCgroupRules : null,
    DeviceRequests: null,
    MemorySwappiness: h.memorySwappiness ?? null,
    // Settings Berth refuses, with the values dockerd reports when they are unset:
    // clients index these keys (docker-py's and dockerode's users do).
    CpuCount: 0,
    CpuPercent: 0,
    IOMaximumIOps: 0,
    IOMaximumBandwidth: 0,
    MemorySwap: h.memorySwapBytes,
    PidsLimit: h.pidsLimit,
    MemoryReservation: h.memoryReservationBytes ?? 0,
    CpusetCpus: h.cpusetCpus ?? '',
    CpusetMems: '',
    CpuPeriod: h.cpuPeriod ?? 0,
    CpuQuota: h.cpuQuota ?? 0,
    OomKillDisable: h.oomKillDisable ?? false,
    Ulimits: (h.ulimits ?? []).map((u) => ({ Name: u.name, Soft: u.soft, Hard: u.hard })),
    // As dockerd: what was asked (null takes the daemon's default); older records know only whether it runs.
    Init: h.initRequested !== undefined ? h.initRequested : h.init ? true : null,
    MaskedPaths: h.privileged ? null : DEFAULT_MASKED_PATHS,
    ReadonlyPaths: h.privileged ? null : DEFAULT_READONLY_PATHS,
  };
}

// What inspect reports; the runtime's spec builder applies its own copy of docker's defaults.
const DEFAULT_MASKED_PATHS = [
  '/proc/asound', '/proc/acpi', '/proc/interrupts', '/proc/kcore', '/proc/keys', '/proc/latency_stats',
  '/proc/timer_list', '/proc/timer_stats', '/proc/sched_debug', '/proc/scsi', '/sys/firmware', '/sys/devices/virtual/powercap',
];
const DEFAULT_READONLY_PATHS = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'];

export interface InspectPaths {
  logPath: string;
  userdata: string;
  upper: string;
  work: string;
  merged: string;
  lowerDirs: string[];
}

/** What inspect shows of the container's runtime beyond the record: whether it reports the accelerator a run got (a VM's). */
export interface InspectRuntimeFacts {
  reportsAccelerator: boolean;
}

/** docker's `GET /containers/{id}/json` answer for a record. */
export function toDockerInspect(record: ContainerRecord, paths: InspectPaths, runtime: InspectRuntimeFacts): ContainerInspectResponse {
  const state = record.state;
  return {
    Id: record.id,
    Created: record.created,
    Path: record.path,
    Args: record.args,
    State: {
      Status: state.status,
      // As dockerd's: a container between policy restarts still counts as running.
      Running: state.status === 'running' || state.status === 'paused' || state.status === 'restarting',
      Paused: state.status === 'paused',
      Restarting: state.status === 'restarting',
      OOMKilled: state.oomKilled,
      Dead: state.status === 'dead',
      Pid: state.pid,
      ExitCode: state.exitCode,
      Error: state.error,
      StartedAt: state.startedAt,
      FinishedAt: state.finishedAt,
      ...(state.health ? { Health: toDockerHealth(state.health) } : {}),
    },
    Image: record.imageId,
    ResolvConfPath: `${paths.userdata}/resolv.conf`,
    HostnamePath: `${paths.userdata}/hostname`,
    HostsPath: `${paths.userdata}/hosts`,
    LogPath: paths.logPath,
    Name: `/${record.name}`,
    RestartCount: state.restartCount,
    Driver: 'overlay',
    Platform: 'linux',
    MountLabel: '',
    ProcessLabel: '',
    AppArmorProfile: '',
    ExecIDs: null,
    HostConfig: toDockerHostConfig(record),
    GraphDriver: {
      Name: 'overlay',
      Data: {
        LowerDir: paths.lowerDirs.join(':'),
        UpperDir: paths.upper,
        WorkDir: paths.work,
        MergedDir: paths.merged,
      },
    },
    Mounts: toDockerMounts(record),
    Config: toDockerConfig(record),
    NetworkSettings: toDockerNetworkSettings(record),
    ...(runtime.reportsAccelerator ? { VM: { Accelerator: state.vmAccelerator ?? '' } } : {}),
  };
}

/** docker's human status column: `Up 3 seconds`, `Exited (0) 2 minutes ago`, `Created`. */
export function humanStatus(record: ContainerRecord, nowMs = Date.now()): string {
  const state = record.state;
  switch (state.status) {
    case 'running': {
      const up = `Up ${humanDuration(nowMs - Date.parse(state.startedAt))}`;
      if (!state.health) return up;
      return `${up} (${state.health.status === 'starting' ? 'health: starting' : state.health.status})`;
    }
    case 'paused':
      return `Up ${humanDuration(nowMs - Date.parse(state.startedAt))} (Paused)`;
    case 'restarting':
      return `Restarting (${state.exitCode}) ${humanDuration(nowMs - Date.parse(state.finishedAt))} ago`;
    case 'exited':
      if (state.finishedAt === ZERO_TIME) return 'Exited';
      return `Exited (${state.exitCode}) ${humanDuration(nowMs - Date.parse(state.finishedAt))} ago`;
    case 'removing':
      return 'Removal In Progress';
    case 'dead':
      return 'Dead';
    default:
      return 'Created';
  }
}

/** One row of `GET /containers/json`. */
export function toDockerSummary(record: ContainerRecord): ContainerSummary {
  const command = [record.path, ...record.args].join(' ');
  return {
    Id: record.id,
    Names: [`/${record.name}`],
    Image: record.settings.imageRef,
    ImageID: record.imageId,
    Command: command,
    Created: Math.floor(Date.parse(record.created) / 1000),
    Ports: toDockerPorts(record),
    Labels: record.settings.labels,
    State: record.state.status,
    Status: humanStatus(record),
    HostConfig: { NetworkMode: record.host.networkMode },
    NetworkSettings: { Networks: toDockerNetworks(record) },
    Mounts: toDockerMounts(record),
  };
}

