/**
 * Adapts a runtime/ Runtime (crun or runc under conmon) to the port the engine uses:
 * the engine's create request becomes the runtime's settings, the attach helper process
 * becomes an AttachSession, exit files are acknowledged through the watcher.
 */
import { join } from 'node:path';
import type { Stream } from 'node:stream';
import type { AttachSession, LogEntry, LogReadOptions, RuntimeCreateRequest, RuntimeExecHandle, RuntimeExecRequest, RuntimePort, RuntimeStatus, RuntimeTraits } from '../engine/index.js';
import type { LogPolicy } from '../engine/index.js';
import { berthCgroupsPath } from '../sys/index.js';
import { readLogs, RuntimeError, type ExitWatcher, type LogFileOptions, type Runtime, type RuntimeResources, type RuntimeStats } from '../runtime/index.js';

function toLogFileOptions(log: LogPolicy): LogFileOptions {
  return { isDisabled: log.driver === 'none', maxSizeBytes: log.maxSizeBytes, maxFiles: log.maxFiles, compress: log.compress };
}

/** Only the limits that are set (a field present but undefined is not written). */
function definedLimits(limits: RuntimeResources): RuntimeResources {
  const out: RuntimeResources = {};
  for (const [key, value] of Object.entries(limits) as Array<[keyof RuntimeResources, unknown]>) {
    if (value !== undefined) (out as Record<string, unknown>)[key] = value;
  }
  return out;
}

export class RuntimePortAdapter implements RuntimePort {
  readonly #runtime: Runtime;
  readonly #exits: ExitWatcher;
  readonly traits: RuntimeTraits;

  constructor(runtime: Runtime, exits: ExitWatcher, traits: RuntimeTraits) {
    this.#runtime = runtime;
    this.#exits = exits;
    this.traits = traits;
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
        isStdinOnce: request.stdinOnce ?? false,
        etcFiles: request.etcFiles,
        isPrivileged: request.privileged,
        capAdd: request.capAdd,
        capDrop: request.capDrop,
        isReadonlyRootfs: request.readonlyRootfs,
        securityOpt: request.securityOpt,
        // A pod's containers go below the pod's cgroup; the rest below Berth's own.
        cgroupsPath: request.cgroupParent ? `${request.cgroupParent.replace(/\/+$/, '')}/${request.id}` : berthCgroupsPath(request.id),
        annotations: { 'io.berth.container.name': request.name },
        networkNamespace: request.networkNamespace ?? 'new',
        shmSizeBytes: request.shmSizeBytes,
        ...(request.mounts ? { mounts: request.mounts } : {}),
        ...definedLimits(request.resources),
        isOomKillDisabled: request.oomKillDisable,
        ...(request.domainname ? { domainname: request.domainname } : {}),
        ...(request.groupAdd?.length ? { groupAdd: request.groupAdd } : {}),
        ...(request.oomScoreAdj ? { oomScoreAdj: request.oomScoreAdj } : {}),
        ...(request.sysctls && Object.keys(request.sysctls).length > 0 ? { sysctls: request.sysctls } : {}),
        ...(request.hostNamespaces?.length ? { hostNamespaces: request.hostNamespaces } : {}),
        ...(request.ipcNamespacePath ? { ipcNamespacePath: request.ipcNamespacePath } : {}),
        ...(request.pidNamespacePath ? { pidNamespacePath: request.pidNamespacePath } : {}),
        ...(request.devices?.length ? { devices: request.devices } : {}),
        ...(request.deviceCgroupRules?.length ? { deviceCgroupRules: request.deviceCgroupRules } : {}),
        ulimits: request.ulimits,
      },
      { logPath: request.logPath, conmonPidFile: join(request.bundleDir, 'conmon.pid'), ...(request.log ? { log: toLogFileOptions(request.log) } : {}) },
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

  async annotations(id: string): Promise<Record<string, string>> {
    return (await this.#runtime.state(id))?.annotations ?? {};
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

  guestProcesses(id: string, psArgs: readonly string[]): Promise<{ exitCode: number; stdout: string; stderr: string }> {
    return this.#runtime.guestProcesses(id, psArgs);
  }

  async attach(id: string, options: { stdin: boolean; tty: boolean; client?: Stream; stdinFromClient?: boolean }): Promise<AttachSession> {
    const child = await this.#runtime.attach(id, {
      isStdin: options.stdin,
      isTty: options.tty,
      ...(options.client ? { client: options.client } : {}),
      ...(options.stdinFromClient ? { isStdinFromClient: true } : {}),
    });
    return {
      output: child.stdout,
      input: options.stdin ? child.stdin : null,
      close() {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      },
    };
  }

  async exec(request: RuntimeExecRequest): Promise<RuntimeExecHandle> {
    const process = await this.#runtime.exec({
      execId: request.execId,
      containerId: request.containerId,
      bundleDir: request.bundleDir,
      args: request.args,
      env: request.env,
      cwd: request.cwd,
      user: request.user,
      isTty: request.tty,
      isStdinOpen: request.stdin,
      isPrivileged: request.privileged,
      ...(request.isForeground ? { isForeground: true } : {}),
      ...(request.consoleSize ? { consoleSize: request.consoleSize } : {}),
      ...(request.client ? { client: request.client } : {}),
      ...(request.stdinFromClient ? { isStdinFromClient: true } : {}),
    });
    return {
      pid: process.pid,
      output: process.output,
      input: request.stdin ? process.input : null,
      exited: process.exited,
      resize: (height, width) => process.resize(height, width),
      detach: () => process.stopRelay(),
      kill: () => process.kill(),
      cleanup: () => process.cleanup(),
    };
  }

  resize(id: string, height: number, width: number): Promise<void> {
    return this.#runtime.resize(id, height, width);
  }

  pause(id: string): Promise<void> {
    return this.#runtime.pause(id);
  }

  resume(id: string): Promise<void> {
    return this.#runtime.resume(id);
  }

  update(id: string, resources: RuntimeResources): Promise<void> {
    return this.#runtime.update(id, definedLimits(resources));
  }

  stats(id: string): Promise<RuntimeStats | undefined> {
    return this.#runtime.stats(id);
  }

  wasOomKilled(id: string): Promise<boolean> {
    return this.#runtime.wasOomKilled(id);
  }

  async reopenLog(id: string): Promise<void> {
    if (!this.#runtime.reopenLog) throw new RuntimeError(`reopening the log of ${id}: this runtime cannot`);
    await this.#runtime.reopenLog(id);
  }

  async keepLogRotated(id: string, logPath: string, log: LogPolicy): Promise<void> {
    await this.#runtime.keepLogRotated?.(id, logPath, toLogFileOptions(log));
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
