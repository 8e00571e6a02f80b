/**
 * berthd's command line: where state lives, where the API listens, which runtime runs
 * containers by default.
 */
import { Command, InvalidArgumentError as CommanderInvalidArgument } from 'commander';
import { join } from 'node:path';
import { isLogLevel, type LogLevel } from '../common/index.js';
import { berthHome } from './version.js';

export interface DaemonConfig {
  root: string;
  execRoot: string;
  /** Path of the first unix socket the API listens on (the pid file's neighbour, what logs name). */
  socketPath: string;
  /** Every unix socket the API listens on (`-H unix://...`, repeatable); socketPath is the first. */
  unixSockets: string[];
  /** TCP addresses the API listens on (`-H tcp://host:port`), only ever with mutual TLS. */
  tcpAddresses: TcpAddress[];
  /** The group the unix sockets belong to (`-G`); root's when absent. */
  socketGroup?: string;
  /** Mutual TLS for the TCP listeners (`--tlsverify --tlscacert --tlscert --tlskey`). */
  tls?: TlsFiles;
  defaultRuntime: string;
  /** Where the CNI plugins are (`--cni-plugin-dir`, as podman's cni_plugin_dirs). */
  cniPluginDir: string;
  /** Every OCI runtime by name: the built-in ones and those of `--add-runtime name=path`. */
  runtimes: Record<string, string>;
  logLevel: LogLevel;
  pidFile: string;
  /** Registries spoken to over plain HTTP besides localhost and 127.0.0.0/8 (`--insecure-registry`). */
  insecureRegistries: string[];
  /** Refuse docker.io at once (`--no-default-registry`): tests and air-gapped hosts. */
  isDefaultRegistryDisabled: boolean;
  /** What `--isolation=default` means (`--default-isolation process|vm|hyperv`). */
  defaultIsolation: 'process' | 'vm';
  /** The accelerator of VM containers (`--vm-accel kvm|tcg`); undefined: berth-vm probes. */
  vmAccel?: 'kvm' | 'tcg';
  /** Where the Kubernetes CRI (gRPC) listens (`--cri-socket`; default <exec-root>/cri.sock). */
  criSocket: string;
  /** dockerd's `--init`: process containers that do not say get an init as PID 1. */
  isInitDefault: boolean;
  /** dockerd's `--init-path`: the static init bound into containers as /sbin/docker-init (Debian's tini-static). */
  initPath: string;
  /** dockerd's `--cpu-rt-period`/`--cpu-rt-runtime`: the real-time budget (microseconds) of the containers' parent cgroup (cgroup v1). */
  cpuRealtimePeriodUs: number;
  cpuRealtimeRuntimeUs: number;
}

/** A non-negative integer flag value, or commander's usage error naming the flag. */
function microseconds(value: string, flag: string): number {
  if (!/^\d+$/.test(value)) throw new CommanderInvalidArgument(`invalid ${flag} ${value}: give microseconds as a whole number`);
  return Number(value);
}

/** A `-H tcp://host:port` listener. */
export interface TcpAddress {
  host: string;
  port: number;
}

/** PEM files for a TLS listener that verifies its clients, as dockerd's flags name them. */
export interface TlsFiles {
  caPath: string;
  certPath: string;
  keyPath: string;
}

/** A berthd flag combination that would serve the API unsafely or not at all. */
class DaemonUsageError extends Error {}

/** The name of the runtime that gives VM isolation (Berth's own OCI runtime, berth-vm). */
export const VM_RUNTIME = 'berth-vm';

/** OCI runtimes by name. berth-vm (VM isolation) is chosen by isolation, never as the default runtime. */
export const KNOWN_RUNTIMES: Record<string, string> = { crun: '/usr/bin/crun', runc: '/usr/sbin/runc', [VM_RUNTIME]: join(berthHome(), 'build', 'berth-vm') };

type Listener = { unix: string } | { tcp: TcpAddress };

/** One `-H` value: `unix:///path` (or a bare path) or `tcp://host:port`, as dockerd takes them. */
export function parseHost(value: string): Listener {
  if (value.startsWith('unix://')) {
    const path = value.slice('unix://'.length);
    if (path === '') throw new CommanderInvalidArgument(`invalid host: ${value}`);
    return { unix: path };
  }
  if (value.startsWith('/')) return { unix: value };
  if (value.startsWith('tcp://')) {
    const match = /^tcp:\/\/(\[[0-9a-fA-F:.]+\]|[^:/[\]]+):(\d{1,5})\/?$/.exec(value);
    const port = Number(match?.[2]);
    if (!match || port < 1 || port > 65535) throw new CommanderInvalidArgument(`invalid host: ${value}: tcp:// needs a host and a port (tcp://127.0.0.1:2376)`);
    return { tcp: { host: match[1]!.replace(/^\[|\]$/g, ''), port } };
  }
  throw new CommanderInvalidArgument(`invalid host: ${value}: only unix:// and tcp:// hosts are supported`);
}

