/**
 * The flags `run` and `create` share and their translation into a create body, as the
 * docker CLI does it (cli/command/container/opts.go). Every bad value is a UsageError
 * raised before any API call, with docker's message.
 */
import { readFileSync } from 'node:fs';
import { resolve as resolvePath } from 'node:path';
import type { Command } from 'commander';
import type { ContainerCreateRequest, HostConfig, Mount, PortBinding } from '../api/wire/index.js';
import { parseBytes } from '../common/index.js';
import { UsageError } from './exit.js';

/** The parsed flags of run/create (commander's camelCase keys). */
export interface CreateFlags {
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
  entrypoint?: string;
  interactive?: boolean;
  tty?: boolean;
  isolation?: string;
  runtime?: string;
  network?: string;
  pull: string;
  restart?: string;
  memory?: string;
  memorySwap?: string;
  memoryReservation?: string;
  shmSize?: string;
  cpus?: string;
  cpuShares?: string;
  cpusetCpus?: string;
  pidsLimit?: string;
  oomKillDisable?: boolean;
  privileged?: boolean;
  capAdd: string[];
  capDrop: string[];
  securityOpt: string[];
  readOnly?: boolean;
  stopSignal?: string;
  stopTimeout?: string;
  attach: string[];
  init?: boolean;
  publish: string[];
  publishAll?: boolean;
  expose: string[];
  volume: string[];
  volumesFrom: string[];
  volumeDriver?: string;
  mount: string[];
  tmpfs: string[];
  dns: string[];
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
    .option('--cap-add <cap>', 'Add Linux capabilities', collect, [])
    .option('--cap-drop <cap>', 'Drop Linux capabilities', collect, [])
    .option('--cpu-shares <int>', 'CPU shares (relative weight)')
    .option('--cpus <decimal>', 'Number of CPUs')
    .option('--cpuset-cpus <list>', 'CPUs in which to allow execution (0-3, 0,1)')
    .option('--dns <ip>', 'Set custom DNS servers', collect, [])
    .option('--domainname <string>', 'Container NIS domain name')
    .option('--entrypoint <command>', 'Overwrite the default ENTRYPOINT of the image')
    .option('-e, --env <KEY=value>', 'Set environment variables', collect, [])
    .option('--env-file <file>', 'Read in a file of environment variables', collect, [])
    .option('--expose <port>', 'Expose a port or a range of ports', collect, [])
    .option('-h, --hostname <name>', 'Container host name')
    .option('--init', 'Run an init inside the container that forwards signals and reaps processes')
    .option('-i, --interactive', 'Keep STDIN open even if not attached')
    .option('--isolation <level>', 'Container isolation technology (process, vm)')
    .option('-l, --label <key=value>', 'Set meta data on a container', collect, [])
    .option('--log-driver <driver>', 'Logging driver for the container')
    .option('--log-opt <opt>', 'Log driver options', collect, [])
    .option('-m, --memory <bytes>', 'Memory limit')
    .option('--memory-reservation <bytes>', 'Memory soft limit')
    .option('--memory-swap <bytes>', "Swap limit equal to memory plus swap: '-1' to enable unlimited swap")
    .option('--mount <mount>', 'Attach a filesystem mount to the container', collect, [])
    .option('--name <string>', 'Assign a name to the container')
    .option('--network <network>', 'Connect a container to a network')
    .option('--oom-kill-disable', 'Disable OOM Killer')
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
    .option('--sysctl <key=value>', 'Sysctl options', collect, [])
    .option('--tmpfs <mount>', 'Mount a tmpfs directory', collect, [])
    .option('-t, --tty', 'Allocate a pseudo-TTY')
    .option('--ulimit <ulimit>', 'Ulimit options', collect, [])
    .option('-u, --user <name|uid[:gid]>', 'Username or UID (format: <name|uid>[:<group|gid>])')
    .option('-v, --volume <list>', 'Bind mount a volume', collect, [])
    .option('--volume-driver <string>', 'Optional volume driver for the container')
    .option('--volumes-from <list>', 'Mount volumes from the specified container(s)', collect, [])
    .option('-w, --workdir <dir>', 'Working directory inside the container');
}

