/**
 * Exec sessions (`docker exec`): made by create, run by start through the container's
 * runtime, inspected for their exit code. Sessions live in memory, as dockerd's do: a daemon
 * restart forgets them (the processes themselves run on under conmon until they exit).
 */
import { ConflictError, InvalidArgumentError, NotFoundError, newId, type Logger } from '../common/index.js';
import type { AttachRequest, ContainerService } from './container-service.js';
import { ContainerNotRunningError } from './errors.js';
import type { ExecProcess } from './ports.js';

/** What `docker exec` asks for. */
export interface ExecOptions {
  cmd: string[];
  env: string[];
  workingDir: string;
  user: string;
  tty: boolean;
  attachStdin: boolean;
  attachStdout: boolean;
  attachStderr: boolean;
  privileged: boolean;
  detachKeys: string;
  consoleSize: { height: number; width: number } | undefined;
}

/** One exec session. `exitCode` is null until the process has exited. */
export interface ExecSession {
  id: string;
  containerId: string;
  options: ExecOptions;
  isRunning: boolean;
  hasStarted: boolean;
  exitCode: number | null;
  pid: number;
}

export class NoSuchExecError extends NotFoundError {
  constructor(id: string) {
    super('BERTH_NO_SUCH_EXEC', `No such exec instance: ${id}`);
  }
}

export class ExecStateError extends ConflictError {
  constructor(message: string) {
    super('BERTH_EXEC_CONFLICT', message);
  }
}

// Exited sessions are kept a while for `exec inspect`, then forgotten.
const KEEP_EXITED_MS = 5 * 60_000;

export class ExecService {
  readonly #containers: ContainerService;
  readonly #logger: Logger;
  readonly #sessions = new Map<string, ExecSession>();
  readonly #handles = new Map<string, ExecProcess>();

  constructor(containers: ContainerService, logger: Logger) {
    this.#containers = containers;
    this.#logger = logger;
  }

  /** Make a session for a running container; nothing runs yet. */
  create(containerRef: string, options: ExecOptions): string {
    const record = this.#containers.get(containerRef);
    if (record.state.status === 'paused') {
      throw new ExecStateError(`Container ${record.id} is paused, unpause the container before exec`);
    }
    if (record.state.status !== 'running') throw new ContainerNotRunningError(record.id);
    if (options.cmd.length === 0) throw new InvalidArgumentError('No exec command specified');
    const id = newId();
    this.#sessions.set(id, { id, containerId: record.id, options, isRunning: false, hasStarted: false, exitCode: null, pid: 0 });
    this.#containers.publishEvent(record, `exec_create: ${options.cmd.join(' ')}`, { execID: id });
    return id;
  }

  get(id: string): ExecSession {
    const session = this.#sessions.get(id);
    if (!session) throw new NoSuchExecError(id);
    return session;
  }

  /** Sessions of one container, for inspect's ExecIDs. */
  idsFor(containerId: string): string[] {
    return [...this.#sessions.values()].filter((s) => s.containerId === containerId && s.isRunning).map((s) => s.id);
  }

  /**
   * Start the session's process. Resolves once it runs with its stdio connected; the caller
   * relays `output`/`input` and awaits `exited`. A command that cannot be run rejects with the
   * runtime's typed error, and the session records 126 as docker does.
   */
  async start(id: string, options: { tty?: boolean; consoleSize?: { height: number; width: number } } & Pick<AttachRequest, 'client' | 'stdinFromClient'>): Promise<ExecProcess> {
    const session = this.get(id);
    // A start still under way (the record says running already) must finish first: a VM's guest takes no exec before.
    await this.#containers.untilStarted(session.containerId);
    if (session.isRunning) throw new ExecStateError(`Error: Exec command ${id} is already running`);
    if (session.hasStarted) throw new ExecStateError(`Error: Exec command ${id} has already run`);
    const record = this.#containers.get(session.containerId);
    if (record.state.status === 'paused') throw new ExecStateError(`Container ${record.id} is paused, unpause the container before exec`);
    if (record.state.status !== 'running') throw new ContainerNotRunningError(record.id);
    session.hasStarted = true;
    const tty = options.tty ?? session.options.tty;
    const consoleSize = options.consoleSize ?? session.options.consoleSize;
    let handle: ExecProcess;
    try {
      handle = await this.#containers.runtimeFor(record).exec({
        execId: id,
        containerId: record.id,
        bundleDir: this.#containers.pathsOf(record.id).bundle,
        args: session.options.cmd,
        env: session.options.env,
        cwd: session.options.workingDir,
        user: session.options.user,
        isTty: tty,
        isStdinOpen: session.options.attachStdin,
        isPrivileged: session.options.privileged,
        ...(consoleSize ? { consoleSize } : {}),
        ...(options.client ? { client: options.client } : {}),
        ...(options.stdinFromClient ? { isStdinFromClient: true } : {}),
      });
    } catch (err) {
      // As docker's daemon: 126 for every exec that could not start, a missing command included.
      session.exitCode = 126;
      this.#forgetLater(id);
      throw err;
    }
    session.isRunning = true;
    session.pid = handle.pid;
    this.#handles.set(id, handle);
    this.#containers.publishEvent(record, `exec_start: ${session.options.cmd.join(' ')}`, { execID: id });
    void handle.exited.then(async (exitCode) => {
      session.isRunning = false;
      session.exitCode = exitCode;
      this.#handles.delete(id);
      await handle.cleanup().catch((err: unknown) => this.#logger.warn('exec cleanup failed', { id, error: String(err) }));
      if (this.#containers.all().some((c) => c.id === record.id)) {
        this.#containers.publishEvent(record, 'exec_die', { execID: id, exitCode: String(exitCode) });
      }
      this.#forgetLater(id);
    });
    return handle;
  }

  async resize(id: string, height: number, width: number): Promise<void> {
    this.get(id);
    await this.#handles.get(id)?.resize(height, width);
  }

  #forgetLater(id: string): void {
    setTimeout(() => this.#sessions.delete(id), KEEP_EXITED_MS).unref();
  }
}
