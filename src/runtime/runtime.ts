/**
 * The Runtime interface: how the engine creates, runs and tears down one container's process
 * tree, whatever runs it (crun or runc under conmon, berth-vm). Implementations keep no state in
 * memory that matters: everything can be found again from disk after a daemon restart.
 */
import type { ChildProcessByStdio } from 'node:child_process';
import type { Readable, Stream, Writable } from 'node:stream';
import type { ContainerRuntimeSettings, ExecProcess, ExecSettings, RuntimeResources, RuntimeState, RuntimeStats } from './types.js';

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
 * One container runtime. Contract:
 * - `create` leaves the container `created` with conmon watching it, or throws and leaves nothing
 *   behind (no monitor, no runtime state, no cgroup). A missing executable is CommandNotFoundError,
 *   a non-executable one CannotInvokeError, whichever of create/start the runtime reports it in.
 * - `start` runs the user's command; afterwards the exit is reported through the exit directory.
 * - `delete` is forceful and idempotent: deleting an unknown container succeeds.
 * - `state` is undefined when the runtime has no record of the container.
 * - Containers outlive the daemon; nothing here depends on the calling process staying alive.
 */
export interface Runtime {
  /** Write the bundle's config.json from `settings` and create the container under a monitor. */
  create(settings: ContainerRuntimeSettings, options: CreateOptions): Promise<CreateResult>;
  /** Start a created container's process. */
  start(id: string): Promise<void>;
  /** Send `signal` (name like `SIGTERM` or number) to the container's init. */
  kill(id: string, signal: string | number): Promise<void>;
  /** Remove the container from the runtime (killing it first if needed); succeeds if already gone. */
  delete(id: string): Promise<void>;
  /** The runtime's view of the container, undefined when unknown. */
  state(id: string): Promise<RuntimeState | undefined>;
  /** The exit code the monitor recorded, undefined while running or when none was written. */
  exitCode(id: string): Promise<number | undefined>;
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
  attach(id: string, options: AttachOptions): Promise<AttachProcess>;
  /**
   * Run another process in the running container (docker exec). Resolves once it runs, its
   * stdio connected; a command that cannot be found or invoked is CommandNotFoundError or
   * CannotInvokeError and leaves nothing behind.
   */
  exec(settings: Omit<ExecSettings, 'privilegedCapabilities'> & { isPrivileged: boolean }): Promise<ExecProcess>;
  /** Freeze every process of a running container (cgroup freezer). */
  pause(id: string): Promise<void>;
  /** Thaw a paused container. */
  resume(id: string): Promise<void>;
  /** Change a live container's cgroup limits; fields left out keep their values. */
  update(id: string, resources: RuntimeResources): Promise<void>;
  /** One sample of the container's counters; undefined when it has no running process. */
  stats(id: string): Promise<RuntimeStats | undefined>;
  /** Whether the kernel OOM-killed a process of the container since it was created. */
  wasOomKilled(id: string): Promise<boolean>;
  /** Resize the container's tty (no-op without one). */
  resize(id: string, height: number, width: number): Promise<void>;
  /**
   * Keep a running container's log rotated by `log` again (after a daemon restart; create
   * starts it itself). Stops at `delete`.
   */
  keepLogRotated?(id: string, logPath: string, log: LogFileOptions): Promise<void>;
  /** Have the monitor reopen the log file (its owner, a kubelet, rotated it away). */
  reopenLog?(id: string): Promise<void>;
}