function flagError(value: string, flag: string, reason: string): UsageError {
  return new UsageError(`invalid argument "${value}" for "${flag}" flag: ${reason}`);
}

function bytesFlag(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  try {
    return parseBytes(value);
  } catch {
    throw flagError(value, flag, `invalid size: '${value}'`);
  }
}

function intFlag(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  if (!/^[+-]?\d+$/.test(value.trim())) throw flagError(value, flag, `strconv.ParseInt: parsing "${value}": invalid syntax`);
  return Number(value);
}

/** `-e` semantics: `KEY=value` as is; a bare `KEY` takes the caller's value when set. */
export function resolveEnv(entry: string, env: NodeJS.ProcessEnv): string | undefined {
  if (entry.includes('=')) {
    if (entry.startsWith('=')) throw new UsageError(`invalid environment variable: ${entry}`);
    return entry;
  }
  const value = env[entry];
  return value === undefined ? entry : `${entry}=${value}`;
}

export function readEnvFile(path: string, env: NodeJS.ProcessEnv): string[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new UsageError(`open ${path}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or directory' : (err as Error).message}`);
  }
  const out: string[] = [];
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.replace(/^\s+/, '');
    if (line === '' || line.startsWith('#')) continue;
    const resolved = resolveEnv(line, env);
    if (resolved !== undefined) out.push(resolved);
  }
  return out;
}

function parseRestart(policy: string): HostConfig['RestartPolicy'] {
  const [name, count, ...extra] = policy.split(':');
  if (extra.length > 0) throw new UsageError(`invalid restart policy format: ${policy}`);
  if (name === '' || name === 'no') {
    if (count !== undefined) throw new UsageError(`invalid restart policy format: maximum retry count cannot be used with restart policy '${name || 'no'}'`);
    return { Name: 'no', MaximumRetryCount: 0 };
  }
  if (name !== 'always' && name !== 'unless-stopped' && name !== 'on-failure') {
    throw new UsageError(`invalid restart policy: unknown policy '${name}'; use one of 'no', 'always', 'on-failure', or 'unless-stopped'`);
  }
  let retries = 0;
  if (count !== undefined) {
    if (name !== 'on-failure') throw new UsageError(`invalid restart policy format: maximum retry count cannot be used with restart policy '${name}'`);
    if (!/^\d+$/.test(count)) throw new UsageError('invalid restart policy format: maximum retry count must be an integer');
    retries = Number(count);
  }
  return { Name: name, MaximumRetryCount: retries };
}

function parseCpus(value: string): number {
  if (!/^\d*\.?\d+$/.test(value.trim())) throw flagError(value, '--cpus', `failed to parse ${value} as a rational number`);
  const nano = Math.round(Number(value) * 1e9);
  return nano;
}

/** `-p [ip:][hostPort:]containerPort[/proto]`, single ports only. */
function parsePublish(spec: string, exposed: Record<string, Record<string, never>>, bindings: Record<string, PortBinding[]>): void {
  const [addr, proto = 'tcp'] = spec.split('/');
  if (!['tcp', 'udp', 'sctp'].includes(proto)) throw flagError(spec, '-p, --publish', `invalid proto: ${proto}`);
  const parts = addr!.startsWith('[') ? splitIpv6(addr!) : addr!.split(':');
  let hostIp = '';
  let hostPort = '';
  let containerPort: string;
  if (parts.length === 1) containerPort = parts[0]!;
  else if (parts.length === 2) [hostPort, containerPort] = parts as [string, string];
  else if (parts.length === 3) [hostIp, hostPort, containerPort] = parts as [string, string, string];
  else throw flagError(spec, '-p, --publish', `invalid port format: ${spec}`);
  const isPort = (p: string): boolean => /^\d+$/.test(p) && Number(p) >= 1 && Number(p) <= 65535;
  if (!isPort(containerPort)) throw flagError(spec, '-p, --publish', `invalid containerPort: ${containerPort}`);
  if (hostPort !== '' && !isPort(hostPort)) throw flagError(spec, '-p, --publish', `invalid hostPort: ${hostPort}`);
  const key = `${containerPort}/${proto}`;
  exposed[key] = {};
  (bindings[key] ??= []).push({ HostIp: hostIp.replace(/^\[|\]$/g, ''), HostPort: hostPort });
}

