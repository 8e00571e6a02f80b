/**
 * The flags `run` and `create` share and their translation into a create body, as the
 * docker CLI does it (cli/command/container/opts.go). Every bad value is a UsageError
 * raised before any API call, with docker's message.
 */
import type { Command } from 'commander';
import type { ContainerCreateRequest, HostConfig, Mount, PortBinding } from '../api/wire/index.js';
import { UsageError } from './exit.js';
import { parseBpsDevice, parseIopsDevice, parseWeightDevice } from './opts/blkio.js';
import { checkDeviceCgroupRule, parseDevice } from './opts/device.js';
import { endpointsConfigOf, type EndpointFlags } from './opts/endpoint.js';
import { readEnvFile, readLabelFile, resolveEnv } from './opts/env.js';
import { bytesFlag, flagError, intFlag, KERNEL_MEMORY_NOT_SENT, keyValues, parseCpus } from './opts/flag-values.js';
import { parseGpus } from './opts/gpus.js';
import { healthcheckOf, type HealthFlags } from './opts/healthcheck.js';
import { parseMount } from './opts/mount.js';
import { parsePublish } from './opts/publish.js';
import { parseRestart } from './opts/restart.js';
import { resolveSecurityOpt } from './opts/security-opt.js';
import { hiddenNegation } from './go-flags.js';

export { readEnvFile, resolveEnv } from './opts/env.js';

/** The parsed flags of run/create (commander's camelCase keys). */
export interface CreateFlags extends HealthFlags, EndpointFlags {
  detach?: boolean;
  rm?: boolean;
  name?: string;
  env: string[];
  envFile: string[];
  workdir?: string;
  user?: string;
  hostname?: string;
  domainname?: string;
  label: string[];
  labelFile: string[];
  annotation: string[];
  cidfile?: string;
  entrypoint?: string;
  interactive?: boolean;
  tty?: boolean;
  isolation?: string;
  runtime?: string;
  pull: string;
  restart?: string;
  memory?: string;
  memorySwap?: string;
  memoryReservation?: string;
  shmSize?: string;
  cpus?: string;
  cpuShares?: string;
  cpusetCpus?: string;
  cpusetMems?: string;
  cpuPeriod?: string;
  cpuQuota?: string;
  cpuCount?: string;
  cpuPercent?: string;
  ioMaxbandwidth?: string;
  ioMaxiops?: string;
  kernelMemory?: string;
  oomScoreAdj?: string;
  cgroupParent?: string;
  cgroupns?: string;
  userns?: string;
  groupAdd: string[];
  storageOpt: string[];
  gpus?: string;
  disableContentTrust?: boolean;
  useApiSocket?: boolean;
  pidsLimit?: string;
  oomKillDisable?: boolean;
  memorySwappiness?: string;
  pid?: string;
  ipc?: string;
  uts?: string;
  link: string[];
  cpuRtPeriod?: string;
  cpuRtRuntime?: string;
  blkioWeight?: string;
  blkioWeightDevice: string[];
  deviceReadBps: string[];
  deviceWriteBps: string[];
  deviceReadIops: string[];
  deviceWriteIops: string[];
  privileged?: boolean;
  capAdd: string[];
  capDrop: string[];
  securityOpt: string[];
  readOnly?: boolean;
  stopSignal?: string;
  stopTimeout?: string;
  attach: string[];
  init?: boolean;
  device: string[];
  deviceCgroupRule: string[];
  publish: string[];
  publishAll?: boolean;
  expose: string[];
  volume: string[];
  volumesFrom: string[];
  volumeDriver?: string;
  mount: string[];
  tmpfs: string[];
  dns: string[];
  dnsOption: string[];
  dnsSearch: string[];
  addHost: string[];
  sysctl: string[];
  ulimit: string[];
  logDriver?: string;
  logOpt: string[];
  platform?: string;
  quiet?: boolean;
}

