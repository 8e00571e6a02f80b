/**
 * The container service: create, start, stop, kill, wait, remove, list, inspect, logs, top and
 * prune, with docker's semantics. It owns the container records; the runtime (conmon + an OCI
 * runtime) owns the processes, the image store owns the layers. Every operation on one
 * container runs under that container's lock; a failing step undoes the earlier ones.
 */
import { chmod, mkdir, rm, stat } from 'node:fs/promises';
import { constants as osConstants } from 'node:os';
import { join } from 'node:path';
import type { Stream } from 'node:stream';
import {
  BerthError,
  ConflictError,
  InvalidArgumentError,
  CONTAINER_NAME,
  newId,
  randomName,
  messageOf,
  type Logger,
} from '../common/index.js';
import { runCommand } from '../sys/index.js';
import { isRunningStatus, ZERO_TIME, type ContainerRecord, type ContainerSettings, type HostSettings } from './container.js';
import { ContainerStore } from './container-store.js';
import {
  ContainerNotRunningError,
  ContainerRunningError,
  NameInUseError,
  NoSuchContainerError,
  NotModifiedError,
} from './errors.js';
import { EventBus } from './events.js';
import { readHostResolvConf, writeEtcFiles } from './etc-files.js';
import { KeyedLock } from './keyed-lock.js';
import { applyResourceUpdate, checkCreateResources, limitsOf, type ResourceUpdate } from './resources.js';
import { RestartTracker } from './restart-policy.js';
import { mountInputOf, prepareMounts, removeAnonymousVolumes, resolveMounts } from './mounts.js';
import { releaseVolumes } from './volume-release.js';
import type { NetworkPort, VolumePort } from './ports.js';
import { refreshHostsFiles, resolveNetworksAtCreate, setUpNetwork, tearDownNetwork, type EndpointSettingsInput, type NetworkingContext } from './container-networking.js';
import type { AttachSession, ImagePort, LogEntry, LogReadOptions, RootfsPort, RuntimePort } from './ports.js';

/**
 * What a caller asks for when creating a container: the settings as the user gave them, which
 * create merges with the image's (empty strings and nulls take the image's or docker's defaults).
 */
export interface CreateContainerInput extends Omit<ContainerSettings, 'cmd' | 'entrypoint'> {
  name: string | undefined;
  /** null: take the image's. */
  cmd: string[] | null;
  /** null: take the image's; [] or [""]: explicitly none. */
  entrypoint: string[] | null;
  host: Omit<HostSettings, 'isolation' | 'isolationRequested' | 'runtime'> & { isolation: string; runtime: string };
  /** Per-network settings (aliases, --ip, --mac-address), keyed by network name or id. */
  endpoints?: Record<string, EndpointSettingsInput>;
}

export type WaitCondition = 'not-running' | 'next-exit' | 'removed';

export interface WaitResult {
  statusCode: number;
  error: string | undefined;
}

export interface ListOptions {
  all: boolean;
  limit: number;
  filters: Record<string, string[]>;
}

/** The runtime name VM containers use (registered by daemon/builtins.ts). */
export const VM_RUNTIME = 'berth-vm';
/** berth-vm's state annotations: the accelerator a VM ran with, and why a VM ended without an exit status. */
const VM_ACCEL_ANNOTATION = 'io.berth.vm.accel';
const VM_ERROR_ANNOTATION = 'io.berth.vm.error';
/** How long after its start a VM container's accelerator is asked for. */
const VM_FACTS_DELAY_MS = 1000;

export interface ContainerServiceOptions {
  root: string;
  execRoot: string;
  defaultRuntime: string;
  knownRuntimes: readonly string[];
  /** What `--isolation=default` (or none) means on this daemon (`berthd --default-isolation`); process when absent. */
  defaultIsolation?: 'process' | 'vm';
  images: ImagePort;
  rootfs: RootfsPort;
  /** One runtime per name (`crun`, `runc`); a container uses the one it was created with. */
  runtimes: Readonly<Record<string, RuntimePort>>;
  events: EventBus;
  logger: Logger;
  /** The volume store; without it, containers that need volumes cannot be created. */
  volumes?: VolumePort;
  /** The network service; without it every container gets a namespace with loopback only. */
  networks?: NetworkPort;
}

/** What an attach asks for: stdin forwarded, and the client's connection watched for a hang-up. */
export interface AttachRequest {
  stdin: boolean;
  /** The API client's socket: the session ends as soon as it is closed (a half-close only ends stdin). */
  client?: Stream;
}

interface PendingAttach {
  request: AttachRequest;
  resolve: (session: AttachSession | undefined) => void;
  reject: (err: unknown) => void;
}

interface Waiter {
  condition: WaitCondition;
  resolve: (result: WaitResult) => void;
}

const SIGNALS: Record<string, number> = osConstants.signals as Record<string, number>;

/** Normalise `TERM`, `SIGTERM` or `15` to `SIGTERM`; throw docker's error for anything else. */
export function normalizeSignal(input: string): string {
  const text = input.trim().toUpperCase();
  if (/^\d+$/.test(text)) {
    const number = Number(text);
    const name = Object.keys(SIGNALS).find((key) => SIGNALS[key] === number);
    if (name && number > 0) return name;
  } else {
    const name = text.startsWith('SIG') ? text : `SIG${text}`;
    if (name in SIGNALS) return name;
  }
  throw new InvalidArgumentError(`Invalid signal: ${input}`);
}

export class ContainerService {
  readonly #options: ContainerServiceOptions;
  readonly #store: ContainerStore;
  readonly #lock = new KeyedLock();
  readonly #waiters = new Map<string, Waiter[]>();
  /** Cleanup after an exit still under way; a start waits for it. */
  readonly #exitCleanups = new Map<string, Promise<void>>();
  readonly #creatingNames = new Set<string>();
  readonly #pendingAttaches = new Map<string, PendingAttach[]>();
  /** Containers whose runtime state and rootfs this process released after their last exit. */
  readonly #released = new Set<string>();
  /** Restart-policy backoff and asked-for exits (stop, kill), per container. */
  readonly #restarts = new RestartTracker();

  private constructor(options: ContainerServiceOptions, store: ContainerStore) {
    this.#options = options;
    this.#store = store;
  }

  static async open(options: ContainerServiceOptions): Promise<ContainerService> {
    const store = await ContainerStore.open(options.root, options.logger);
    return new ContainerService(options, store);
  }

  get events(): EventBus {
    return this.#options.events;
  }

  /** Find a container by id, name or id prefix. */
  get(ref: string): ContainerRecord {
    return this.#store.resolve(ref);
  }