function splitIpv6(addr: string): string[] {
  const end = addr.indexOf(']');
  return [addr.slice(0, end + 1), ...addr.slice(end + 2).split(':')];
}

/** Split one `--mount` value into fields as docker does (a CSV record: `"a,b"` keeps its comma). */
function csvFields(spec: string): string[] {
  const fields: string[] = [];
  let current = '';
  let quoted = false;
  for (let i = 0; i < spec.length; i++) {
    const c = spec[i]!;
    if (quoted) {
      if (c === '"' && spec[i + 1] === '"') {
        current += '"';
        i++;
      } else if (c === '"') quoted = false;
      else current += c;
    } else if (c === '"' && current === '') quoted = true;
    else if (c === ',') {
      fields.push(current);
      current = '';
    } else current += c;
  }
  fields.push(current);
  return fields;
}

/** Go's strconv.ParseBool, for `--mount` values. */
function parseMountBool(key: string, value: string, spec: string): boolean {
  if (['1', 't', 'T', 'true', 'TRUE', 'True'].includes(value)) return true;
  if (['0', 'f', 'F', 'false', 'FALSE', 'False'].includes(value)) return false;
  throw flagError(spec, '--mount', `invalid value for ${key}: ${value}`);
}

/**
 * `--mount type=bind,source=/a,target=/b,readonly`, with docker's keys and messages (its CLI's
 * opts/mount.go): volume-driver, volume-opt and volume-label (repeatable `k=v`),
 * volume-subpath, volume-nocopy, bind-propagation, bind-create-mountpoint, bind-nonrecursive,
 * tmpfs-size, tmpfs-mode; options of another type than the mount's are refused.
 */
function parseMount(spec: string): Mount {
  const mount: Mount = { Type: 'volume' };
  const volumeOptions = (): NonNullable<Mount['VolumeOptions']> => {
    mount.VolumeOptions ??= { Labels: {} };
    mount.VolumeOptions.DriverConfig ??= {};
    return mount.VolumeOptions;
  };
  const bindOptions = (): NonNullable<Mount['BindOptions']> => (mount.BindOptions ??= {});
  const tmpfsOptions = (): NonNullable<Mount['TmpfsOptions']> => (mount.TmpfsOptions ??= {});
  const setOnMap = (target: Record<string, string>, value: string): void => {
    const eq = value.indexOf('=');
    const key = eq < 0 ? value : value.slice(0, eq);
    if (key !== '') target[key] = eq < 0 ? '' : value.slice(eq + 1);
  };
  for (const field of csvFields(spec)) {
    const eq = field.indexOf('=');
    if (eq < 0) {
      const key = field.trim().toLowerCase();
      if (key === 'readonly' || key === 'ro') mount.ReadOnly = true;
      else if (key === 'volume-nocopy') volumeOptions().NoCopy = true;
      else if (key === 'bind-nonrecursive') bindOptions().NonRecursive = true;
      else if (key === 'bind-create-mountpoint') bindOptions().CreateMountpoint = true;
      else throw flagError(spec, '--mount', `invalid field '${field}' must be a key=value pair`);
      continue;
    }
    const key = field.slice(0, eq).trim().toLowerCase();
    const value = field.slice(eq + 1);
    switch (key) {
      case 'type':
        if (!['bind', 'volume', 'tmpfs', 'image'].includes(value.toLowerCase())) throw flagError(spec, '--mount', `invalid mount type: ${value}`);
        mount.Type = value.toLowerCase() as Mount['Type'];
        break;
      case 'source': case 'src':
        mount.Source = value;
        if (value === '.' || value.startsWith('./')) mount.Source = resolvePath(value);
        break;
      case 'target': case 'destination': case 'dst':
        mount.Target = value;
        break;
      case 'readonly': case 'ro':
        mount.ReadOnly = parseMountBool(key, value, spec);
        break;
      case 'consistency':
        mount.Consistency = value.toLowerCase();
        break;
      case 'bind-propagation':
        bindOptions().Propagation = value.toLowerCase();
        break;
      case 'bind-nonrecursive':
        bindOptions().NonRecursive = parseMountBool(key, value, spec);
        break;
      case 'bind-create-mountpoint':
        bindOptions().CreateMountpoint = parseMountBool(key, value, spec);
        break;
      case 'volume-nocopy':
        volumeOptions().NoCopy = parseMountBool(key, value, spec);
        break;
      case 'volume-label':
        setOnMap((volumeOptions().Labels ??= {}), value);
        break;
      case 'volume-driver':
        volumeOptions().DriverConfig!.Name = value;
        break;
      case 'volume-opt':
        setOnMap((volumeOptions().DriverConfig!.Options ??= {}), value);
        break;
      case 'volume-subpath':
        volumeOptions().Subpath = value;
        break;
      case 'tmpfs-size':
        tmpfsOptions().SizeBytes = bytesFlag(value, '--mount') ?? 0;
        break;
      case 'tmpfs-mode': {
        if (!/^[0-7]+$/.test(value)) throw flagError(spec, '--mount', `invalid value for ${key}: ${value}`);
        tmpfsOptions().Mode = parseInt(value, 8);
        break;
      }
      default:
        throw flagError(spec, '--mount', `unexpected key '${key}' in '${field}'`);
    }
  }
  if (!mount.Target) throw flagError(spec, '--mount', 'target is required');
  if (mount.VolumeOptions && mount.Type !== 'volume') throw flagError(spec, '--mount', `cannot mix 'volume-*' options with mount type '${mount.Type}'`);
  if (mount.BindOptions && mount.Type !== 'bind') throw flagError(spec, '--mount', `cannot mix 'bind-*' options with mount type '${mount.Type}'`);
  if (mount.TmpfsOptions && mount.Type !== 'tmpfs') throw flagError(spec, '--mount', `cannot mix 'tmpfs-*' options with mount type '${mount.Type}'`);
  return mount;
}