/** What run/create need besides the body. */
export interface CreatePlan {
  body: ContainerCreateRequest;
  name?: string;
  platform?: string;
  /** Printed as docker's `WARNING:` lines before the container is created. */
  warnings: string[];
  /** `--cidfile`: where the new container's id is written. */
  cidfile?: string;
  pull: 'missing' | 'never' | 'always';
  /** Streams `run` attaches to (empty when detached). */
  attachStdin: boolean;
  attachStdout: boolean;
  attachStderr: boolean;
}

const collect = (value: string, previous: string[]): string[] => [...previous, value];

/** Declare the shared flags on `command` (docker's names, short forms and help). */
export function addCreateOptions(command: Command): Command {
  return command
    .option('-a, --attach <stream>', 'Attach to STDIN, STDOUT or STDERR', collect, [])
    .option('--add-host <host:ip>', 'Add a custom host-to-IP mapping (host:ip)', collect, [])
    .option('--annotation <key=value>', 'Add an annotation to the container (passed through to the OCI runtime)', collect, [])
    .option('--blkio-weight <uint16>', 'Block IO (relative weight), between 10 and 1000, or 0 to disable (default 0)')
    .option('--blkio-weight-device <list>', 'Block IO weight (relative device weight)', collect, [])
    .option('--cap-add <cap>', 'Add Linux capabilities', collect, [])
    .option('--cap-drop <cap>', 'Drop Linux capabilities', collect, [])
    .option('--cgroup-parent <string>', 'Optional parent cgroup for the container')
    .option('--cgroupns <string>', 'Cgroup namespace to use (host|private)')
    .option('--cidfile <string>', 'Write the container ID to the file')
    .option('--cpu-count <int>', 'CPU count (Windows only)')
    .option('--cpu-percent <int>', 'CPU percent (Windows only)')
    .option('--cpu-period <int>', 'Limit CPU CFS (Completely Fair Scheduler) period')
    .option('--cpu-quota <int>', 'Limit CPU CFS (Completely Fair Scheduler) quota')
    .option('--cpu-rt-period <int>', 'Limit CPU real-time period in microseconds')
    .option('--cpu-rt-runtime <int>', 'Limit CPU real-time runtime in microseconds')
    .option('--cpu-shares <int>', 'CPU shares (relative weight)')
    .option('--cpus <decimal>', 'Number of CPUs')
    .option('--cpuset-cpus <list>', 'CPUs in which to allow execution (0-3, 0,1)')
    .option('--cpuset-mems <list>', 'MEMs in which to allow execution (0-3, 0,1)')
    .option('--device <list>', 'Add a host device to the container', collect, [])
    .option('--device-cgroup-rule <rule>', 'Add a rule to the cgroup allowed devices list', collect, [])
    .option('--device-read-bps <list>', 'Limit read rate (bytes per second) from a device', collect, [])
    .option('--device-read-iops <list>', 'Limit read rate (IO per second) from a device', collect, [])
    .option('--device-write-bps <list>', 'Limit write rate (bytes per second) to a device', collect, [])
    .option('--device-write-iops <list>', 'Limit write rate (IO per second) to a device', collect, [])
    .option('--disable-content-trust', 'Skip image verification', true)
    .addOption(hiddenNegation('--disable-content-trust'))
    .option('--dns <ip>', 'Set custom DNS servers', collect, [])
    .option('--dns-option <list>', 'Set DNS options', collect, [])
    .option('--dns-search <list>', 'Set custom DNS search domains', collect, [])
    .option('--domainname <string>', 'Container NIS domain name')
    .option('--entrypoint <command>', 'Overwrite the default ENTRYPOINT of the image')
    .option('-e, --env <KEY=value>', 'Set environment variables', collect, [])
    .option('--env-file <file>', 'Read in a file of environment variables', collect, [])
    .option('--expose <port>', 'Expose a port or a range of ports', collect, [])
    .option('--health-cmd <string>', 'Command to run to check health')
    .option('--health-interval <duration>', 'Time between running the check (ms|s|m|h) (default 0s)')
    .option('--health-retries <int>', 'Consecutive failures needed to report unhealthy')
    .option('--health-start-interval <duration>', 'Time between running the check during the start period (ms|s|m|h) (default 0s)')
    .option('--health-start-period <duration>', 'Start period for the container to initialize before starting health-retries countdown (ms|s|m|h) (default 0s)')
    .option('--health-timeout <duration>', 'Maximum time to allow one check to run (ms|s|m|h) (default 0s)')
    .option('--gpus <gpu-request>', "GPU devices to add to the container ('all' to pass all GPUs)")
    .option('--group-add <list>', 'Add additional groups to join', collect, [])
    .option('-h, --hostname <name>', 'Container host name')
    .option('--init', 'Run an init inside the container that forwards signals and reaps processes')
    .option('-i, --interactive', 'Keep STDIN open even if not attached')
    .option('--io-maxbandwidth <bytes>', 'Maximum IO bandwidth limit for the system drive (Windows only)')
    .option('--io-maxiops <uint>', 'Maximum IOps limit for the system drive (Windows only)')
    .option('--ip <address>', 'IPv4 address (e.g., 172.30.100.104)')
    .option('--ip6 <address>', 'IPv6 address (e.g., 2001:db8::33)')
    .option('--ipc <mode>', 'IPC mode to use')
    .option('--isolation <level>', 'Container isolation technology (process, vm)')
    .option('--kernel-memory <bytes>', 'Kernel memory limit')
    .option('-l, --label <key=value>', 'Set meta data on a container', collect, [])
    .option('--label-file <list>', 'Read in a line delimited file of labels', collect, [])
    .option('--link <list>', 'Add link to another container', collect, [])
    .option('--link-local-ip <list>', 'Container IPv4/IPv6 link-local addresses', collect, [])
    .option('--log-driver <driver>', 'Logging driver for the container')
    .option('--log-opt <opt>', 'Log driver options', collect, [])
    .option('--mac-address <string>', 'Container MAC address (e.g., 92:d0:c6:0a:29:33)')
    .option('-m, --memory <bytes>', 'Memory limit')
    .option('--memory-reservation <bytes>', 'Memory soft limit')
    .option('--memory-swap <bytes>', "Swap limit equal to memory plus swap: '-1' to enable unlimited swap")
    .option('--memory-swappiness <int>', 'Tune container memory swappiness (0 to 100) (default -1)')
    .option('--mount <mount>', 'Attach a filesystem mount to the container', collect, [])
    .option('--name <string>', 'Assign a name to the container')
    .option('--network <network>', 'Connect a container to a network')
    .option('--network-alias <list>', 'Add network-scoped alias for the container', collect, [])
    .option('--no-healthcheck', 'Disable any container-specified HEALTHCHECK')
    .option('--oom-kill-disable', 'Disable OOM Killer')
    .option('--oom-score-adj <int>', "Tune host's OOM preferences (-1000 to 1000)")
    .option('--pid <string>', 'PID namespace to use')
    .option('--pids-limit <int>', 'Tune container pids limit (set -1 for unlimited)')
    .option('--platform <string>', 'Set platform if server is multi-platform capable')
    .option('--privileged', 'Give extended privileges to this container')
    .option('-p, --publish <ports>', "Publish a container's port(s) to the host", collect, [])
    .option('-P, --publish-all', 'Publish all exposed ports to random ports')
    .option('--pull <policy>', 'Pull image before running ("always", "missing", "never")', 'missing')
    .option('-q, --quiet', 'Suppress the pull output')
    .option('--read-only', "Mount the container's root filesystem as read only")
    .option('--restart <policy>', 'Restart policy to apply when a container exits', 'no')
    .option('--rm', 'Automatically remove the container and its associated anonymous volumes when it exits')
    .option('--runtime <runtime>', 'Runtime to use for this container')
    .option('--security-opt <opt>', 'Security Options', collect, [])
    .option('--shm-size <bytes>', 'Size of /dev/shm')
    .option('--stop-signal <signal>', 'Signal to stop the container')
    .option('--stop-timeout <int>', 'Timeout (in seconds) to stop a container')
    .option('--storage-opt <list>', 'Storage driver options for the container', collect, [])
    .option('--sysctl <key=value>', 'Sysctl options', collect, [])
    .option('--tmpfs <mount>', 'Mount a tmpfs directory', collect, [])
    .option('-t, --tty', 'Allocate a pseudo-TTY')
    .option('--ulimit <ulimit>', 'Ulimit options', collect, [])
    .option('--uts <string>', 'UTS namespace to use')
    .option('--use-api-socket', 'Bind mount Docker API socket and required auth')
    .option('-u, --user <name|uid[:gid]>', 'Username or UID (format: <name|uid>[:<group|gid>])')
    .option('--userns <string>', 'User namespace to use')
    .option('-v, --volume <list>', 'Bind mount a volume', collect, [])
    .option('--volume-driver <string>', 'Optional volume driver for the container')
    .option('--volumes-from <list>', 'Mount volumes from the specified container(s)', collect, [])
    .option('-w, --workdir <dir>', 'Working directory inside the container');
}