  all(): ContainerRecord[] {
    return this.#store.all();
  }

  /** Paths of a container's files, for inspect. */
  pathsOf(id: string): { dir: string; logPath: string; userdata: string; upper: string; work: string; merged: string; bundle: string } {
    const dir = this.#store.dirOf(id);
    return {
      dir,
      logPath: join(dir, 'ctr.log'),
      userdata: join(dir, 'userdata'),
      upper: join(dir, 'upper'),
      work: join(dir, 'work'),
      merged: join(dir, 'merged'),
      bundle: join(dir, 'bundle'),
    };
  }

  // ---- create ---------------------------------------------------------------

  /** Create a container record and its directories; nothing runs yet. */
  async create(input: CreateContainerInput): Promise<{ id: string; warnings: string[] }> {
    const name = await this.#claimName(input.name);
    try {
      const image = await this.#options.images.get(input.imageRef);
      const imageConfig = image.config.config ?? {};
      const settings = mergeWithImage(input, imageConfig);
      const command = [...(settings.entrypoint ?? []), ...settings.cmd];
      if (command.length === 0) throw new InvalidArgumentError('No command specified');
      const host = this.#hostSettings(input.host);
      resolveNetworksAtCreate(host, input.endpoints ?? {}, this.#networking);
      const { mounts, createdVolumes } = await resolveMounts(mountInputOf(host, settings.volumes), { volumes: this.#options.volumes, mountsOf: (ref) => this.get(ref).host.mounts ?? [] });
      host.mounts = mounts;
      const id = newId();
      if (settings.hostname === '') settings.hostname = id.slice(0, 12);
      const record: ContainerRecord = {
        id,
        name,
        created: new Date().toISOString(),
        imageId: image.id,
        path: command[0]!,
        args: command.slice(1),
        settings,
        host,
        state: {
          status: 'created',
          pid: 0,
          conmonPid: 0,
          exitCode: 0,
          error: '',
          oomKilled: false,
          startedAt: ZERO_TIME,
          finishedAt: ZERO_TIME,
          restartCount: 0,
        },
      };
      const paths = this.pathsOf(id);
      try {
        for (const dir of [paths.userdata, paths.work, paths.bundle]) {
          await mkdir(dir, { recursive: true, mode: 0o700 });
        }
        // The overlay's root takes the upper dir's mode: it is the container's `/`, which
        // every user in the container must be able to read (a non-root --user runs `ls /`).
        for (const dir of [paths.upper, paths.merged]) {
          await mkdir(dir, { recursive: true, mode: 0o755 });
          await chmod(dir, 0o755);
        }
        await writeEtcFiles(paths.userdata, {
          hostname: settings.hostname,
          extraHosts: host.extraHosts,
          dns: host.dns,
          dnsSearch: host.dnsSearch,
          dnsOptions: host.dnsOptions,
          hostResolvConf: await readHostResolvConf(),
        });
        // Make sure the layers are unpacked now, so a broken image fails create, not start.
        await this.#options.images.lowerDirs(image.id);
        await this.#store.save(record);
      } catch (err) {
        await rm(paths.dir, { recursive: true, force: true });
        for (const volume of createdVolumes) await this.#options.volumes?.remove(volume).catch(() => {});
        throw err;
      }
      this.#publish(record, 'create');
      return { id, warnings: [] };
    } finally {
      this.#creatingNames.delete(name);
    }
  }

  async #claimName(requested: string | undefined): Promise<string> {
    if (requested !== undefined && requested !== '') {
      if (!CONTAINER_NAME.test(requested)) {
        throw new InvalidArgumentError(`Invalid container name (${requested}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`);
      }
      const name = requested.replace(/^\//, '');
      const holder = this.#store.findByName(name);
      if (holder) throw new NameInUseError(name, holder.id);
      if (this.#creatingNames.has(name)) throw new NameInUseError(name, 'being created');
      this.#creatingNames.add(name);
      return name;
    }
    for (;;) {
      const name = randomName();
      if (!this.#store.findByName(name) && !this.#creatingNames.has(name)) {
        this.#creatingNames.add(name);
        return name;
      }
    }
  }

  #hostSettings(host: CreateContainerInput['host']): HostSettings {
    const requested = host.isolation;
    let isolation: HostSettings['isolation'];
    switch (requested.toLowerCase()) {
      case '':
      case 'default':
        // An explicit process runtime (--runtime runc) decides for a daemon whose default is vm.
        isolation = host.runtime !== '' && host.runtime !== VM_RUNTIME ? 'process' : (this.#options.defaultIsolation ?? 'process');
        break;
      case 'process':
        isolation = 'process';
        break;
      case 'vm':
      case 'hyperv':
        isolation = 'vm';
        break;
      default:
        throw new InvalidArgumentError(`invalid isolation '${requested}' on linux: use process, vm, hyperv or default`);
    }
    if (host.runtime === VM_RUNTIME && requested.toLowerCase() === 'process') {
      throw new InvalidArgumentError(`runtime ${VM_RUNTIME} cannot run a container with isolation '${requested}'`);
    }
    if (host.runtime === VM_RUNTIME) isolation = 'vm';
    if (isolation === 'vm' && host.runtime !== '' && host.runtime !== VM_RUNTIME) {
      throw new InvalidArgumentError(`runtime ${host.runtime} cannot run a container with isolation '${requested}': VM containers run on ${VM_RUNTIME}`);
    }
    // A VM container's OCI runtime is always berth-vm: it boots the VM conmon monitors.
    const runtime = isolation === 'vm' ? VM_RUNTIME : host.runtime === '' ? this.#options.defaultRuntime : host.runtime;
    if (!this.#options.knownRuntimes.includes(runtime)) {
      throw new InvalidArgumentError(`unknown or invalid runtime name: ${runtime}`);
    }
    // A VM has its own kernel: it cannot share the host's stack, nor a namespace whose interface
    // another container (or another VM) uses; its eth0 is the tap-redirected one of its own.
    if (isolation === 'vm' && (host.networkMode === 'host' || host.networkMode.startsWith('container:'))) {
      const mode = host.networkMode === 'host' ? 'host' : 'container:<id>';
      throw new InvalidArgumentError(`--network ${mode} is not supported with --isolation=vm: a VM container has its own network stack`, { code: 'BERTH_VM_NETWORK_MODE' });
    }
    const limits = checkCreateResources(host);
    if (host.autoRemove && host.restartPolicy.name !== 'no') {
      throw new InvalidArgumentError("can't create 'AutoRemove' container with restart policy");
    }
    return { ...host, ...limits, isolation, isolationRequested: requested, runtime };
  }

  // ---- start ----------------------------------------------------------------

  /** Start a created or exited container. A running one answers NotModified (HTTP 304). */
  async start(ref: string): Promise<void> {
    const id = this.get(ref).id;
    try {
      await this.#lock.run(id, async () => {
        await this.#exitCleanups.get(id);
        const record = this.#current(id);
        if (isRunningStatus(record.state.status)) throw new NotModifiedError();
        // A user's start begins a new run: restart counting and the manual-stop mark start over, as in dockerd.
        this.#restarts.reset(id);
        record.state = { ...record.state, restartCount: 0, hasBeenManuallyStopped: false };
        await this.#startLocked(record);
      });
    } catch (err) {
      // As dockerd: an --rm container that fails to start is removed (the CLI waits for it).
      const record = this.#store.has(id) ? this.#current(id) : undefined;
      if (record?.host.autoRemove && !isRunningStatus(record.state.status) && !(err instanceof NotModifiedError)) {
        await this.remove(id, { force: true, removeVolumes: true }).catch(() => {});
      }
      throw err;
    }
  }

  async #startLocked(record: ContainerRecord): Promise<void> {
    const { images, rootfs } = this.#options;
    const runtime = this.#runtimeOf(record);
    const paths = this.pathsOf(record.id);
    await runtime.clearExit(record.id);
    const before = record.state;
    this.#released.delete(record.id);
    const t0 = performance.now();
    let mounted = false;
    let networked = false;
    try {
      const lowerDirs = await images.lowerDirs(record.imageId);
      await rootfs.mount({ lowerDirs, upperDir: paths.upper, workDir: paths.work, mergedDir: paths.merged });
      mounted = true;
      const mounts = await prepareMounts(record.host.mounts ?? [], { volumes: this.#options.volumes, rootfsDir: paths.merged });
      const tMounted = performance.now();
      networked = true;
      const networkNamespace = await setUpNetwork(record, this.#networking);
      const { pid, conmonPid } = await runtime.create({
        networkNamespace,
        id: record.id,
        name: record.name,
        bundleDir: paths.bundle,
        rootfsDir: paths.merged,
        logPath: paths.logPath,
        args: [record.path, ...record.args],
        env: record.settings.env,
        cwd: record.settings.workingDir || '/',
        user: record.settings.user,
        hostname: record.settings.hostname,
        tty: record.settings.tty,
        openStdin: record.settings.openStdin,
        stdinOnce: record.settings.stdinOnce,
        etcFiles: {
          hosts: join(paths.userdata, 'hosts'),
          hostname: join(paths.userdata, 'hostname'),
          resolvConf: join(paths.userdata, 'resolv.conf'),
        },
        privileged: record.host.privileged,
        capAdd: record.host.capAdd,
        capDrop: record.host.capDrop,
        securityOpt: record.host.securityOpt,
        readonlyRootfs: record.host.readonlyRootfs,
        shmSizeBytes: record.host.shmSizeBytes,
        labels: record.settings.labels,
        mounts,
        resources: limitsOf(record.host),
        oomKillDisable: record.host.oomKillDisable ?? false,
        ulimits: record.host.ulimits ?? [],
      });
      const { vmAccelerator: _lastRunAccelerator, ...lastState } = record.state;
      record.state = { ...lastState, status: 'running', pid, conmonPid, error: '', exitCode: 0, oomKilled: false, startedAt: new Date().toISOString(), finishedAt: ZERO_TIME };
      // Persist before the process runs its command, so a crash right now still knows the container runs.
      await this.#store.save(record);
      await refreshHostsFiles(this.#networking, record);
      const tCreated = performance.now();
      await this.#connectPendingAttaches(record);
      await runtime.start(record.id);
      this.#options.logger.debug('started', {
        id: record.id,
        mountMs: Math.round(tMounted - t0),
        createMs: Math.round(tCreated - tMounted),
        startMs: Math.round(performance.now() - tCreated),
      });
    } catch (err) {
      await runtime.delete(record.id).catch(() => {});
      if (mounted) await rootfs.unmount(paths.merged).catch(() => {});
      if (networked) await tearDownNetwork(record, this.#networking).catch(() => {});
      for (const pending of this.#pendingAttaches.get(record.id) ?? []) pending.resolve(undefined);
      this.#pendingAttaches.delete(record.id);
      const exitCode = exitCodeForStartError(err);
      // A container that never ran stays created, as docker's does; one that ran before is exited.
      const status = before.startedAt === ZERO_TIME ? 'created' : 'exited';
      record.state = { ...before, status, pid: 0, conmonPid: 0, exitCode, error: messageOf(err) };
      await this.#store.save(record).catch(() => {});
      throw err;
    }
    this.#publish(record, 'start');
    // Asking berth-vm costs a process start: not on the start's path, and not at all for a
    // container that is done within a second (its exit reads it, when anyone can still inspect it).
    if (record.host.isolation === 'vm') {
      const startedAt = record.state.startedAt;
      setTimeout(() => void this.#noteVmAccelerator(record.id, startedAt), VM_FACTS_DELAY_MS).unref();
    }
  }

  /** Record what a VM container's run got from berth-vm (its accelerator), if that run still goes on. */
  async #noteVmAccelerator(id: string, startedAt: string): Promise<void> {
    if (!this.#store.has(id)) return;
    const before = this.#current(id);
    if (before.state.startedAt !== startedAt || !isRunningStatus(before.state.status)) return;
    const runtime = this.#runtimeOf(before);
    const annotations = await runtime.annotations?.(id).catch(() => undefined);
    const accelerator = annotations?.[VM_ACCEL_ANNOTATION];
    if (!accelerator) return;
    await this.#lock.run(id, async () => {
      if (!this.#store.has(id)) return;
      const record = this.#current(id);
      if (record.state.startedAt !== startedAt || !isRunningStatus(record.state.status)) return;
      record.state = { ...record.state, vmAccelerator: accelerator };
      await this.#store.save(record);
    }).catch((err: unknown) => this.#options.logger.debug('recording the VM accelerator failed', { id, error: messageOf(err) }));
  }

  // ---- exit -----------------------------------------------------------------

  /**
   * Record that a container's process exited with `exitCode` (from conmon's exit file),
   * release its runtime state and rootfs, wake waiters, and honour --rm.
   */
  async handleExit(id: string, exitCode: number): Promise<void> {
    if (!this.#store.has(id)) {
      await this.#defaultRuntime.clearExit(id);
      return;
    }
    const inFlight = this.#exitCleanups.get(id);
    if (inFlight) {
      // The same exit reported twice (recovery and the watcher): one handling is enough.
      await inFlight;
      return;
    }
    const cleanup = this.#finishExit(id, exitCode);
    this.#exitCleanups.set(id, cleanup);
    try {
      await cleanup;
    } finally {
      if (this.#exitCleanups.get(id) === cleanup) this.#exitCleanups.delete(id);
    }
    await this.#applyRestartPolicy(id);
    const record = this.#store.has(id) ? this.#current(id) : undefined;
    if (record?.host.autoRemove) {
      await this.remove(id, { force: true, removeVolumes: true }).catch((err: unknown) => {
        if (!(err instanceof NoSuchContainerError)) this.#options.logger.warn('auto-remove failed', { id, error: messageOf(err) });
      });
    }
  }

  async #finishExit(id: string, exitCode: number): Promise<void> {
    const t0 = performance.now();
    const record = this.#current(id);
    const runtime = this.#runtimeOf(record);
    if (!isRunningStatus(record.state.status)) {
      await runtime.clearExit(id);
      return;
    }
    // conmon's oom file says the kernel killed a process of this run for memory.
    const oomKilled = await runtime.wasOomKilled(id).catch(() => false);
    // A VM that ended without the container's exit status (guest panic, QEMU killed) says why in
    // berth-vm's state, which is still there until the delete below; berth-vm's exit status is
    // then 255, so only that status costs the question (and a run too short to have had its
    // accelerator noted, unless --rm leaves nothing to inspect).
    const asksVm = record.host.isolation === 'vm' && (exitCode === 255 || (!record.state.vmAccelerator && !record.host.autoRemove));
    const vm = asksVm ? ((await runtime.annotations?.(id).catch(() => undefined)) ?? {}) : {};
    const vmError = vm[VM_ERROR_ANNOTATION];
    if (vmError) exitCode = 255;
    const vmAccelerator = vm[VM_ACCEL_ANNOTATION] || record.state.vmAccelerator;
    record.state = {
      ...record.state,
      ...(vmError ? { error: vmError } : {}),
      ...(vmAccelerator ? { vmAccelerator } : {}),
      status: 'exited',
      exitCode,
      oomKilled,
      pid: 0,
      conmonPid: 0,
      finishedAt: new Date().toISOString(),
    };
    record.network = undefined;
    await this.#store.save(record);
    // Only now that the record says exited may the exit file go: a crash in between re-reads it.
    await runtime.clearExit(id);
    if (oomKilled) this.#publish(record, 'oom');
    this.#publish(record, 'die', { exitCode: String(exitCode) });
    // Before waiters wake (as dockerd cleans up before it reports the stop): volumes no running
    // container uses any more are unmounted. The container's own binds are in its dead namespace.
    await releaseVolumes(record, this.#store.all(), this.#options.volumes, this.#options.logger);
    this.#wake(id, (c) => c !== 'removed', { statusCode: exitCode, error: undefined });
    // The runtime's state, the rootfs mount and the network are independent: release them at once.
    await Promise.all([
      tearDownNetwork(record, this.#networking)
        .then(() => refreshHostsFiles(this.#networking))
        .catch((err: unknown) => this.#options.logger.warn('network teardown failed', { id, error: messageOf(err) })),
      runtime.delete(id).catch((err: unknown) => this.#options.logger.warn('runtime delete failed', { id, error: messageOf(err) })),
      this.#options.rootfs.unmount(this.pathsOf(id).merged).catch((err: unknown) =>
        this.#options.logger.warn('rootfs unmount failed', { id, error: messageOf(err) }),
      ),
    ]);
    this.#released.add(id);
    this.#options.logger.debug('exit handled', { id, exitCode, cleanupMs: Math.round(performance.now() - t0) });
  }

  // ---- restart policies ------------------------------------------------------

  /** After an exit: mark the container restarting and schedule its start when its policy says so. */
  async #applyRestartPolicy(id: string): Promise<void> {
    if (!this.#store.has(id)) return;
    await this.#lock.run(id, async () => {
      if (!this.#store.has(id)) return;
      const record = this.#current(id);
      if (record.state.status !== 'exited') return;
      const delayMs = this.#restarts.decide(id, {
        policy: record.host.restartPolicy,
        exitCode: record.state.exitCode,
        hasBeenManuallyStopped: record.state.hasBeenManuallyStopped ?? false,
        restartCount: record.state.restartCount,
        ranMs: Date.parse(record.state.finishedAt) - Date.parse(record.state.startedAt),
      });
      if (delayMs === undefined) return;
      record.state = { ...record.state, status: 'restarting' };
      await this.#store.save(record);
      this.#restarts.schedule(id, delayMs, () => void this.#autoRestart(id));
    });
  }

  /** The policy's restart: start again unless a stop, kill or remove came first. */
  async #autoRestart(id: string): Promise<void> {
    if (!this.#store.has(id)) return;
    await this.#lock.run(id, async () => {
      await this.#exitCleanups.get(id);
      if (!this.#store.has(id)) return;
      const record = this.#current(id);
      if (record.state.status !== 'restarting') return;
      record.state = { ...record.state, restartCount: record.state.restartCount + 1 };
      try {
        await this.#startLocked(record);
      } catch (err) {
        this.#options.logger.warn('restart policy: start failed', { id, error: messageOf(err) });
      }
    }).catch((err: unknown) => this.#options.logger.warn('restart policy failed', { id, error: messageOf(err) }));
  }

  /**
   * A stop, kill or remove of a container waiting for its policy's restart: the restart is
   * cancelled and it stays exited. Returns false when no restart was pending. Caller holds the lock.
   */
  async #cancelPendingRestart(record: ContainerRecord): Promise<boolean> {
    if (record.state.status !== 'restarting') return false;
    this.#restarts.clear(record.id);
    record.state = { ...record.state, status: 'exited', hasBeenManuallyStopped: true };
    await this.#store.save(record);
    return true;
  }

  /** Mark the next exit as asked for: no policy restart after it, and `unless-stopped` stays down. */
  #markManualStop(record: ContainerRecord): void {
    this.#restarts.cancelNext(record.id);
    record.state = { ...record.state, hasBeenManuallyStopped: true };
  }

  // ---- stop, kill, restart -------------------------------------------------

  /** Send the stop signal, then SIGKILL after the timeout. A stopped container answers NotModified. */
  async stop(ref: string, options: { signal?: string; timeoutSec?: number }): Promise<void> {
    const record = this.get(ref);
    await this.#lock.run(record.id, async () => {
      const current = this.#current(record.id);
      if (await this.#cancelPendingRestart(current)) return;
      if (!isRunningStatus(current.state.status)) throw new NotModifiedError();
      this.#markManualStop(current);
      await this.#resumeIfPaused(current);
      await this.#stopLocked(current, options);
    });
  }

  async #stopLocked(record: ContainerRecord, options: { signal?: string; timeoutSec?: number }): Promise<void> {
    const signal = normalizeSignal(options.signal || record.settings.stopSignal || 'SIGTERM');
    const timeoutSec = options.timeoutSec ?? record.settings.stopTimeoutSec ?? 10;
    const exited = this.#waitExit(record.id);
    if (timeoutSec !== 0) {
      await this.#runtimeOf(record).kill(record.id, signal).catch(() => {});
      if (timeoutSec < 0) {
        await exited;
        return;
      }
      if (await withTimeout(exited, timeoutSec * 1000)) return;
    }
    await this.#runtimeOf(record).kill(record.id, 'SIGKILL').catch(() => {});
    if (!(await withTimeout(exited, 30_000))) {
      throw new BerthError('internal', 'BERTH_STOP_TIMEOUT', `container ${record.id} did not exit after SIGKILL`);
    }
  }

  /** A promise settled at the next exit of the container (already settled if it is not running). */
  #waitExit(id: string): Promise<WaitResult> {
    const record = this.#current(id);
    if (!isRunningStatus(record.state.status)) return Promise.resolve({ statusCode: record.state.exitCode, error: undefined });
    return new Promise((resolve) => this.#addWaiter(id, { condition: 'next-exit', resolve }));
  }

  /** Send a signal (default SIGKILL) to the container's main process. */
  async kill(ref: string, signalInput = 'SIGKILL'): Promise<void> {
    const record = this.get(ref);
    const signal = normalizeSignal(signalInput);
    if (record.state.status === 'restarting') {
      // dockerd: killing a container between policy restarts only keeps it down.
      await this.withLock(record.id, () => this.#cancelPendingRestart(this.#current(record.id)));
      return;
    }
    if (!isRunningStatus(record.state.status)) throw new ContainerNotRunningError(record.id, 'kill');
    // dockerd: without a custom stop signal any kill, else one with the stop signal, counts as a manual stop.
    const stopSignal = record.settings.stopSignal;
    const isStopLike = stopSignal === '' ? true : signal !== 'SIGKILL' && normalizeSignal(stopSignal) === signal;
    if (isStopLike) this.#markManualStop(record);
    await this.#runtimeOf(record).kill(record.id, signal);
    // A frozen process only dies once thawed.
    if (isStopLike && record.state.status === 'paused') await this.withLock(record.id, () => this.#resumeIfPaused(this.#current(record.id)));
    this.#publish(record, 'kill', { signal: String(SIGNALS[signal] ?? signal) });
  }

  async restart(ref: string, options: { signal?: string; timeoutSec?: number }): Promise<void> {
    const id = this.get(ref).id;
    await this.#lock.run(id, async () => {
      const record = this.#current(id);
      await this.#cancelPendingRestart(record);
      await this.#resumeIfPaused(record);
      if (isRunningStatus(record.state.status)) await this.#stopLocked(record, options);
      await this.#exitCleanups.get(id);
      this.#restarts.reset(id);
      const next = this.#current(id);
      next.state = { ...next.state, restartCount: 0, hasBeenManuallyStopped: false };
      await this.#startLocked(next);
    });
    this.#publish(this.#current(id), 'restart');
  }

  // ---- wait -----------------------------------------------------------------

  /**
   * Wait for a condition. The returned promise settles when it holds; `ready` settles once the
   * waiter is registered, so callers can answer HTTP headers before the container starts.
   */
  wait(ref: string, condition: WaitCondition): Promise<WaitResult> {
    const record = this.get(ref);
    if (condition === 'not-running' && !isRunningStatus(record.state.status)) {
      return Promise.resolve({ statusCode: record.state.exitCode, error: undefined });
    }
    return new Promise((resolve) => this.#addWaiter(record.id, { condition, resolve }));
  }

  #addWaiter(id: string, waiter: Waiter): void {
    const list = this.#waiters.get(id) ?? [];
    list.push(waiter);
    this.#waiters.set(id, list);
  }

  #wake(id: string, matches: (condition: WaitCondition) => boolean, result: WaitResult): void {
    const list = this.#waiters.get(id);
    if (!list) return;
    const keep = list.filter((w) => !matches(w.condition));
    for (const waiter of list) if (matches(waiter.condition)) waiter.resolve(result);
    if (keep.length > 0) this.#waiters.set(id, keep);
    else this.#waiters.delete(id);
  }

  // ---- remove ---------------------------------------------------------------

  /** Remove a container; a running one only with `force` (it is killed first). */
  async remove(ref: string, options: { force: boolean; removeVolumes: boolean }): Promise<void> {
    const id = this.get(ref).id;
    await this.#lock.run(id, async () => {
      if (!this.#store.has(id)) throw new NoSuchContainerError(ref);
      const record = this.#current(id);
      if (options.force) await this.#cancelPendingRestart(record);
      if (isRunningStatus(record.state.status)) {
        if (!options.force) throw new ContainerRunningError(record.name);
        const exited = this.#waitExit(id);
        this.#markManualStop(record);
        await this.#runtimeOf(record).kill(id, 'SIGKILL').catch(() => {});
        await this.#resumeIfPaused(record).catch(() => {});
        if (!(await withTimeout(exited, 30_000))) {
          throw new BerthError('internal', 'BERTH_KILL_TIMEOUT', `could not kill running container ${id}, cannot remove`);
        }
      }
      await this.#exitCleanups.get(id);
      const runtime = this.#runtimeOf(record);
      // After an exit handled by this process the runtime state and mount are already gone.
      if (!this.#released.has(id)) {
        await runtime.delete(id).catch(() => {});
        await this.#options.rootfs.unmount(this.pathsOf(id).merged);
      }
      if (this.#options.networks?.namespaceOf(id) !== undefined) await tearDownNetwork(record, this.#networking);
      this.#released.delete(id);
      const last = this.#current(id);
      await this.#store.remove(id);
      await releaseVolumes(last, this.#store.all(), this.#options.volumes, this.#options.logger);
      this.#restarts.forget(id);
      if (options.removeVolumes) await removeAnonymousVolumes(last.host.mounts, this.#store.all(), this.#options.volumes, (name) => this.#options.events.publish('volume', 'destroy', name, { driver: 'local' }));
      await runtime.clearExit(id).catch(() => {});
      for (const pending of this.#pendingAttaches.get(id) ?? []) pending.resolve(undefined);
      this.#pendingAttaches.delete(id);
      this.#publish(last, 'destroy');
      this.#wake(id, () => true, { statusCode: last.state.exitCode, error: undefined });
    });
  }

  /** Remove every stopped container matching the filters (`until`, `label`). */
  async prune(filters: Record<string, string[]>): Promise<{ deleted: string[]; spaceReclaimedBytes: number }> {
    const deleted: string[] = [];
    let space = 0;
    for (const record of this.#store.all()) {
      if (isRunningStatus(record.state.status)) continue;
      if (!matchesLabelFilters(record.settings.labels, filters['label'] ?? [])) continue;
      const until = filters['until']?.[0];
      if (until !== undefined && Date.parse(record.created) >= parseUntil(until)) continue;
      space += await directorySize(this.pathsOf(record.id).upper);
      await this.remove(record.id, { force: false, removeVolumes: false }).then(
        () => deleted.push(record.id),
        (err: unknown) => this.#options.logger.warn('prune: remove failed', { id: record.id, error: messageOf(err) }),
      );
    }
    return { deleted, spaceReclaimedBytes: space };
  }

  // ---- list, top, logs ------------------------------------------------------

  /** Containers matching docker's `ps` options, newest first. */
  async list(options: ListOptions): Promise<ContainerRecord[]> {
    const filters = options.filters;
    for (const key of Object.keys(filters)) {
      if (!LIST_FILTERS.has(key)) throw new InvalidArgumentError(`invalid filter '${key}'`);
    }
    let records = this.#store.all().sort((a, b) => b.created.localeCompare(a.created));
    const hasStatusFilter = (filters['status']?.length ?? 0) > 0 || (filters['exited']?.length ?? 0) > 0;
    if (!options.all && !hasStatusFilter) records = records.filter((r) => isRunningStatus(r.state.status));
    const imageIds = new Map<string, string>();
    for (const ref of filters['ancestor'] ?? []) {
      const image = await this.#options.images.get(ref).catch(() => undefined);
      if (image) imageIds.set(image.id, ref);
    }
    records = records.filter((record) => {
      const statuses = filters['status'];
      if (statuses?.length && !statuses.includes(record.state.status)) return false;
      const exited = filters['exited'];
      if (exited?.length && !(record.state.status === 'exited' && exited.includes(String(record.state.exitCode)))) return false;
      const names = filters['name'];
      if (names?.length && !names.some((n) => new RegExp(n.replace(/^\//, '')).test(record.name))) return false;
      const ids = filters['id'];
      if (ids?.length && !ids.some((i) => record.id.startsWith(i))) return false;
      if (filters['ancestor']?.length && !imageIds.has(record.imageId)) return false;
      if (!matchesLabelFilters(record.settings.labels, filters['label'] ?? [])) return false;
      return true;
    });
    if (options.limit > 0) records = records.slice(0, options.limit);
    return records;
  }

  /** The container's processes as `ps` shows them, rows limited to the container's host PIDs. */
  async top(ref: string, psArgs: string): Promise<{ titles: string[]; processes: string[][] }> {
    const record = this.get(ref);
    if (!isRunningStatus(record.state.status)) {
      throw new BerthError('conflict', 'BERTH_CONTAINER_NOT_RUNNING', `container ${record.id} is not running`);
    }
    const runtime = this.#runtimeOf(record);
    const args = psArgs.trim() === '' ? ['-ef'] : psArgs.trim().split(/\s+/);
    // A VM container's processes run in its guest: the host sees only the shim and QEMU.
    const isGuest = record.host.isolation === 'vm' && runtime.guestProcesses !== undefined;
    const pids = new Set(isGuest ? [] : (await runtime.listPids(record.id)).map(String));
    const result = isGuest ? await runtime.guestProcesses!(record.id, args) : await runCommand('ps', args);
    if (result.exitCode !== 0) throw new InvalidArgumentError(`ps: ${result.stderr.trim() || 'failed'}`);
    const lines = result.stdout.split('\n').filter((l) => l.trim() !== '');
    const header = lines[0] ?? '';
    const titles = header.trim().split(/\s+/);
    const pidColumn = titles.indexOf('PID');
    if (pidColumn < 0) throw new InvalidArgumentError("Couldn't find PID field in ps output");
    const processes: string[][] = [];
    for (const line of lines.slice(1)) {
      const fields = line.trim().split(/\s+/);
      if (!isGuest && !pids.has(fields[pidColumn] ?? '')) continue;
      // The last column (the command) may contain spaces: keep it whole.
      const head = fields.slice(0, titles.length - 1);
      const tail = fields.slice(titles.length - 1).join(' ');
      processes.push([...head, tail]);
    }
    return { titles, processes };
  }

  /** The container's log records, following new ones until it stops when `follow`. */
  logs(ref: string, options: Omit<LogReadOptions, 'signal'>, signal: AbortSignal): { tty: boolean; entries: AsyncIterable<LogEntry> } {
    const record = this.get(ref);
    const controller = new AbortController();
    signal.addEventListener('abort', () => controller.abort(), { once: true });
    if (options.follow) {
      if (!isRunningStatus(record.state.status)) {
        options = { ...options, follow: false };
      } else {
        // Following ends when the container exits (after the remaining records are read).
        void this.#waitExit(record.id).then(() => setTimeout(() => controller.abort(), 50));
      }
    }
    const entries = this.#runtimeOf(record).readLogs(this.pathsOf(record.id).logPath, { ...options, signal: controller.signal });
    return { tty: record.settings.tty, entries };
  }

  /** Resize the container's tty; docker answers a stopped container with 409. */
  async resize(ref: string, height: number, width: number): Promise<void> {
    const record = this.get(ref);
    if (!isRunningStatus(record.state.status)) throw new ContainerNotRunningError(record.id, 'resize');
    await this.#runtimeOf(record).resize(record.id, height, width);
  }

  /** Attach to the container's stdio through conmon. */
  async attach(ref: string, options: AttachRequest): Promise<{ record: ContainerRecord; session: AttachSession }> {
    const record = this.get(ref);
    const session = await this.#runtimeOf(record).attach(record.id, { ...options, tty: record.settings.tty });
    this.#publish(record, 'attach');
    return { record, session };
  }

  /**
   * Attach for a client that connected before start (what `docker run` does): the session is
   * opened at the next start, after conmon exists and before the process runs its command, so
   * no output is lost. Resolves undefined when the container goes away or the client does.
   */
  attachAtStart(ref: string, options: AttachRequest, signal: AbortSignal): Promise<AttachSession | undefined> {
    const record = this.get(ref);
    // docker logs the attach when the client asks for it: `docker run` shows create, attach, start.
    this.#publish(record, 'attach');
    return new Promise((resolve, reject) => {
      const pending: PendingAttach = { request: options, resolve, reject };
      const list = this.#pendingAttaches.get(record.id) ?? [];
      list.push(pending);
      this.#pendingAttaches.set(record.id, list);
      signal.addEventListener('abort', () => {
        const current = this.#pendingAttaches.get(record.id)?.filter((p) => p !== pending) ?? [];
        if (current.length > 0) this.#pendingAttaches.set(record.id, current);
        else this.#pendingAttaches.delete(record.id);
        resolve(undefined);
      }, { once: true });
    });
  }

  async #connectPendingAttaches(record: ContainerRecord): Promise<void> {
    const pending = this.#pendingAttaches.get(record.id) ?? [];
    this.#pendingAttaches.delete(record.id);
    for (const attach of pending) {
      try {
        attach.resolve(await this.#runtimeOf(record).attach(record.id, { ...attach.request, tty: record.settings.tty }));
      } catch (err) {
        attach.reject(err);
      }
    }
  }

  // ---- recovery -------------------------------------------------------------

  /**
   * After a daemon start: reconcile every record with what the runtime and conmon's exit
   * files say. Containers still running stay running; ones that exited meanwhile get their
   * real exit code; --rm containers that exited are removed.
   */
  async recover(): Promise<void> {
    const { logger } = this.#options;
    for (const record of this.#store.all()) {
      const runtime = this.#runtimeOf(record);
      if (record.state.status === 'removing') {
        await this.remove(record.id, { force: true, removeVolumes: true }).catch(() => {});
        continue;
      }
      // dockerd at its start: `always` containers come back, `unless-stopped` ones unless a user stopped them.
      const policy = record.host.restartPolicy.name;
      const comesBack = policy === 'always' || (policy === 'unless-stopped' && !record.state.hasBeenManuallyStopped);
      if (record.state.status === 'restarting' || (record.state.status === 'exited' && comesBack)) {
        record.state = { ...record.state, status: 'restarting' };
        await this.#store.save(record);
        this.#restarts.schedule(record.id, 0, () => void this.#autoRestart(record.id));
        continue;
      }
      if (!isRunningStatus(record.state.status)) continue;
      const exitCode = await runtime.exitCode(record.id);
      if (exitCode !== undefined) {
        await this.handleExit(record.id, exitCode);
        continue;
      }
      const status = await runtime.state(record.id).catch(() => undefined);
      if (status === 'running' || status === 'paused' || status === 'created') continue;
      logger.warn('container lost while the daemon was down; marking it exited', { id: record.id });
      record.state = { ...record.state, error: 'container state lost while the daemon was down' };
      await this.#store.save(record);
      await this.handleExit(record.id, 255);
    }
  }

  // ---- pause, unpause, rename, update --------------------------------------

  /** Freeze a running container's processes (cgroup freezer). docker's 409s for the other states. */
  async pause(ref: string): Promise<void> {
    const id = this.get(ref).id;
    await this.withLock(id, async () => {
      const record = this.#current(id);
      if (record.state.status === 'paused') throw new ConflictError('BERTH_CONTAINER_PAUSED', `Container ${id} is already paused`);
      if (record.state.status !== 'running') throw new ConflictError('BERTH_CONTAINER_NOT_RUNNING', `Container ${id} is not running`);
      await this.#runtimeOf(record).pause(id);
      record.state = { ...record.state, status: 'paused' };
      await this.#store.save(record);
      this.#publish(record, 'pause');
    });
  }

  /** Thaw a paused container. */
  async unpause(ref: string): Promise<void> {
    const id = this.get(ref).id;
    await this.withLock(id, async () => {
      const record = this.#current(id);
      if (record.state.status !== 'paused') throw new ConflictError('BERTH_CONTAINER_NOT_PAUSED', `Container ${id} is not paused`);
      await this.#resumeIfPaused(record);
      this.#publish(record, 'unpause');
    });
  }

  /** Thaw `record` if it is paused, so a signal can end it. Caller holds the lock. */
  async #resumeIfPaused(record: ContainerRecord): Promise<void> {
    if (record.state.status !== 'paused') return;
    await this.#runtimeOf(record).resume(record.id);
    record.state = { ...record.state, status: 'running' };
    await this.#store.save(record);
  }

  /** Give a container a new name; docker's refusals for an empty, unchanged or taken name. */
  async rename(ref: string, newNameInput: string): Promise<void> {
    const record = this.get(ref);
    const newName = newNameInput.replace(/^\//, '');
    if (newName === '') throw new InvalidArgumentError('Neither old nor new names may be empty');
    if (!CONTAINER_NAME.test(newNameInput)) {
      throw new InvalidArgumentError(`Invalid container name (${newNameInput}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`);
    }
    await this.withLock(record.id, async () => {
      const current = this.#current(record.id);
      const oldName = current.name;
      if (oldName === newName) throw new InvalidArgumentError('Renaming a container with the same name as its current name');
      const holder = this.#store.findByName(newName);
      if (holder || this.#creatingNames.has(newName)) throw new NameInUseError(newName, holder?.id ?? 'being created');
      current.name = newName;
      try {
        await this.#store.save(current);
      } catch (err) {
        current.name = oldName;
        throw err;
      }
      this.#publish(current, 'rename', { oldName: `/${oldName}` });
    });
  }

  /**
   * docker update: new limits and/or restart policy. A running container's cgroup changes
   * first (through the runtime); the record only after that succeeded.
   */
  async update(ref: string, change: { resources: ResourceUpdate; restartPolicy?: HostSettings['restartPolicy'] }): Promise<{ warnings: string[] }> {
    const id = this.get(ref).id;
    return this.withLock(id, async () => {
      const record = this.#current(id);
      if (change.restartPolicy && change.restartPolicy.name !== 'no' && record.host.autoRemove) {
        throw new InvalidArgumentError('Restart policy cannot be updated because AutoRemove is enabled for the container');
      }
      const { next, changed } = applyResourceUpdate(id, record.host, change.resources);
      if (Object.keys(changed).length > 0 && (record.state.status === 'running' || record.state.status === 'paused')) {
        await this.#runtimeOf(record).update(id, changed);
      }
      record.host = { ...record.host, ...next, ...(change.restartPolicy ? { restartPolicy: change.restartPolicy } : {}) };
      await this.#store.save(record);
      this.#publish(record, 'update');
      return { warnings: [] };
    });
  }

  // ---- for the engine's other services (exec, archive, volumes...) ---------------

  /** The runtime that runs this container. */
  runtimeFor(record: ContainerRecord): RuntimePort {
    return this.#runtimeOf(record);
  }

  /** Persist a changed record (atomically). Callers hold the container's lock. */
  saveRecord(record: ContainerRecord): Promise<void> {
    return this.#store.save(record);
  }

  /** Run `operation` under the container's lock, after any exit cleanup under way. */
  withLock<T>(id: string, operation: () => Promise<T>): Promise<T> {
    return this.#lock.run(id, async () => {
      await this.#exitCleanups.get(id);
      return operation();
    });
  }

  /** Publish a container event with docker's attributes (labels, image, name). */
  publishEvent(record: ContainerRecord, action: string, extra: Record<string, string> = {}): void {
    this.#publish(record, action, extra);
  }

  // ---- helpers --------------------------------------------------------------

  get #networking(): NetworkingContext {
    return { port: this.#options.networks, get: (ref) => this.get(ref), all: () => this.all(), userdataOf: (id) => this.pathsOf(id).userdata };
  }

  /** The runtime a container was created with. */
  #runtimeOf(record: ContainerRecord): RuntimePort {
    const runtime = this.#options.runtimes[record.host.runtime] ?? this.#options.runtimes[this.#options.defaultRuntime];
    if (!runtime) throw new BerthError('internal', 'BERTH_NO_RUNTIME', `runtime ${record.host.runtime} is not configured`);
    return runtime;
  }

  get #defaultRuntime(): RuntimePort {
    const runtime = this.#options.runtimes[this.#options.defaultRuntime];
    if (!runtime) throw new BerthError('internal', 'BERTH_NO_RUNTIME', `runtime ${this.#options.defaultRuntime} is not configured`);
    return runtime;
  }

  #current(id: string): ContainerRecord {
    const record = this.#store.resolve(id);
    return record;
  }

  #publish(record: ContainerRecord, action: string, extra: Record<string, string> = {}): void {
    const image = record.settings.imageRef;
    this.#options.events.publish('container', action, record.id, { ...record.settings.labels, image, name: record.name, ...extra });
  }
}

const LIST_FILTERS = new Set(['status', 'label', 'name', 'id', 'ancestor', 'exited', 'before', 'since', 'health', 'isolation', 'network', 'publish', 'expose', 'volume', 'is-task']);

/** Merge the user's create settings with the image's defaults, as docker's daemon does. */
export function mergeWithImage(
  input: CreateContainerInput,
  image: NonNullable<import('./ports.js').EngineImage['config']['config']>,
): ContainerSettings {
  const userEntrypoint = input.entrypoint;
  const entrypointCleared = userEntrypoint !== null && (userEntrypoint.length === 0 || (userEntrypoint.length === 1 && userEntrypoint[0] === ''));
  let entrypoint: string[] | null;
  let cmd: string[];
  if (userEntrypoint !== null && !entrypointCleared) {
    entrypoint = userEntrypoint;
    cmd = input.cmd ?? [];
  } else {
    entrypoint = entrypointCleared ? null : (image.Entrypoint ?? null);
    cmd = input.cmd !== null && input.cmd.length > 0 ? input.cmd : entrypointCleared ? (input.cmd ?? []) : (image.Cmd ?? []);
  }
  const env = mergeEnv(image.Env ?? [], input.env);
  return {
    hostname: input.hostname,
    domainname: input.domainname,
    user: input.user || image.User || '',
    env,
    cmd,
    entrypoint,
    workingDir: input.workingDir || image.WorkingDir || '',
    labels: { ...(image.Labels ?? {}), ...input.labels },
    tty: input.tty,
    openStdin: input.openStdin,
    stdinOnce: input.stdinOnce,
    attachStdin: input.attachStdin,
    attachStdout: input.attachStdout,
    attachStderr: input.attachStderr,
    stopSignal: input.stopSignal || image.StopSignal || '',
    stopTimeoutSec: input.stopTimeoutSec,
    exposedPorts: { ...((image.ExposedPorts ?? {}) as Record<string, Record<string, never>>), ...input.exposedPorts },
    volumes: { ...((image.Volumes ?? {}) as Record<string, Record<string, never>>), ...input.volumes },
    imageRef: input.imageRef,
  };
}

/** Image env first, then the user's; a user entry replaces the image's entry of the same name. */
export function mergeEnv(imageEnv: string[], userEnv: string[]): string[] {
  const keyOf = (entry: string): string => entry.split('=')[0] ?? entry;
  const userKeys = new Set(userEnv.map(keyOf));
  return [...imageEnv.filter((e) => !userKeys.has(keyOf(e))), ...userEnv];
}

function exitCodeForStartError(err: unknown): number {
  if (err instanceof BerthError) {
    if (err.code === 'BERTH_COMMAND_NOT_FOUND') return 127;
    if (err.code === 'BERTH_CANNOT_INVOKE') return 126;
  }
  return 128;
}

function matchesLabelFilters(labels: Record<string, string>, filters: string[]): boolean {
  return filters.every((filter) => {
    const at = filter.indexOf('=');
    if (at < 0) return filter in labels;
    return labels[filter.slice(0, at)] === filter.slice(at + 1);
  });
}

function parseUntil(value: string): number {
  if (/^\d+(\.\d+)?$/.test(value)) return Number(value) * 1000;
  const parsed = Date.parse(value);
  if (!Number.isNaN(parsed)) return parsed;
  const match = /^(\d+)([smh])$/.exec(value);
  if (match) return Date.now() - Number(match[1]) * { s: 1000, m: 60_000, h: 3_600_000 }[match[2] as 's' | 'm' | 'h'];
  throw new InvalidArgumentError(`invalid filter 'until=${value}'`);
}

async function withTimeout<T>(promise: Promise<T>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  const done = promise.then(() => true as const);
  const result = await Promise.race([done, timeout]);
  clearTimeout(timer);
  return result;
}

async function directorySize(dir: string): Promise<number> {
  const result = await runCommand('du', ['-sb', dir]);
  const bytes = Number(result.stdout.split(/\s/)[0]);
  if (Number.isFinite(bytes)) return bytes;
  try {
    return (await stat(dir)).size;
  } catch {
    return 0;
  }
}
