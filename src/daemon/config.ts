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
  /** Path of the unix socket the API listens on. */
  socketPath: string;
  defaultRuntime: string;
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
}

/** OCI runtimes by name. berth-vm (VM isolation) is chosen by isolation, never as the default runtime. */
export const KNOWN_RUNTIMES: Record<string, string> = { crun: '/usr/bin/crun', runc: '/usr/sbin/runc', 'berth-vm': join(berthHome(), 'build', 'berth-vm') };
const VM_RUNTIME = 'berth-vm';

function parseHost(value: string): string {
  if (value.startsWith('unix://')) return value.slice('unix://'.length);
  if (value.startsWith('/')) return value;
  throw new CommanderInvalidArgument(`only unix:// hosts are supported: ${value}`);
}

/** Parse berthd's arguments; exits with a usage error on bad input. */
export function parseDaemonConfig(argv: readonly string[], version: string): DaemonConfig {
  const program = new Command('berthd')
    .description('Berth daemon: serves the Docker Engine API')
    .version(version, '-v, --version')
    .option('--root <dir>', 'root of persistent state', '/var/lib/berth')
    .option('--exec-root <dir>', 'root of run-time state (sockets, exit files)', '/run/berth')
    .option('-H, --host <unix://path>', 'socket to listen on (default <exec-root>/berth.sock)', parseHost)
    .option('--runtime <name>', `default OCI runtime (${Object.keys(KNOWN_RUNTIMES).filter((r) => r !== VM_RUNTIME).join(', ')})`, (value: string) => {
      if (!(value in KNOWN_RUNTIMES) || value === VM_RUNTIME) throw new CommanderInvalidArgument(`unknown runtime ${value}`);
      return value;
    }, 'crun')
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
    .option('--no-default-registry', 'never contact docker.io: short names and docker.io references fail at once')
    .allowExcessArguments(false);
  program.parse(argv as string[], { from: 'user' });
  const options = program.opts<{ root: string; execRoot: string; host?: string; runtime: string; logLevel: LogLevel; pidfile?: string; insecureRegistry: string[]; defaultRegistry: boolean; defaultIsolation: 'process' | 'vm'; vmAccel?: 'kvm' | 'tcg' }>();
  return {
    root: options.root,
    execRoot: options.execRoot,
    socketPath: options.host ?? `${options.execRoot}/berth.sock`,
    defaultRuntime: options.runtime,
    logLevel: options.logLevel,
    pidFile: options.pidfile ?? `${options.execRoot}/berthd.pid`,
    insecureRegistries: options.insecureRegistry,
    isDefaultRegistryDisabled: !options.defaultRegistry,
    defaultIsolation: options.defaultIsolation,
    ...(options.vmAccel ? { vmAccel: options.vmAccel } : {}),
  };
}
