/**
 * The container service: create, start, stop, kill, wait, remove, list, inspect, logs, top and
 * prune, with docker's semantics. It owns the container records; the runtime (conmon + an OCI
 * runtime) owns the processes, the image store owns the layers. Every operation on one
 * container runs under that container's lock; a failing step undoes the earlier ones.
 *
 * This class is the service's face; each operation lives in its own file under container/,
 * all of them sharing one ContainerContext.
 */
import type { ContainerRecord } from './container.js';
import { ContainerStore, type UnreadableRecord } from './container-store.js';
import type { EventBus } from './events.js';
import type { AttachSession, LogRecord, LogReadOptions, Runtime } from './ports.js';
import { attach, attachAtStart, resize } from './container/attach.js';
import { ContainerContext, type AttachRequest, type ContainerPaths, type ContainerServiceOptions, type WaitCondition, type WaitResult } from './container/context.js';
import { create, type CreateContainerInput } from './container/create.js';
import { handleExit } from './container/exit.js';
import { list, type ListOptions } from './container/list.js';
import { logs } from './container/logs.js';
import { rename } from './container/names.js';
import { pause, unpause } from './container/pause.js';
import { prune } from './container/prune.js';
import { recover } from './container/recover.js';
import { watchMonitors } from './container/monitor-watch.js';
import { remove, type RemoveOptions } from './container/remove.js';
import { start } from './container/start.js';
import { kill, restart, stop, type StopOptions } from './container/stop.js';
import { top } from './container/top.js';
import { update, type ContainerUpdate } from './container/update.js';
import { wait } from './container/wait.js';

export type { AttachRequest, ContainerPaths, ContainerServiceOptions, WaitCondition, WaitResult } from './container/context.js';
export { mergeEnv, mergeWithImage, newCreateInput, type CreateContainerInput } from './container/create.js';
export { healthcheckSettingsOf } from './container/health.js';
export type { ListOptions } from './container/list.js';
export { normalizeSignal } from './container/stop.js';

export class ContainerService {
  readonly #ctx: ContainerContext;

  private constructor(ctx: ContainerContext) {
    this.#ctx = ctx;
  }

  static async open(options: ContainerServiceOptions): Promise<ContainerService> {
    const store = await ContainerStore.open(options.root, options.logger);
    return new ContainerService(new ContainerContext(options, store));
  }

  get events(): EventBus {
    return this.#ctx.options.events;
  }

  /** Find a container by id, name or id prefix. */
  get(ref: string): ContainerRecord {
    return this.#ctx.store.resolve(ref);
  }

  /** Record files found at start that could not be read (each left alone and logged). */
  unreadableRecords(): readonly UnreadableRecord[] {
    return this.#ctx.store.unreadable;
  }

  all(): ContainerRecord[] {
    return this.#ctx.store.all();
  }

  /** Paths of a container's files, for inspect. */
  pathsOf(id: string): ContainerPaths {
    return this.#ctx.pathsOf(id);
  }