/**
 * Build the create body from the flags, the image and the command after it. `isRun` adds
 * run's attach defaults. Throws UsageError with docker's wording for any bad value.
 */
export function toCreatePlan(flags: CreateFlags, image: string, args: string[], options: { isRun: boolean; env?: NodeJS.ProcessEnv }): CreatePlan {
  const env = options.env ?? process.env;
  if (!['missing', 'never', 'always'].includes(flags.pull)) {
    throw new UsageError(`invalid pull option: '${flags.pull}': must be one of "always", "missing" or "never"`);
  }
  const restart = parseRestart(flags.restart ?? 'no');
  if (flags.rm && restart?.Name && restart.Name !== 'no') throw new UsageError('Conflicting options: cannot specify both --restart and --rm');

  const attach = flags.attach.map((s) => s.toLowerCase());
  for (const stream of attach) {
    if (!['stdin', 'stdout', 'stderr'].includes(stream)) throw flagError(stream, '-a, --attach', 'valid streams are STDIN, STDOUT and STDERR');
  }
  if (flags.detach && attach.length > 0) throw new UsageError('Conflicting options: -a and -d');
  let attachStdin = false;
  let attachStdout = false;
  let attachStderr = false;
  if (options.isRun && !flags.detach) {
    if (attach.length > 0) {
      attachStdin = attach.includes('stdin');
      attachStdout = attach.includes('stdout');
      attachStderr = attach.includes('stderr');
    } else {
      attachStdout = true;
      attachStderr = true;
      attachStdin = Boolean(flags.interactive);
    }
  } else if (!options.isRun) {
    attachStdin = attach.includes('stdin') || Boolean(flags.interactive && attach.length === 0);
    attachStdout = attach.length === 0 || attach.includes('stdout');
    attachStderr = attach.length === 0 || attach.includes('stderr');
  }

  const memory = bytesFlag(flags.memory, '-m, --memory');
  const memorySwap = flags.memorySwap === '-1' ? -1 : bytesFlag(flags.memorySwap, '--memory-swap');
  const memoryReservation = bytesFlag(flags.memoryReservation, '--memory-reservation');
  const shmSize = bytesFlag(flags.shmSize, '--shm-size');
  const nanoCpus = flags.cpus === undefined ? undefined : parseCpus(flags.cpus);
  const cpuShares = intFlag(flags.cpuShares, '-c, --cpu-shares');
  const pidsLimit = intFlag(flags.pidsLimit, '--pids-limit');
  const stopTimeout = intFlag(flags.stopTimeout, '--stop-timeout');
  const memorySwappiness = intFlag(flags.memorySwappiness, '--memory-swappiness');
  const cpuRtPeriod = intFlag(flags.cpuRtPeriod, '--cpu-rt-period');
  const cpuRtRuntime = intFlag(flags.cpuRtRuntime, '--cpu-rt-runtime');
  const blkioWeight = intFlag(flags.blkioWeight, '--blkio-weight');
  const cpuPeriod = intFlag(flags.cpuPeriod, '--cpu-period');
  const cpuQuota = intFlag(flags.cpuQuota, '--cpu-quota');
  const cpuCount = intFlag(flags.cpuCount, '--cpu-count');
  const cpuPercent = intFlag(flags.cpuPercent, '--cpu-percent');
  const ioMaxBandwidth = bytesFlag(flags.ioMaxbandwidth, '--io-maxbandwidth');
  const ioMaxIops = intFlag(flags.ioMaxiops, '--io-maxiops');
  const kernelMemory = bytesFlag(flags.kernelMemory, '--kernel-memory');
  const oomScoreAdj = intFlag(flags.oomScoreAdj, '--oom-score-adj');
  // What berth cannot do on the client's side, refused by name before anything is asked of the daemon.
  if (flags.disableContentTrust === false) throw new UsageError('--disable-content-trust=false: berth has no content trust (image signing); images are used as they are');
  if (flags.useApiSocket) throw new UsageError('--use-api-socket is not supported by berth');
  if (flags.cgroupns !== undefined && !['', 'host', 'private'].includes(flags.cgroupns)) throw new UsageError('--cgroupns: invalid CGROUP mode');
  if (flags.userns !== undefined && !['', 'host'].includes(flags.userns)) throw new UsageError('--userns: invalid USER mode');
  for (const option of flags.storageOpt) {
    if (!option.includes('=')) throw new UsageError('invalid storage option');
  }
  // The docker CLI's own checks of the namespace modes (its container.PidMode/IpcMode/UTSMode Valid()).
  const isContainerMode = (mode: string): boolean => /^container:.+/.test(mode);
  if (flags.pid !== undefined && !['', 'host'].includes(flags.pid) && !isContainerMode(flags.pid)) throw new UsageError('--pid: invalid PID mode');
  if (flags.ipc !== undefined && !['', 'none', 'private', 'shareable', 'host'].includes(flags.ipc) && !isContainerMode(flags.ipc)) throw new UsageError('--ipc: invalid IPC mode');
  if (flags.uts !== undefined && !['', 'host'].includes(flags.uts)) throw new UsageError('--uts: invalid UTS mode');
  for (const link of flags.link ?? []) {
    if (!/^[^:]+(:[^:]+)?$/.test(link)) throw flagError(link, '--link', `bad format for links: ${link}`);
  }

  const labels: Record<string, string> = {};
  for (const file of flags.labelFile) Object.assign(labels, keyValues(readLabelFile(file), '--label-file'));
  Object.assign(labels, keyValues(flags.label, '-l, --label'));

  const envList: string[] = [];
  for (const file of flags.envFile) envList.push(...readEnvFile(file, env));
  for (const entry of flags.env) {
    const resolved = resolveEnv(entry, env);
    if (resolved !== undefined) envList.push(resolved);
  }

  const exposed: Record<string, Record<string, never>> = {};
  const bindings: Record<string, PortBinding[]> = {};
  for (const spec of flags.publish) parsePublish(spec, exposed, bindings);
  for (const spec of flags.expose) {
    const [port, proto = 'tcp'] = spec.split('/');
    if (!/^\d+$/.test(port ?? '')) throw flagError(spec, '--expose', `invalid range format for --expose: ${spec}`);
    exposed[`${port}/${proto}`] = {};
  }

  const binds: string[] = [];
  const volumes: Record<string, Record<string, never>> = {};
  for (const spec of flags.volume) {
    if (spec.includes(':')) binds.push(spec);
    else if (spec.startsWith('/')) volumes[spec] = {};
    else throw flagError(spec, '-v, --volume', `invalid spec: ${spec}: invalid volume specification`);
  }
  const tmpfs: Record<string, string> = {};
  for (const spec of flags.tmpfs) {
    const colon = spec.indexOf(':');
    tmpfs[colon < 0 ? spec : spec.slice(0, colon)] = colon < 0 ? '' : spec.slice(colon + 1);
  }
  const ulimits = flags.ulimit.map((spec) => {
    const match = /^([a-z]+)=(-?\d+)(?::(-?\d+))?$/.exec(spec);
    if (!match) throw flagError(spec, '--ulimit', `invalid ulimit argument: ${spec}`);
    return { Name: match[1]!, Soft: Number(match[2]), Hard: Number(match[3] ?? match[2]) };
  });
  for (const host of flags.addHost) {
    if (!/^[^:]+:.+$/.test(host)) throw flagError(host, '--add-host', `bad format for add-host: "${host}"`);
  }

  let entrypoint: string[] | undefined;
  if (flags.entrypoint !== undefined) entrypoint = flags.entrypoint === '' ? [] : [flags.entrypoint];

  const hostConfig: HostConfig = {
    Binds: binds.length > 0 ? binds : null,
    NetworkMode: flags.network ?? 'default',
    PortBindings: bindings,
    RestartPolicy: restart ?? null,
    AutoRemove: Boolean(flags.rm),
    Mounts: flags.mount.length > 0 ? flags.mount.map(parseMount) : null,
    VolumesFrom: flags.volumesFrom.length > 0 ? flags.volumesFrom : null,
    VolumeDriver: flags.volumeDriver ?? '',
    CapAdd: flags.capAdd.length > 0 ? flags.capAdd : null,
    CapDrop: flags.capDrop.length > 0 ? flags.capDrop : null,
    Dns: flags.dns,
    DnsOptions: flags.dnsOption,
    DnsSearch: flags.dnsSearch,
    ExtraHosts: flags.addHost.length > 0 ? flags.addHost : null,
    Privileged: Boolean(flags.privileged),
    PublishAllPorts: Boolean(flags.publishAll),
    ReadonlyRootfs: Boolean(flags.readOnly),
    SecurityOpt: flags.securityOpt.length > 0 ? flags.securityOpt.map(resolveSecurityOpt) : null,
    Tmpfs: Object.keys(tmpfs).length > 0 ? tmpfs : null,
    Sysctls: flags.sysctl.length > 0 ? keyValues(flags.sysctl, '--sysctl') : null,
    LogConfig: { Type: flags.logDriver ?? '', Config: flags.logOpt.length > 0 ? keyValues(flags.logOpt, '--log-opt') : {} },
    Isolation: flags.isolation ?? '',
    Init: flags.init ? true : null,
    Devices: flags.device.length > 0 ? flags.device.map(parseDevice) : null,
    DeviceCgroupRules: flags.deviceCgroupRule.length > 0 ? flags.deviceCgroupRule.map(checkDeviceCgroupRule) : null,
    Memory: memory ?? 0,
    MemorySwap: memorySwap ?? 0,
    MemoryReservation: memoryReservation ?? 0,
    NanoCpus: nanoCpus ?? 0,
    CpuShares: cpuShares ?? 0,
    CpusetCpus: flags.cpusetCpus ?? '',
    PidsLimit: pidsLimit ?? null,
    Ulimits: ulimits.length > 0 ? ulimits : null,
    OomKillDisable: Boolean(flags.oomKillDisable),
    MemorySwappiness: memorySwappiness ?? -1,
    PidMode: flags.pid ?? '',
    IpcMode: flags.ipc ?? '',
    UTSMode: flags.uts ?? '',
    Links: flags.link?.length ? flags.link : null,
    CpuRealtimePeriod: cpuRtPeriod ?? 0,
    CpuRealtimeRuntime: cpuRtRuntime ?? 0,
    BlkioWeight: blkioWeight ?? 0,
    BlkioWeightDevice: (flags.blkioWeightDevice ?? []).map((v) => parseWeightDevice(v, '--blkio-weight-device')),
    BlkioDeviceReadBps: (flags.deviceReadBps ?? []).map((v) => parseBpsDevice(v, '--device-read-bps')),
    BlkioDeviceWriteBps: (flags.deviceWriteBps ?? []).map((v) => parseBpsDevice(v, '--device-write-bps')),
    BlkioDeviceReadIOps: (flags.deviceReadIops ?? []).map((v) => parseIopsDevice(v, '--device-read-iops')),
    BlkioDeviceWriteIOps: (flags.deviceWriteIops ?? []).map((v) => parseIopsDevice(v, '--device-write-iops')),
    CpuPeriod: cpuPeriod ?? 0,
    CpuQuota: cpuQuota ?? 0,
    CpusetMems: flags.cpusetMems ?? '',
    CpuCount: cpuCount ?? 0,
    CpuPercent: cpuPercent ?? 0,
    IOMaximumBandwidth: ioMaxBandwidth ?? 0,
    IOMaximumIOps: ioMaxIops ?? 0,
    OomScoreAdj: oomScoreAdj ?? 0,
    CgroupParent: flags.cgroupParent ?? '',
    CgroupnsMode: (flags.cgroupns ?? '') as HostConfig['CgroupnsMode'],
    UsernsMode: flags.userns ?? '',
    GroupAdd: flags.groupAdd.length > 0 ? flags.groupAdd : null,
    StorageOpt: flags.storageOpt.length > 0 ? keyValues(flags.storageOpt, '--storage-opt') : null,
    Annotations: flags.annotation.length > 0 ? keyValues(flags.annotation, '--annotation') : null,
    DeviceRequests: flags.gpus !== undefined ? [parseGpus(flags.gpus)] : null,
  };
  if (shmSize !== undefined) hostConfig.ShmSize = shmSize;
  if (flags.runtime !== undefined) hostConfig.Runtime = flags.runtime;

  const body: ContainerCreateRequest = {
    Hostname: flags.hostname ?? '',
    Domainname: flags.domainname ?? '',
    User: flags.user ?? '',
    AttachStdin: attachStdin,
    AttachStdout: attachStdout,
    AttachStderr: attachStderr,
    ExposedPorts: Object.keys(exposed).length > 0 ? exposed : null,
    Tty: Boolean(flags.tty),
    OpenStdin: Boolean(flags.interactive),
    // docker closes stdin when the attached client detaches, only when it attached it.
    StdinOnce: Boolean(flags.interactive) && attachStdin,
    Env: envList,
    Cmd: args.length > 0 ? args : null,
    Image: image,
    Volumes: Object.keys(volumes).length > 0 ? volumes : null,
    WorkingDir: flags.workdir ?? '',
    Entrypoint: entrypoint ?? null,
    Labels: labels,
    HostConfig: hostConfig,
    NetworkingConfig: { EndpointsConfig: endpointsConfigOf(flags) },
  };
  if (flags.stopSignal !== undefined) body.StopSignal = flags.stopSignal;
  if (stopTimeout !== undefined) body.StopTimeout = stopTimeout;
  const healthcheck = healthcheckOf(flags);
  if (healthcheck) body.Healthcheck = healthcheck;

  // As the docker CLI on API 1.42+, no kernel memory limit is sent; unlike it, the user is told.
  const warnings = kernelMemory ? [`${KERNEL_MEMORY_NOT_SENT}; the limit was discarded`] : [];
  const plan: CreatePlan = { body, pull: flags.pull as CreatePlan['pull'], attachStdin, attachStdout, attachStderr, warnings };
  if (flags.name !== undefined) plan.name = flags.name;
  if (flags.platform !== undefined) plan.platform = flags.platform;
  if (flags.cidfile !== undefined) plan.cidfile = flags.cidfile;
  return plan;
}

/** Split `name[:tag][@digest]` as docker's pull does: tag defaults to latest. */
export function splitImageRef(ref: string): { name: string; tag: string; display: string } {
  const at = ref.indexOf('@');
  if (at >= 0) return { name: ref.slice(0, at), tag: ref.slice(at + 1), display: ref };
  const lastSlash = ref.lastIndexOf('/');
  const colon = ref.lastIndexOf(':');
  if (colon > lastSlash) return { name: ref.slice(0, colon), tag: ref.slice(colon + 1), display: ref };
  return { name: ref, tag: 'latest', display: `${ref}:latest` };
}
