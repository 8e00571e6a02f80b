/**
 * What the engine needs from the runtime below it: the runtime's interface and the requests it
 * takes. The daemon passes in the concrete implementations; the engine sees only these shapes, so
 * tests can hand it fakes and the VM runtime can slot in beside crun. The image, volume and
 * network ports have files of their own, re-exported here.
 */
import type { Stream } from 'node:stream';
import type { BlkioDeviceLimit, ContainerMount, RuntimeResources, RuntimeStats, RuntimeStatus } from '../runtime/index.js';
import type { LogPolicy } from './log-config.js';

export * from './image-port.js';
export * from './volume-port.js';
export * from './network-port.js';

/**
 * The runtime layer's own types, which the engine's requests use as they are (one type each, not
 * a copy): cgroup limits in Berth's units (a field left out is unset at create, or kept as it is
 * by `update`), a stats sample, a mount, the runtime's state.
 */
export type { BlkioDeviceLimit, ContainerMount, RuntimeResources, RuntimeStats, RuntimeStatus };

/** What the engine hands the runtime to create a container's process. */
export interface RuntimeCreateRequest {
  id: string;
  name: string;
  bundleDir: string;
  rootfsDir: string;
  logPath: string;
  args: string[];
  env: string[];
  cwd: string;
  user: string;
  hostname: string;
  tty: boolean;
  openStdin: boolean;
  /** docker's StdinOnce: the first attach's stdin EOF closes the container's stdin (else it stays open). */
  stdinOnce?: boolean;
  etcFiles: { hosts: string; hostname: string; resolvConf: string };
  privileged: boolean;
  capAdd: string[];
  capDrop: string[];
  securityOpt: string[];
  readonlyRootfs: boolean;
  shmSizeBytes: number;
  labels: Record<string, string>;
  /** Cgroup limits; only what is set is applied. */
  resources: RuntimeResources;
  oomKillDisable: boolean;
  /** `--ulimit`s; every other rlimit is inherited. */
  ulimits: Array<{ name: string; soft: number; hard: number }>;
  /** Binds, volumes (as binds of their data) and tmpfs mounts, parents before children. */
  mounts?: ContainerMount[];
  /** The network namespace: a new one (loopback only, the default), the host's, or a prepared handle. */
  networkNamespace?: 'new' | 'host' | { path: string };
  /** `Config.Domainname`. */
  domainname?: string;
  /** `--group-add` entries (names or ids, resolved in the container's /etc/group). */
  groupAdd?: string[];
  oomScoreAdj?: number;
  sysctls?: Record<string, string>;
  /** Namespaces shared with the host (`--pid host`, `--ipc host`, `--uts host`, `--cgroupns host`). */
  hostNamespaces?: Array<'pid' | 'ipc' | 'uts' | 'cgroup'>;
  /** `--device`: host device nodes to make in the container (a directory: every node below it). */
  devices?: Array<{ pathOnHost: string; pathInContainer: string; cgroupPermissions: string }>;
  /** `--device-cgroup-rule`s (`c 1:3 rwm`). */
  deviceCgroupRules?: string[];
  /** How the log is kept (from the container's log driver and options). */
  log?: LogPolicy;
  /** The cgroup the container's own cgroup goes below (a pod's); Berth's default when absent. */
  cgroupParent?: string;
  /** An IPC namespace to join (a handle on the host) instead of a new one. */
  ipcNamespacePath?: string;
  /** A PID namespace to join (`--pid container:<id>`: the donor's /proc link) instead of a new one. */
  pidNamespacePath?: string;
}

/** One record of a container's log. */
export interface LogEntry {
  stream: 'stdout' | 'stderr';
  /** RFC 3339 with nanoseconds, as conmon wrote it. */
  timestamp: string;
  data: Buffer;
}

export interface LogReadOptions {
  follow: boolean;
  tailLines: number | undefined;
  sinceNs: bigint | undefined;
  untilNs: bigint | undefined;
  stdout: boolean;
  stderr: boolean;
  signal: AbortSignal;
}

/** An attach session: the container's output (already framed as the caller asked) and its stdin. */
export interface AttachSession {
  output: NodeJS.ReadableStream;
  input: NodeJS.WritableStream | null;
  close(): void;
}

/** What the engine hands the runtime to run a process in a running container. */
export interface RuntimeExecRequest {
  execId: string;
  containerId: string;
  bundleDir: string;
  args: string[];
  env: string[];
  cwd: string;
  user: string;
  tty: boolean;
  stdin: boolean;
  privileged: boolean;
  consoleSize?: { height: number; width: number };
  /** The API client's connection, shared with the session (as for attach). */
  client?: Stream;
  /** The session reads stdin from `client` itself once `input` ends (see the engine's AttachRequest). */
  stdinFromClient?: boolean;
  /** The caller waits for it and needs nothing past its life (a healthcheck's probe): the runtime may run it without a monitor. */
  isForeground?: boolean;
}

