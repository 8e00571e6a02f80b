/**
 * What every container operation shares: the daemon's options, the record store, the per-container
 * lock, and the in-memory state of runs under way (waiters, exit cleanups, names being created,
 * attaches waiting for a start, restart backoff). One instance per ContainerService.
 */
import { join } from 'node:path';
import type { Stream } from 'node:stream';
import { BerthError, KeyedLock, type Logger } from '../../common/index.js';
import type { HostTools, Mounter } from '../../sys/index.js';
import type { ContainerRecord } from '../container.js';
import type { ContainerStore } from '../container-store.js';
import type { NetworkingContext } from '../container-networking.js';
import type { EventBus } from '../events.js';
import type { AttachSession, ImagePort, NetworkPort, RootfsPort, Runtime, VolumePort } from '../ports.js';
import { RestartTracker } from '../restart-policy.js';
import { systemClock, type EngineClock } from '../clock.js';
import type { HealthWatch } from './health.js';
import type { CgroupFeatures } from '../resources.js';

export interface ContainerServiceOptions {
  root: string;
  execRoot: string;
  defaultRuntime: string;
  knownRuntimes: readonly string[];
  /** What `--isolation=default` (or none) means on this daemon (`berthd --default-isolation`); process when absent. */
  defaultIsolation?: 'process' | 'vm';
  /** `--init`: the static init bound into containers as /sbin/docker-init, and whether containers that do not say get it (`berthd --init`). */
  init?: { path: string; isDefault: boolean };
  images: ImagePort;
  rootfs: RootfsPort;
  /** One runtime per name (`crun`, `runc`); a container uses the one it was created with. */
  runtimes: Readonly<Record<string, Runtime>>;
  events: EventBus;
  logger: Logger;
  /** The volume store; without it, containers that need volumes cannot be created. */
  volumes?: VolumePort;
  /** The network service; without it every container gets a namespace with loopback only. */
  networks?: NetworkPort;
  /** The time records carry and restart timers run on; the system's when absent (tests inject their own). */
  clock?: EngineClock;
  /** What this host's cgroups can apply beyond the basics (swappiness, real-time, block I/O); none when absent. */
  cgroupFeatures?: CgroupFeatures;
  /** The host programs top, prune and volume copy-up run (ps, du, cp). */
  hostTools: HostTools;
  /** Host mounts beside the rootfs: the tmpfs behind a `--ipc shareable` container's /dev/shm; without it, such a container cannot start. */
  hostMounter?: Mounter;
}

export type WaitCondition = 'not-running' | 'next-exit' | 'removed';

export interface WaitResult {
  statusCode: number;
  error: string | undefined;
}

/** What an attach asks for: stdin forwarded, and the client's connection watched for a hang-up. */
export interface AttachRequest {
  stdin: boolean;
  /** The API client's socket: the session ends as soon as it is closed (a half-close only ends stdin). */
  client?: Stream;
  /**
   * The session reads stdin from `client` itself once `input` ends, keeping berthd off the data
   * path: the caller writes into `input` only what it had already read from the connection
   * (takeOverReading), then ends it. Only with stdin, no tty and a shareable `client`.
   */
  stdinFromClient?: boolean;
}

export interface PendingAttach {
  request: AttachRequest;
  resolve: (session: AttachSession | undefined) => void;
  reject: (err: unknown) => void;
}

export interface Waiter {
  condition: WaitCondition;
  resolve: (result: WaitResult) => void;
}

/** Where a container's files live, below its directory in the daemon's root. */
export interface ContainerPaths {
  dir: string;
  logPath: string;
  userdata: string;
  upper: string;
  work: string;
  merged: string;
  bundle: string;
  /** `--ipc shareable`: the host tmpfs the container's /dev/shm is, which joiners bind too. */
  shm: string;
}

