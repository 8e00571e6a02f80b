/**
 * Adapts a runtime/ Runtime (crun or runc under conmon) to the port the engine uses:
 * the engine's create request becomes the runtime's settings, the attach helper process
 * becomes an AttachSession, exit files are acknowledged through the watcher.
 */
import { join } from 'node:path';
import type { AttachSession, LogEntry, LogReadOptions, RuntimeCreateRequest, RuntimePort, RuntimeStatus } from '../engine/index.js';
import { readLogs, type ExitWatcher, type Runtime } from '../runtime/index.js';

export class RuntimePortAdapter implements RuntimePort {
  readonly #runtime: Runtime;
  readonly #exits: ExitWatcher;

  constructor(runtime: Runtime, exits: ExitWatcher) {
    this.#runtime = runtime;
    this.#exits = exits;
  }

  create(request: RuntimeCreateRequest): Promise<{ pid: number; conmonPid: number }> {
    return this.#runtime.create(
      {
        id: request.id,
        bundleDir: request.bundleDir,
        rootfsDir: request.rootfsDir,
        args: request.args,
        env: request.env,
        cwd: request.cwd,
        user: request.user,
        hostname: request.hostname,
        isTty: request.tty,
        isStdinOpen: request.openStdin,
        etcFiles: request.etcFiles,
        isPrivileged: request.privileged,
        capAdd: request.capAdd,
        capDrop: request.capDrop,
        isReadonlyRootfs: request.readonlyRootfs,
        securityOpt: request.securityOpt,
        cgroupsPath: `/berth/${request.id}`,
        annotations: { 'io.berth.container.name': request.name },
        networkNamespace: 'new',
        shmSizeBytes: request.shmSizeBytes,
      },
      { logPath: request.logPath, conmonPidFile: join(request.bundleDir, 'conmon.pid') },
    );
  }

  start(id: string): Promise<void> {
    return this.#runtime.start(id);
  }

  kill(id: string, signal: string): Promise<void> {
    return this.#runtime.kill(id, signal);
  }

  delete(id: string): Promise<void> {
    return this.#runtime.delete(id);
  }

  async state(id: string): Promise<RuntimeStatus | undefined> {
    return (await this.#runtime.state(id))?.status;
  }

  exitCode(id: string): Promise<number | undefined> {
    return this.#runtime.exitCode(id);
  }

  clearExit(id: string): Promise<void> {
    return this.#exits.acknowledge(id);
  }

  listPids(id: string): Promise<number[]> {
    return this.#runtime.listPids(id);
  }

  async attach(id: string, options: { stdin: boolean; tty: boolean }): Promise<AttachSession> {
    const child = await this.#runtime.attach(id, { isStdin: options.stdin, isTty: options.tty });
    return {
      output: child.stdout,
      input: options.stdin ? child.stdin : null,
      close() {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      },
    };
  }

  async *readLogs(logPath: string, options: LogReadOptions): AsyncIterable<LogEntry> {
    yield* readLogs(logPath, {
      follow: options.follow,
      ...(options.tailLines !== undefined ? { tailLines: options.tailLines } : {}),
      ...(options.sinceNs !== undefined ? { sinceNs: options.sinceNs } : {}),
      ...(options.untilNs !== undefined ? { untilNs: options.untilNs } : {}),
      stdout: options.stdout,
      stderr: options.stderr,
      signal: options.signal,
    });
  }
}