  /** Create a container record and its directories; nothing runs yet. */
  create(input: CreateContainerInput): Promise<{ id: string; warnings: string[] }> {
    return create(this.#ctx, input);
  }

  /** Start a created or exited container. A running one answers NotModified (HTTP 304). */
  start(ref: string): Promise<void> {
    return start(this.#ctx, ref);
  }

  /**
   * Record that a container's process exited with `exitCode` (from conmon's exit file),
   * release its runtime state and rootfs, wake waiters, and honour --rm.
   */
  handleExit(id: string, exitCode: number): Promise<void> {
    return handleExit(this.#ctx, id, exitCode);
  }

  /** Send the stop signal, then SIGKILL after the timeout. A stopped container answers NotModified. */
  stop(ref: string, options: StopOptions): Promise<void> {
    return stop(this.#ctx, ref, options);
  }

  /** Send a signal (default SIGKILL) to the container's main process. */
  kill(ref: string, signalInput = 'SIGKILL'): Promise<void> {
    return kill(this.#ctx, ref, signalInput);
  }

  restart(ref: string, options: StopOptions): Promise<void> {
    return restart(this.#ctx, ref, options);
  }

  /** Wait for a condition; the promise settles when it holds. */
  wait(ref: string, condition: WaitCondition): Promise<WaitResult> {
    return wait(this.#ctx, ref, condition);
  }

  /** Remove a container; a running one only with `force` (it is killed first). */
  remove(ref: string, options: RemoveOptions): Promise<void> {
    return remove(this.#ctx, ref, options);
  }

  /** Remove every stopped container matching the filters (`until`, `label`). */
  prune(filters: Record<string, string[]>): Promise<{ deleted: string[]; spaceReclaimedBytes: number }> {
    return prune(this.#ctx, filters);
  }

  /** Containers matching docker's `ps` options, newest first. */
  list(options: ListOptions): Promise<ContainerRecord[]> {
    return list(this.#ctx, options);
  }

  /** The container's processes as `ps` shows them, rows limited to the container's host PIDs. */
  top(ref: string, psArgs: string): Promise<{ titles: string[]; processes: string[][] }> {
    return top(this.#ctx, ref, psArgs);
  }

  /** The container's log records, following new ones until it stops when `follow`. */
  logs(ref: string, options: Omit<LogReadOptions, 'signal'>, signal: AbortSignal): { tty: boolean; entries: AsyncIterable<LogRecord> } {
    return logs(this.#ctx, ref, options, signal);
  }

  /** Resize the container's tty; docker answers a stopped container with 409. */
  resize(ref: string, height: number, width: number): Promise<void> {
    return resize(this.#ctx, ref, height, width);
  }

  /** Attach to the container's stdio through conmon. */
  attach(ref: string, options: AttachRequest): Promise<{ record: ContainerRecord; session: AttachSession }> {
    return attach(this.#ctx, ref, options);
  }

  /**
   * Attach for a client that connected before start (what `docker run` does): the session is
   * opened at the next start. Resolves undefined when the container goes away or the client does.
   */
  attachAtStart(ref: string, options: AttachRequest, signal: AbortSignal): Promise<AttachSession | undefined> {
    return attachAtStart(this.#ctx, ref, options, signal);
  }

  /** After a daemon start: reconcile every record with what the runtime and conmon's exit files say. */
  recover(): Promise<void> {
    return recover(this.#ctx);
  }

  /** Watch running containers' monitors (conmon); one that dies without reporting ends its container. Returns the stop. */
  watchMonitors(): () => void {
    return watchMonitors(this.#ctx);
  }

  /** Freeze a running container's processes (cgroup freezer). docker's 409s for the other states. */
  pause(ref: string): Promise<void> {
    return pause(this.#ctx, ref);
  }

  /** Thaw a paused container. */
  unpause(ref: string): Promise<void> {
    return unpause(this.#ctx, ref);
  }

  /** Give a container a new name; docker's refusals for an empty, unchanged or taken name. */
  rename(ref: string, newName: string): Promise<void> {
    return rename(this.#ctx, ref, newName);
  }

  /** docker update: new limits and/or restart policy. */
  update(ref: string, change: ContainerUpdate): Promise<{ warnings: string[] }> {
    return update(this.#ctx, ref, change);
  }

  // ---- for the engine's other services (exec, archive, volumes...) ---------------

  /** The runtime that runs this container. */
  runtimeFor(record: ContainerRecord): Runtime {
    return this.#ctx.runtimeOf(record);
  }

  /** Persist a changed record (atomically). Callers hold the container's lock. */
  saveRecord(record: ContainerRecord): Promise<void> {
    return this.#ctx.store.save(record);
  }

  /** Run `operation` under the container's lock, after any exit cleanup under way. */
  withLock<T>(id: string, operation: () => Promise<T>): Promise<T> {
    return this.#ctx.withLock(id, operation);
  }

  /** Settles once a runtime start under way for `id` has returned (at once when none is). */
  untilStarted(id: string): Promise<void> {
    return this.#ctx.untilStarted(id);
  }

  /** Publish a container event with docker's attributes (labels, image, name). */
  publishEvent(record: ContainerRecord, action: string, extra: Record<string, string> = {}): void {
    this.#ctx.publish(record, action, extra);
  }
}
