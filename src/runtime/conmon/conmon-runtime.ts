/**
 * ConmonRuntime: drives any OCI runtime binary (crun by default, runc) through conmon, the way
 * podman does, so containers outlive berthd and their exit codes land in files.
 */
import { constants, mkdir, open, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { errnoOf, messageOf, type Logger } from '../../common/index.js';
import { berthCgroupsPath, isProcessAlive, listCgroupPidsOf, removeCgroupDirs, runCommand, type CommandResult, type MountHelper } from '../../sys/index.js';
import type { RuntimeSpec, RuntimeStateOutput } from '../../oci/index.js';
import type { AttachOptions, AttachProcess, AttachSession, CreateOptions, CreateResult, LogFileOptions, Runtime, RuntimeTraits } from '../runtime.js';
import type { ContainerRuntimeSettings, ExecProcess, ExecSettings, LogRecord, ReadLogsOptions, RuntimeResources, RuntimeState, RuntimeStats } from '../types.js';
import { classifyRuntimeFailure, NoSuchRuntimeContainerError, RuntimeError, runtimeMessage } from '../errors.js';
import { buildRuntimeSpec, defaultSpecHost, writeRuntimeSpecFile, type SpecHost } from '../spec/index.js';
import { startExec } from './conmon-exec.js';
import { conmonCreateArgs, spawnConmon, type SyncMessage } from './conmon-spawn.js';
import { startForegroundExec } from './foreground-exec.js';
import { freeze, hasOomFile, sampleStats, updateResources } from './conmon-resources.js';
import { askConmonToReopenLog, LogRotator } from './log-rotation.js';
import { readLogs } from './log-reader.js';
import { readExitFile, type ExitWatcher } from './exit-watcher.js';
import { startAttachHelper } from './attach-helper.js';
import { deleteStoppedDirectly, releaseThroughExecFifo, SECCOMP_BPF_ANNOTATION, SeccompFilterCache } from './crun-shortcuts.js';

/** How to reach the binaries and where conmon keeps its files. */
export interface ConmonRuntimeOptions {
  /** The OCI runtime binary (`/usr/bin/crun`, `/usr/sbin/runc`). */
  runtimePath: string;
  conmonPath: string;
  /** The runtime's state directory (`--root`); private per daemon so tests never touch the host's. */
  runtimeRoot: string;
  /** conmon writes `<exitDir>/<id>` holding the exit code. */
  exitDir: string;
  /** Per-container conmon files (`<persistDir>/<id>/`): conmon's own stderr, its exit/oom files. */
  persistDir: string;
  /** The compiled native/berth-attach helper. */
  attachHelperPath: string;
  logger: Logger;
  /** What the runtime's isolation allows, as the daemon declares it for this binary. */
  traits: RuntimeTraits;
  /** The watcher of `exitDir`, told when an exit is cleared so it reports the next one; the file is only removed when absent. */
  exits?: ExitWatcher;
  /** Host seams for the spec builder; the real host when absent. */
  specHost?: SpecHost;
  /** Give up on conmon's sync message after this long. */
  createTimeoutMs?: number;
  /**
   * The runtime is crun: start through its exec fifo and reuse the seccomp programs it compiled
   * (crun-shortcuts.ts) instead of a process (and a compile) each time.
   */
  isCrun?: boolean;
  /** Starts conmon from a small long-lived process: a fork of berthd blocks its event loop ~15 ms. */
  spawnHelper?: MountHelper;
  /** The runtime's `exec` runs in the foreground and exits with the process's status (crun, runc), so a foreground exec needs no conmon. */
  execsInForeground?: boolean;
}

const RUNTIME_TIMEOUT_MS = 30_000;

/** The file in a container's persist dir naming its cgroupsPath. */
const CGROUPS_PATH_FILE = 'cgroups-path';

/** A Runtime for crun or runc monitored by conmon. */
export class ConmonRuntime implements Runtime {
  readonly #options: ConmonRuntimeOptions;
  readonly traits: RuntimeTraits;

  constructor(options: ConmonRuntimeOptions) {
    this.#options = options;
    this.traits = options.traits;
    this.#logRotator = new LogRotator(options.logger);
    this.#seccompFilters = options.isCrun ? new SeccompFilterCache(options.runtimePath) : undefined;
  }

  readonly #seccompFilters: SeccompFilterCache | undefined;

  /**
   * Bundle directories by container id: attach and resize are on the hot path of every
   * interactive run, and asking the runtime (`state`, a process; a Node one for berth-vm) each
   * time cost up to hundreds of ms, enough for a start's first resize to arrive after the prompt.
   */
  readonly #bundleDirs = new Map<string, string>();
  readonly #logRotator: LogRotator;

  #persistDir(id: string): string {
    return join(this.#options.persistDir, id);
  }

  #runtime(args: readonly string[]): Promise<CommandResult> {
    return runCommand(this.#options.runtimePath, [`--root=${this.#options.runtimeRoot}`, ...args], { timeoutMs: RUNTIME_TIMEOUT_MS });
  }

  /** See Runtime.create. */
  async create(settings: ContainerRuntimeSettings, options: CreateOptions): Promise<CreateResult> {
    const { id, bundleDir } = settings;
    this.#bundleDirs.set(id, bundleDir);
    const persist = this.#persistDir(id);
    await mkdir(bundleDir, { recursive: true });
    await mkdir(this.#options.exitDir, { recursive: true });
    await mkdir(this.#options.runtimeRoot, { recursive: true, mode: 0o700 });
    await mkdir(persist, { recursive: true });
    await rm(join(this.#options.exitDir, id), { force: true });
    await rm(join(bundleDir, 'oci-log'), { force: true });
    await rm(join(persist, 'oom'), { force: true });
    // Kept beside conmon's files so a delete (or recovery after a crash) can sweep cgroups the
    // runtime left behind, without the spec, which may be gone by then.
    await writeFile(join(persist, CGROUPS_PATH_FILE), settings.cgroupsPath ?? berthCgroupsPath(id));
    const specStart = performance.now();
    const spec = await buildRuntimeSpec(settings, this.#options.specHost);
    const seccompKey = await this.#seccompFilters?.keyOf(spec);
    const compiledFilter = seccompKey === undefined ? undefined : this.#seccompFilters?.get(seccompKey);
    if (compiledFilter !== undefined) spec.annotations = { ...spec.annotations, [SECCOMP_BPF_ANNOTATION]: compiledFilter };
    await writeRuntimeSpecFile(bundleDir, spec);
    const specMs = Math.round(performance.now() - specStart);

    const args = conmonCreateArgs({
      id, bundleDir, persistDir: persist, settings, create: options,
      runtimePath: this.#options.runtimePath, runtimeRoot: this.#options.runtimeRoot, exitDir: this.#options.exitDir,
    });

    let sync: SyncMessage;
    const conmonStart = performance.now();
    try {
      sync = await spawnConmon(args, persist, {
        conmonPath: this.#options.conmonPath,
        timeoutMs: this.#options.createTimeoutMs ?? RUNTIME_TIMEOUT_MS,
        ...(this.#options.spawnHelper ? { spawnHelper: this.#options.spawnHelper } : {}),
      });
    } catch (err) {
      await this.#cleanupFailedCreate(id, options.conmonPidFile);
      throw err instanceof RuntimeError ? err : new RuntimeError(`conmon failed: ${messageOf(err)}`, { cause: err });
    }
    if (sync.data < 0) {
      const ociLog = await readFile(join(bundleDir, 'oci-log'), 'utf8').catch(() => '');
      const message = runtimeMessage(ociLog) || sync.message || `conmon reported error ${sync.data}`;
      await this.#cleanupFailedCreate(id, options.conmonPidFile);
      throw classifyRuntimeFailure(settings.args[0] ?? '', message);
    }
    const conmonPid = Number((await readFile(options.conmonPidFile, 'utf8').catch(() => '')).trim());
    if (seccompKey !== undefined && compiledFilter === undefined) {
      await this.#seccompFilters?.learn(seccompKey, this.#options.runtimeRoot, id).catch((err: unknown) =>
        this.#options.logger.debug('cannot keep the compiled seccomp filter', { id, error: messageOf(err) }),
      );
    }
    if (options.log) this.#rotate(id, bundleDir, options.logPath, options.log);
    this.#options.logger.debug('container created', { id, pid: sync.data, conmonPid, specMs, conmonMs: Math.round(performance.now() - conmonStart) });
    return { pid: sync.data, conmonPid: Number.isInteger(conmonPid) ? conmonPid : 0 };
  }

  async #cleanupFailedCreate(id: string, conmonPidFile: string): Promise<void> {
    const conmonPid = Number((await readFile(conmonPidFile, 'utf8').catch(() => '')).trim());
    if (Number.isInteger(conmonPid) && conmonPid > 0 && isProcessAlive(conmonPid)) {
      try {
        process.kill(conmonPid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
    await this.delete(id).catch((err: unknown) => this.#options.logger.warn('cleanup after failed create', { id, error: messageOf(err) }));
    await rm(conmonPidFile, { force: true });
    await rm(join(this.#options.exitDir, id), { force: true });
    await rm(this.#persistDir(id), { recursive: true, force: true });
  }

  /** See Runtime.start. A command the runtime cannot exec maps to the typed errors. */
  async start(id: string): Promise<void> {
    if (this.#options.isCrun && (await releaseThroughExecFifo(this.#options.runtimeRoot, id))) return;
    const result = await this.#runtime(['start', id]);
    if (result.exitCode === 0) return;
    const message = runtimeMessage(result.stderr) || `exit status ${result.exitCode}`;
    if (/does not exist|not found/i.test(message) && !/exec|executable/i.test(message)) throw new NoSuchRuntimeContainerError(id);
    throw classifyRuntimeFailure(await this.#command(id), message);
  }

  async #command(id: string): Promise<string> {
    const state = await this.#rawState(id);
    if (!state) return '';
    try {
      const spec = JSON.parse(await readFile(join(state.bundle, 'config.json'), 'utf8')) as RuntimeSpec;
      return spec.process?.args[0] ?? '';
    } catch {
      return '';
    }
  }

  /** See Runtime.kill. */
  async kill(id: string, signal: string | number): Promise<void> {
    const name = typeof signal === 'number' ? String(signal) : signal.toUpperCase().replace(/^SIG/, '');
    const result = await this.#runtime(['kill', id, name]);
    if (result.exitCode !== 0) {
      const message = runtimeMessage(result.stderr);
      if (/does not exist|not found/i.test(message)) throw new NoSuchRuntimeContainerError(id);
      throw new RuntimeError(`kill ${id}: ${message || `exit status ${result.exitCode}`}`);
    }
  }

  /** Rotation beyond one file is berthd's (conmon only truncates, see logArgs in conmon-spawn.ts). */
  #rotate(id: string, bundleDir: string, logPath: string, log: LogFileOptions): void {
    if (log.isDisabled || log.maxSizeBytes <= 0 || log.maxFiles < 2) return;
    this.#logRotator.watch(id, logPath, log, () => askConmonToReopenLog(join(bundleDir, 'ctl')));
  }

  /** See Runtime.keepLogRotated. */
  async keepLogRotated(id: string, logPath: string, log: LogFileOptions): Promise<void> {
    this.#rotate(id, await this.#bundle(id), logPath, log);
  }

  /** See Runtime.reopenLog. */
  async reopenLog(id: string): Promise<void> {
    await askConmonToReopenLog(join(await this.#bundle(id), 'ctl'));
  }

  /**
   * See Runtime.delete. Also sweeps what the runtime leaves when a create failed part-way (cgroup
   * directories made before the failing controller) and conmon's per-container directory.
   */
  async delete(id: string): Promise<void> {
    this.#bundleDirs.delete(id);
    this.#logRotator.unwatch(id);
    const persist = this.#persistDir(id);
    const cgroupsPath = (await readFile(join(persist, CGROUPS_PATH_FILE), 'utf8').catch(() => '')).trim() || berthCgroupsPath(id);
    if (!this.#options.isCrun || !(await deleteStoppedDirectly(this.#options.runtimeRoot, id, cgroupsPath))) {
      const result = await this.#runtime(['delete', '--force', id]);
      if (result.exitCode !== 0 && (await this.#rawState(id)) !== undefined) {
        throw new RuntimeError(`delete ${id}: ${runtimeMessage(result.stderr) || `exit status ${result.exitCode}`}`);
      }
    }
    const left = await removeCgroupDirs(cgroupsPath);
    if (left.length > 0) this.#options.logger.warn('cgroups left after delete', { id, dirs: left.join(' ') });
    await rm(persist, { recursive: true, force: true });
  }

  async #rawState(id: string): Promise<RuntimeStateOutput | undefined> {
    const result = await this.#runtime(['state', id]);
    if (result.exitCode !== 0) return undefined;
    try {
      return JSON.parse(result.stdout) as RuntimeStateOutput;
    } catch (err) {
      throw new RuntimeError(`state ${id}: unreadable output`, { cause: err });
    }
  }

  /** See Runtime.state. */
  async state(id: string): Promise<RuntimeState | undefined> {
    const raw = await this.#rawState(id);
    if (!raw) return undefined;
    const status = raw.status === 'creating' ? 'created' : raw.status;
    const state: RuntimeState = { status };
    if (raw.pid && raw.pid > 0 && status !== 'stopped') state.pid = raw.pid;
    if (raw.annotations) state.annotations = raw.annotations;
    return state;
  }

  /** See Runtime.exitCode. */
  async exitCode(id: string): Promise<number | undefined> {
    return readExitFile(join(this.#options.exitDir, id));
  }

  /** See Runtime.clearExit. */
  async clearExit(id: string): Promise<void> {
    if (this.#options.exits) await this.#options.exits.acknowledge(id);
    else await rm(join(this.#options.exitDir, id), { force: true });
  }

  /** See Runtime.listPids. */
  async listPids(id: string): Promise<number[]> {
    const state = await this.state(id);
    if (!state?.pid) return [];
    return listCgroupPidsOf(state.pid);
  }

  /** See Runtime.guestProcesses; only berth-vm has the `ps` command in this form. */
  async guestProcesses(id: string, psArgs: readonly string[]): Promise<CommandResult> {
    const result = await this.#runtime(['ps', id, '--', ...psArgs]);
    // berth-vm prefixes its messages with its name; the user asked docker, not berth-vm.
    return { ...result, stderr: (runtimeMessage(result.stderr) || result.stderr).replace(/^berth-vm: /, '') };
  }

  /** See Runtime.pause. */
  async pause(id: string): Promise<void> {
    await freeze((args) => this.#runtime(args), id, 'pause');
  }

  /** See Runtime.resume. */
  async resume(id: string): Promise<void> {
    await freeze((args) => this.#runtime(args), id, 'resume');
  }

  /** See Runtime.update. */
  async update(id: string, resources: RuntimeResources): Promise<void> {
    await updateResources((args) => this.#runtime(args), id, definedLimits(resources), this.#persistDir(id));
  }

  /** See Runtime.stats. */
  async stats(id: string): Promise<RuntimeStats | undefined> {
    const state = await this.state(id);
    if (!state?.pid) return undefined;
    return sampleStats(state.pid);
  }

  /** See Runtime.wasOomKilled. */
  wasOomKilled(id: string): Promise<boolean> {
    return hasOomFile(this.#persistDir(id));
  }

  async #bundle(id: string): Promise<string> {
    const known = this.#bundleDirs.get(id);
    if (known !== undefined) return known;
    // Made before this daemon started: ask the runtime once.
    const state = await this.#rawState(id);
    if (!state) throw new NoSuchRuntimeContainerError(id);
    this.#bundleDirs.set(id, state.bundle);
    return state.bundle;
  }

  /**
   * See Runtime.attach. Resolves once the helper is connected, so a start that follows loses no
   * output. The helper exits when conmon closes the socket or its stdout is closed.
   */
  async attach(id: string, options: AttachOptions): Promise<AttachSession> {
    const helper = await this.attachProcess(id, options);
    return {
      output: helper.stdout,
      input: options.isStdin ? helper.stdin : null,
      close() {
        if (helper.exitCode === null && helper.signalCode === null) helper.kill('SIGTERM');
      },
    };
  }

  /** The helper process behind `attach` (its exit status says how the session ended). */
  async attachProcess(id: string, options: AttachOptions): Promise<AttachProcess> {
    return startAttachHelper(this.#options.attachHelperPath, {
      socketPath: join(await this.#bundle(id), 'attach'),
      isTty: options.isTty,
      isStdin: options.isStdin,
      ...(options.client ? { client: options.client } : {}),
      ...(options.isStdinFromClient ? { isStdinFromClient: true } : {}),
    });
  }

  /** See Runtime.readLogs: conmon's k8s-file records (log-reader.ts). */
  readLogs(logPath: string, options: ReadLogsOptions): AsyncIterable<LogRecord> {
    return readLogs(logPath, options);
  }

  /** See Runtime.exec. */
  async exec(settings: Omit<ExecSettings, 'privilegedCapabilities'> & { isPrivileged: boolean }): Promise<ExecProcess> {
    const { isPrivileged, ...rest } = settings;
    const host = this.#options.specHost ?? defaultSpecHost();
    const sessionDir = join(dirname(this.#options.persistDir), 'exec', settings.execId);
    if (settings.isForeground && !settings.isTty && !settings.isStdinOpen && this.#options.execsInForeground) {
      return startForegroundExec(
        { ...rest, privilegedCapabilities: isPrivileged ? await host.knownCapabilities() : undefined },
        { runtimePath: this.#options.runtimePath, runtimeRoot: this.#options.runtimeRoot, sessionDir },
      );
    }
    return startExec(
      { ...rest, privilegedCapabilities: isPrivileged ? await host.knownCapabilities() : undefined },
      {
        conmonPath: this.#options.conmonPath,
        runtimePath: this.#options.runtimePath,
        runtimeRoot: this.#options.runtimeRoot,
        attachHelperPath: this.#options.attachHelperPath,
        sessionDir,
      },
    );
  }

  /** See Runtime.resize: writes conmon's `1 <height> <width>` control line. */
  async resize(id: string, height: number, width: number): Promise<void> {
    const ctl = join(await this.#bundle(id), 'ctl');
    let handle;
    try {
      // O_NONBLOCK: a fifo whose reader (conmon) is gone must not hang us.
      handle = await open(ctl, constants.O_WRONLY | constants.O_NONBLOCK);
    } catch (err) {
      if (errnoOf(err) === 'ENOENT' || errnoOf(err) === 'ENXIO') return;
      throw err;
    }
    try {
      await handle.write(`1 ${Math.floor(height)} ${Math.floor(width)}\n`);
    } finally {
      await handle.close();
    }
  }
}

/** Only the limits that are set (a field present but undefined is not written). */
function definedLimits(limits: RuntimeResources): RuntimeResources {
  const out: RuntimeResources = {};
  for (const [key, value] of Object.entries(limits) as Array<[keyof RuntimeResources, unknown]>) {
    if (value !== undefined) (out as Record<string, unknown>)[key] = value;
  }
  return out;
}