/** Parse berthd's arguments; exits with a usage error on bad input. */
export function parseDaemonConfig(argv: readonly string[], version: string): DaemonConfig {
  const program = new Command('berthd')
    .description('Berth daemon: serves the Docker Engine API')
    .version(version, '-v, --version')
    .option('--root <dir>', 'root of persistent state', '/var/lib/berth')
    .option('--exec-root <dir>', 'root of run-time state (sockets, exit files)', '/run/berth')
    .option('-H, --host <unix://path|tcp://host:port>', 'where to listen (repeatable; default unix://<exec-root>/berth.sock; tcp:// only with --tlsverify)', (value: string, previous: Listener[]) => [...previous, parseHost(value)], [] as Listener[])
    .option('-G, --group <name>', 'group that may use the unix sockets (default: root only)')
    .option('--tlsverify', 'serve tcp:// listeners with TLS and require client certificates signed by --tlscacert')
    .option('--tlscacert <path>', 'CA that client certificates must be signed by')
    .option('--tlscert <path>', "the daemon's TLS certificate")
    .option('--tlskey <path>', "the daemon's TLS key")
    .option('--runtime <name>', `default OCI runtime (${Object.keys(KNOWN_RUNTIMES).filter((r) => r !== VM_RUNTIME).join(', ')}, or one of --add-runtime)`, 'crun')
    .option('--add-runtime <name=path>', 'another OCI runtime containers may name with --runtime (repeatable), as dockerd --add-runtime', (value: string, previous: Record<string, string> | undefined) => {
      const eq = value.indexOf('=');
      const name = eq < 0 ? '' : value.slice(0, eq);
      const path = eq < 0 ? '' : value.slice(eq + 1);
      if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(name) || !path.startsWith('/')) throw new CommanderInvalidArgument(`invalid runtime ${value}: give name=/absolute/path`);
      if (name in KNOWN_RUNTIMES) throw new CommanderInvalidArgument(`runtime name '${name}' is reserved`);
      return { ...previous, [name]: path };
    })
    .option('--cni-plugin-dir <dir>', 'where the CNI plugins (bridge, host-local, portmap, loopback) are', (value: string) => {
      if (!value.startsWith('/')) throw new CommanderInvalidArgument(`invalid CNI plugin directory ${value}: give an absolute path`);
      return value;
    }, '/usr/lib/cni')
    .option('--log-level <level>', 'debug, info, warn or error', (value: string) => {
      if (!isLogLevel(value)) throw new CommanderInvalidArgument(`unknown log level ${value}`);
      return value;
    }, 'info')
    .option('-p, --pidfile <path>', 'pid file (default <exec-root>/berthd.pid)')
    .option('--insecure-registry <host[:port]|cidr>', 'registry to reach over plain HTTP (repeatable)', (value: string, previous: string[]) => [...previous, value], [] as string[])
    .option('--default-isolation <mode>', 'what --isolation=default means: process or vm (alias hyperv)', (value: string) => {
      const mode = value.toLowerCase();
      if (mode === 'process') return 'process';
      if (mode === 'vm' || mode === 'hyperv') return 'vm';
      throw new CommanderInvalidArgument(`invalid isolation '${value}': use process, vm or hyperv`);
    }, 'process')
    .option('--vm-accel <accel>', 'accelerator of VM containers: kvm or tcg (default: kvm where a probe boot works, else tcg)', (value: string) => {
      if (value === 'kvm' || value === 'tcg') return value;
      throw new CommanderInvalidArgument(`invalid accelerator '${value}': use kvm or tcg`);
    })
    .option('--cri-socket <path>', 'unix socket of the Kubernetes CRI (gRPC RuntimeService and ImageService), root only (default <exec-root>/cri.sock)', (value: string) => {
      const path = value.startsWith('unix://') ? value.slice('unix://'.length) : value;
      if (!path.startsWith('/')) throw new CommanderInvalidArgument(`invalid CRI socket ${value}: give an absolute path or unix:///path`);
      return path;
    })
    .option('--init', 'run an init in every process container that does not ask otherwise (as dockerd --init)')
    .option('--init-path <path>', 'the static init bound into containers for --init', '/usr/bin/tini-static')
    .option('--cpu-rt-period <int>', "real-time period (microseconds) of the containers' parent cgroup, cgroup v1 only", (value: string) => microseconds(value, '--cpu-rt-period'), 1_000_000)
    .option('--cpu-rt-runtime <int>', "real-time runtime (microseconds) of the containers' parent cgroup, which containers' --cpu-rt-runtime share; cgroup v1 only", (value: string) => microseconds(value, '--cpu-rt-runtime'), 0)
    .option('--no-default-registry', 'never contact docker.io: short names and docker.io references fail at once')
    .allowExcessArguments(false);
  program.parse(argv as string[], { from: 'user' });
  const options = program.opts<{ root: string; execRoot: string; host: Listener[]; group?: string; tlsverify?: boolean; tlscacert?: string; tlscert?: string; tlskey?: string; runtime: string; addRuntime?: Record<string, string>; cniPluginDir: string; logLevel: LogLevel; pidfile?: string; insecureRegistry: string[]; defaultRegistry: boolean; defaultIsolation: 'process' | 'vm'; vmAccel?: 'kvm' | 'tcg'; criSocket?: string; init?: boolean; initPath: string; cpuRtPeriod: number; cpuRtRuntime: number }>();
  const unixSockets = options.host.flatMap((listener) => ('unix' in listener ? [listener.unix] : []));
  const tcpAddresses = options.host.flatMap((listener) => ('tcp' in listener ? [listener.tcp] : []));
  if (options.host.length === 0) unixSockets.push(`${options.execRoot}/berth.sock`);
  const runtimes = { ...KNOWN_RUNTIMES, ...options.addRuntime };
  if (!(options.runtime in runtimes) || options.runtime === VM_RUNTIME) program.error(`error: option '--runtime <name>' argument '${options.runtime}' is invalid. unknown runtime ${options.runtime}`);
  let tls: TlsFiles | undefined;
  try {
    tls = tlsFilesOf(options, tcpAddresses.length > 0);
  } catch (err) {
    if (err instanceof DaemonUsageError) program.error(`error: ${err.message}`);
    throw err;
  }
  return {
    root: options.root,
    execRoot: options.execRoot,
    socketPath: unixSockets[0]!,
    unixSockets,
    tcpAddresses,
    ...(options.group !== undefined ? { socketGroup: options.group } : {}),
    ...(tls !== undefined ? { tls } : {}),
    defaultRuntime: options.runtime,
    runtimes,
    cniPluginDir: options.cniPluginDir,
    logLevel: options.logLevel,
    pidFile: options.pidfile ?? `${options.execRoot}/berthd.pid`,
    insecureRegistries: options.insecureRegistry,
    isDefaultRegistryDisabled: !options.defaultRegistry,
    defaultIsolation: options.defaultIsolation,
    ...(options.vmAccel ? { vmAccel: options.vmAccel } : {}),
    criSocket: options.criSocket ?? `${options.execRoot}/cri.sock`,
    isInitDefault: options.init === true,
    initPath: options.initPath,
    cpuRealtimePeriodUs: options.cpuRtPeriod,
    cpuRealtimeRuntimeUs: options.cpuRtRuntime,
  };
}

/**
 * The TLS files for tcp:// listeners. berthd serves TCP only with mutual TLS: anyone who reaches
 * the API owns the host, so a listener without client verification is refused, not warned about.
 */
function tlsFilesOf(options: { tlsverify?: boolean; tlscacert?: string; tlscert?: string; tlskey?: string }, hasTcp: boolean): TlsFiles | undefined {
  const given = options.tlsverify === true || options.tlscacert !== undefined || options.tlscert !== undefined || options.tlskey !== undefined;
  if (!hasTcp) {
    if (given) throw new DaemonUsageError('--tlsverify, --tlscacert, --tlscert and --tlskey apply to tcp:// listeners, and no -H tcp:// was given');
    return undefined;
  }
  if (options.tlsverify !== true || options.tlscacert === undefined || options.tlscert === undefined || options.tlskey === undefined) {
    throw new DaemonUsageError('a tcp:// listener needs --tlsverify with --tlscacert, --tlscert and --tlskey: berthd never serves the API over TCP without verifying its clients');
  }
  return { caPath: options.tlscacert, certPath: options.tlscert, keyPath: options.tlskey };
}