/** `--security-opt seccomp=<file>`: docker sends the profile's content, not the path. */
function resolveSecurityOpt(opt: string): string {
  const eq = opt.indexOf('=');
  const key = eq < 0 ? opt : opt.slice(0, eq);
  const value = eq < 0 ? '' : opt.slice(eq + 1);
  if (key === 'seccomp' && value !== 'unconfined' && value !== 'builtin' && value !== '') {
    let content: string;
    try {
      content = readFileSync(value, 'utf8');
    } catch (err) {
      throw new UsageError(`opening seccomp profile (${value}) failed: ${(err as Error).message}`);
    }
    try {
      return `seccomp=${JSON.stringify(JSON.parse(content))}`;
    } catch {
      throw new UsageError(`compacting json for seccomp profile (${value}) failed: invalid JSON`);
    }
  }
  return opt;
}

function keyValues(entries: string[], flag: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const entry of entries) {
    const eq = entry.indexOf('=');
    if (eq === 0) throw flagError(entry, flag, 'invalid key');
    if (eq < 0) out[entry] = '';
    else out[entry.slice(0, eq)] = entry.slice(eq + 1);
  }
  return out;
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
    Memory: memory ?? 0,
    MemorySwap: memorySwap ?? 0,
    MemoryReservation: memoryReservation ?? 0,
    NanoCpus: nanoCpus ?? 0,
    CpuShares: cpuShares ?? 0,
    CpusetCpus: flags.cpusetCpus ?? '',
    PidsLimit: pidsLimit ?? null,
    Ulimits: ulimits.length > 0 ? ulimits : null,
    OomKillDisable: Boolean(flags.oomKillDisable),
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
    Labels: keyValues(flags.label, '-l, --label'),
    HostConfig: hostConfig,
    NetworkingConfig: { EndpointsConfig: {} },
  };
  if (flags.stopSignal !== undefined) body.StopSignal = flags.stopSignal;
  if (stopTimeout !== undefined) body.StopTimeout = stopTimeout;

  const plan: CreatePlan = { body, pull: flags.pull as CreatePlan['pull'], attachStdin, attachStdout, attachStderr };
  if (flags.name !== undefined) plan.name = flags.name;
  if (flags.platform !== undefined) plan.platform = flags.platform;
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
