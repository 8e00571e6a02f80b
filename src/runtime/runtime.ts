/**
 * The Runtime interface: how the engine creates, runs and tears down one container's process
 * tree, whatever runs it (crun or runc under conmon, berth-vm). Implementations keep no state in
 * memory that matters: everything can be found again from disk after a daemon restart.
 */
import type { ChildProcessByStdio } from 'node:child_process';
import type { Readable, Stream, Writable } from 'node:stream';
import type { ContainerRuntimeSettings, ExecProcess, ExecSettings, LogRecord, ReadLogsOptions, RuntimeResources, RuntimeState, RuntimeStats } from './types.js';

/** Where conmon writes the container's log and its own pid. */
export interface CreateOptions {
  /** k8s-file log path (ctr.log). */
  logPath: string;
  /** conmon's pid is written here so a restarted daemon can find it. */
  conmonPidFile: string;
  /** How the log is kept (docker's json-file/local options); a file without a size cap when absent. */
  log?: LogFileOptions;
}

/** The log of a container: none at all, or a file rotated as json-file rotates (LogRotationPolicy). */
export interface LogFileOptions {
  isDisabled: boolean;
  /** 0: no cap. */
  maxSizeBytes: number;
  maxFiles: number;
  compress: boolean;
}

/** What `create` returns once the container exists in state `created`. */
export interface CreateResult {
  /** Host pid of the container's init (waiting to exec the user's command). */
  pid: number;
  /** Host pid of the conmon that monitors it. */
  conmonPid: number;
}

/** An attach stream: stdout carries Docker's multiplexed frames, or raw bytes with a tty. */
export type AttachProcess = ChildProcessByStdio<Writable, Readable, Readable>;

/** An attach session: the container's output (framed as for AttachProcess) and its stdin when asked for. */
export interface AttachSession {
  output: Readable;
  /** The container's stdin; null unless the attach asked for it (`isStdin`). */
  input: Writable | null;
  /** End the session; the container keeps running. */
  close(): void;
}

/**
 * What a runtime's isolation lets the engine do, declared for each runtime by daemon/builtins.ts.
 * The engine asks these traits; it never names an isolation level or a runtime.
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

export interface AttachOptions {
  /** Forward the caller's input to the container's stdin (the container must have been created with it open). */
  isStdin: boolean;
  /** The container has a tty: output is raw, not multiplexed. */
  isTty: boolean;
  /**
   * The API client's connection (a socket), shared with the helper so the session ends as soon
   * as the client closes it, even while the container prints nothing. Its half-close does not.
   */
  client?: Stream;
  /**
   * The session reads stdin from `client` itself once its input ends: the caller writes into the
   * input only what it had already read from the connection, then ends it and reads no more (see
   * takeOverReading). Only with isStdin and a shareable `client` (isShareableConnection).
   */
  isStdinFromClient?: boolean;
}

/**
 * One container runtime, the one interface the engine drives containers through (each isolation
 * level is a runtime with declared traits). Contract:
 * - `create` leaves the container `created` with conmon watching it, or throws and leaves nothing
 *   behind (no monitor, no runtime state, no cgroup). A missing executable is CommandNotFoundError,
 *   a non-executable one CannotInvokeError, whichever of create/start the runtime reports it in.
 * - `start` runs the user's command; afterwards the exit is reported through the exit directory.
 * - `delete` is forceful and idempotent: deleting an unknown container succeeds.
 * - `state` is undefined when the runtime has no record of the container.
 * - Containers outlive the daemon; nothing here depends on the calling process staying alive.
 */
export interface Runtime {
  /** What this runtime's isolation allows (see RuntimeTraits). */
  readonly traits: RuntimeTraits;
  /** Write the bundle's config.json from `settings` and create the container under a monitor. */
  create(settings: ContainerRuntimeSettings, options: CreateOptions): Promise<CreateResult>;
  /** Start a created container's process. */
  start(id: string): Promise<void>;
  /** Send `signal` (name like `SIGTERM` or number) to the container's init. */
  kill(id: string, signal: string | number): Promise<void>;
  /** Remove the container from the runtime (killing it first if needed); succeeds if already gone. */
  delete(id: string): Promise<void>;
  /**
   * The runtime's view of the container, undefined when unknown. Its annotations say what the
   * runtime knows beyond the status (berth-vm: the accelerator a VM ran with and, when the VM
   * ended without the container's exit status, why); read them before `delete`.
   */
  state(id: string): Promise<RuntimeState | undefined>;
  /** The exit code the monitor recorded, undefined while running or when none was written. */
  exitCode(id: string): Promise<number | undefined>;
  /** Forget the recorded exit (once the caller has recorded it, and before a new create): a later exit of the same id is reported again. */
  clearExit(id: string): Promise<void>;
  /** Host pids of every process in the container (for `top`); empty when not running. */
  listPids(id: string): Promise<number[]>;
  /**
   * For a runtime whose processes run in a guest the host cannot see (berth-vm): its
   * `<runtime> ps <id> -- <psArgs>`, a `ps`-style table of the guest's processes. A non-zero
   * exit code carries the runtime's one-line message in stderr (a ps option it does not know,
   * or a runtime without a guest). Every runtime answers; the engine asks only those whose
   * traits say they list processes.
   */
  guestProcesses(id: string, psArgs: readonly string[]): Promise<{ exitCode: number; stdout: string; stderr: string }>;
  /** Connect to the container's stdio through the monitor's attach socket. */
  attach(id: string, options: AttachOptions): Promise<AttachSession>;
  /**
   * Run another process in the running container (docker exec). Resolves once it runs, its
   * stdio connected; a command that cannot be found or invoked is CommandNotFoundError or
   * CannotInvokeError and leaves nothing behind. The process's `input` is null unless
   * `isStdinOpen`.
   */
  exec(settings: Omit<ExecSettings, 'privilegedCapabilities'> & { isPrivileged: boolean }): Promise<ExecProcess>;
  /** Freeze every process of a running container (cgroup freezer). */
  pause(id: string): Promise<void>;
  /** Thaw a paused container. */
  resume(id: string): Promise<void>;
  /** Change a live container's cgroup limits; fields left out (or undefined) keep their values. */
  update(id: string, resources: RuntimeResources): Promise<void>;
  /** One sample of the container's counters; undefined when it has no running process. */
  stats(id: string): Promise<RuntimeStats | undefined>;
  /** Whether the kernel OOM-killed a process of the container since it was created. */
  wasOomKilled(id: string): Promise<boolean>;
  /** Resize the container's tty (no-op without one). */
  resize(id: string, height: number, width: number): Promise<void>;
  /** The records of a container's log file (`CreateOptions.logPath`), following new ones when asked. */
  readLogs(logPath: string, options: ReadLogsOptions): AsyncIterable<LogRecord>;
  /**
   * Keep a running container's log rotated by `log` again (after a daemon restart; create
   * starts it itself). Stops at `delete`.
   */
  keepLogRotated(id: string, logPath: string, log: LogFileOptions): Promise<void>;
  /** Have the monitor reopen the log file (its owner, a kubelet, rotated it away). */
  reopenLog(id: string): Promise<void>;
}