/** A running exec: output framed as for attach, stdin when asked, and its exit. */
export interface RuntimeExecHandle {
  pid: number;
  output: NodeJS.ReadableStream;
  input: NodeJS.WritableStream | null;
  /** Settles with the exit status after the output is drained. */
  exited: Promise<number>;
  resize(height: number, width: number): Promise<void>;
  /** Stop relaying (detach); the process keeps running. */
  detach(): void;
  /** End the process now (SIGKILL; for a VM, its host-side helper, whose end ends the guest's process). */
  kill(): void;
  /** Remove the session's files, after exit. */
  cleanup(): Promise<void>;
}

/**
 * What a runtime's isolation lets the engine do, declared for each runtime by
 * daemon/builtins.ts. The engine asks these traits; it never names an isolation level or a runtime.
 */
export interface RuntimeTraits {
  /** The isolation level (`--isolation`) its containers get: a create asking for a level runs on a runtime that declares it. */
  isolation: 'process' | 'vm';
  /**
   * Its containers run on the host's kernel, so settings made there apply to them: host
   * namespaces, sysctls, devices, cgroup tuning beyond memory and CPUs, the daemon's init binary
   * (false for a VM: the container runs on the guest's own kernel).
   */
  sharesHostKernel: boolean;
  /** Its containers may use the host's network namespace or another container's, and others may join theirs (false for a VM: its network stack is in the guest). */
  sharesNetworkNamespace: boolean;
  /** A running container can join another network (false for a VM: its devices are fixed at boot). */
  hotPlugsNetworks: boolean;
  /** `top` lists the container's processes through guestProcesses: they run where the host's ps cannot see them. */
  listsProcesses: boolean;
  /** Its containers get only their IPv4 addresses (a VM: the guest agent configures IPv4 only), so IPv6 networks are refused for them. */
  ipv4Only?: boolean;
  /** The state annotation that explains an exit without the container's status (a guest panic), if the runtime has one. */
  exitReasonAnnotation?: string;
  /** The state annotation naming the accelerator a run got, read shortly after its start, if the runtime has one. */
  acceleratorAnnotation?: string;
}

/** An OCI runtime driven through conmon, as the engine uses it. */
export interface RuntimePort {
  /** What this runtime's isolation allows (see RuntimeTraits). */
  readonly traits: RuntimeTraits;
  create(request: RuntimeCreateRequest): Promise<{ pid: number; conmonPid: number }>;
  start(id: string): Promise<void>;
  kill(id: string, signal: string): Promise<void>;
  delete(id: string): Promise<void>;
  state(id: string): Promise<RuntimeStatus | undefined>;
  /**
   * The runtime's annotations on the container's state ({} when it has none or no longer knows
   * the container). berth-vm reports `io.berth.vm.accel` (what the VM ran with) and, when the VM
   * ended without the container's exit status, `io.berth.vm.error`. Read before `delete`.
   */
  annotations(id: string): Promise<Record<string, string>>;
  exitCode(id: string): Promise<number | undefined>;
  clearExit(id: string): Promise<void>;
  listPids(id: string): Promise<number[]>;
  /**
   * The container's processes as the runtime sees them, for a runtime whose traits say it
   * `listsProcesses` (a VM's guest): `ps <psArgs>`'s output there (header line, then one line
   * per process). Other runtimes answer with a failed result.
   */
  guestProcesses(id: string, psArgs: readonly string[]): Promise<{ exitCode: number; stdout: string; stderr: string }>;
  /** `client`, the caller's connection, ends the session as soon as it is closed (not half-closed). */
  /** `stdinFromClient`: see AttachRequest. */
  attach(id: string, options: { stdin: boolean; tty: boolean; client?: Stream; stdinFromClient?: boolean }): Promise<AttachSession>;
  exec(request: RuntimeExecRequest): Promise<RuntimeExecHandle>;
  resize(id: string, height: number, width: number): Promise<void>;
  readLogs(logPath: string, options: LogReadOptions): AsyncIterable<LogEntry>;
  /** Keep a running container's log rotated by `log` again, after a daemon restart (create starts it itself). */
  keepLogRotated?(id: string, logPath: string, log: LogPolicy): Promise<void>;
  /** Have the monitor reopen the container's log file (after its owner rotated it away). */
  reopenLog?(id: string): Promise<void>;
  /** Freeze / thaw the container's processes (cgroup freezer). */
  pause(id: string): Promise<void>;
  resume(id: string): Promise<void>;
  /** Change a running container's cgroup limits. */
  update(id: string, resources: RuntimeResources): Promise<void>;
  /** A stats sample; undefined when the container has no running process. */
  stats(id: string): Promise<RuntimeStats | undefined>;
  /** Whether the kernel OOM-killed a process of the container during its last run. */
  wasOomKilled(id: string): Promise<boolean>;
}