/** The state the operations in this folder share; it holds no logic beyond lookups. */
export class ContainerContext {
  readonly options: ContainerServiceOptions;
  readonly store: ContainerStore;
  readonly lock = new KeyedLock();
  readonly waiters = new Map<string, Waiter[]>();
  /** Cleanup after an exit still under way; a start waits for it. */
  readonly exitCleanups = new Map<string, Promise<void>>();
  /**
   * Runtime starts under way. The record says running before the runtime's start returns (a
   * crash then still knows the container runs), but a VM's guest takes an exec or a `ps` only
   * once its process has started: those wait here first.
   */
  readonly startsInFlight = new Map<string, Promise<void>>();
  readonly creatingNames = new Set<string>();
  readonly pendingAttaches = new Map<string, PendingAttach[]>();
  /** Containers whose runtime state and rootfs this process released after their last exit. */
  readonly released = new Set<string>();
  /** Restart-policy backoff and asked-for exits (stop, kill), per container. */
  readonly restarts: RestartTracker;
  /** The healthcheck loops of running containers. */
  readonly healthWatches = new Map<string, HealthWatch>();
  readonly clock: EngineClock;

  constructor(options: ContainerServiceOptions, store: ContainerStore) {
    this.options = options;
    this.store = store;
    this.clock = options.clock ?? systemClock;
    this.restarts = new RestartTracker(this.clock);
  }

  /** Now as RFC 3339, for the times records carry. */
  nowIso(): string {
    return new Date(this.clock.now()).toISOString();
  }

  /** The record of `id` as stored now (throws NoSuchContainer once it is gone). */
  current(id: string): ContainerRecord {
    return this.store.resolve(id);
  }

  pathsOf(id: string): ContainerPaths {
    const dir = this.store.dirOf(id);
    const namedLogPath = this.store.has(id) ? this.store.resolve(id).host.logPath : undefined;
    return {
      dir,
      logPath: namedLogPath ?? join(dir, 'ctr.log'),
      userdata: join(dir, 'userdata'),
      upper: join(dir, 'upper'),
      work: join(dir, 'work'),
      merged: join(dir, 'merged'),
      bundle: join(dir, 'bundle'),
      shm: join(dir, 'shm'),
    };
  }

  /** The runtime a container was created with (or whose host settings name it). */
  runtimeOf(record: { host: { runtime: string } }): Runtime {
    const runtime = this.options.runtimes[record.host.runtime] ?? this.options.runtimes[this.options.defaultRuntime];
    if (!runtime) throw new BerthError('internal', 'BERTH_NO_RUNTIME', `runtime ${record.host.runtime} is not configured`);
    return runtime;
  }

  defaultRuntime(): Runtime {
    const runtime = this.options.runtimes[this.options.defaultRuntime];
    if (!runtime) throw new BerthError('internal', 'BERTH_NO_RUNTIME', `runtime ${this.options.defaultRuntime} is not configured`);
    return runtime;
  }

  get networking(): NetworkingContext {
    return {
      port: this.options.networks,
      get: (ref) => this.store.resolve(ref),
      all: () => this.store.all(),
      userdataOf: (id) => this.pathsOf(id).userdata,
      traitsOf: (record) => this.runtimeOf(record).traits,
    };
  }

  /** Settles once the runtime start under way for `id` (if any) has returned, however it ended. */
  async untilStarted(id: string): Promise<void> {
    await this.startsInFlight.get(id);
  }

  /** Run `operation` under the container's lock, after any exit cleanup under way. */
  withLock<T>(id: string, operation: () => Promise<T>): Promise<T> {
    return this.lock.run(id, async () => {
      await this.exitCleanups.get(id);
      return operation();
    });
  }

  /** Publish a container event with docker's attributes (labels, image, name). */
  publish(record: ContainerRecord, action: string, extra: Record<string, string> = {}): void {
    const image = record.settings.imageRef;
    this.options.events.publish('container', action, record.id, { ...record.settings.labels, image, name: record.name, ...extra });
  }
}
