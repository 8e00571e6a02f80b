/**
 * Start: mount the rootfs, prepare mounts and the network, create the process through the
 * runtime, connect the attaches waiting for it, then let it run. A failing step undoes the
 * earlier ones and leaves the container created (never ran) or exited (ran before).
 */
import type { ContainerMount } from '../ports.js';
import { BerthError, crashPoint, messageOf } from '../../common/index.js';
import { isRunningStatus, ZERO_TIME, type ContainerRecord } from '../container.js';
import { beginNetworkSetUp, refreshHostsFiles, tearDownNetwork } from '../container-networking.js';
import { NotModifiedError } from '../errors.js';
import { prepareMounts } from '../mounts-at-start.js';
import { connectPendingAttaches, dropPendingAttaches } from './attach.js';
import type { ContainerContext } from './context.js';
import { healthAtStart, watchHealth } from './health-monitor.js';
import { remove } from './remove.js';
import { runtimeCreateOf } from './runtime-settings.js';
import { findOrUndefined, pidNamespaceToJoin } from '../shared-namespaces.js';
import { prepareIpc, releaseShm } from './ipc-shm.js';
import { linkEnvironmentAtStart } from '../legacy-links.js';

/** How long after its start a run's accelerator is asked for. */
const ACCELERATOR_DELAY_MS = 1000;

/** Start a created or exited container. A running one answers NotModified (HTTP 304). */
export async function start(ctx: ContainerContext, ref: string): Promise<void> {
  const id = ctx.store.resolve(ref).id;
  try {
    await ctx.lock.run(id, async () => {
      await ctx.exitCleanups.get(id);
      const record = ctx.current(id);
      if (isRunningStatus(record.state.status)) throw new NotModifiedError();
      // A user's start begins a new run: restart counting and the manual-stop mark start over, as in dockerd.
      ctx.restarts.reset(id);
      record.state = { ...record.state, restartCount: 0, hasBeenManuallyStopped: false };
      await startLocked(ctx, record);
    });
  } catch (err) {
    // As dockerd: an --rm container that fails to start is removed (the CLI waits for it).
    const record = ctx.store.has(id) ? ctx.current(id) : undefined;
    if (record?.host.autoRemove && !isRunningStatus(record.state.status) && !(err instanceof NotModifiedError)) {
      await remove(ctx, id, { force: true, removeVolumes: true }).catch(() => {});
    }
    throw err;
  }
}

/** Start `record`'s next run. Caller holds the container's lock. */
export async function startLocked(ctx: ContainerContext, record: ContainerRecord): Promise<void> {
  const { images, rootfs } = ctx.options;
  const runtime = ctx.runtimeOf(record);
  const paths = ctx.pathsOf(record.id);
  await runtime.clearExit(record.id);
  const before = record.state;
  // A daemon killed after an exit's record and before the runtime's delete leaves the runtime's
  // state behind, and a create would find it there: a container that ran before, whose release
  // this process did not see, gets a delete first (nothing to delete is no error).
  if (before.startedAt !== ZERO_TIME && !ctx.released.has(record.id)) await runtime.delete(record.id).catch(() => {});
  ctx.released.delete(record.id);
  const t0 = performance.now();
  let mounted = false;
  let networked = false;
  let networkJoined: Promise<unknown> = Promise.resolve();
  let startReturned = (): void => {};
  try {
    // Before anything is mounted: a donor that is gone or stopped fails the start at once. A
    // runtime that lists processes itself runs them where the host cannot join them (a VM's guest).
    const lookup = (ref: string): ContainerRecord | undefined => findOrUndefined((r) => ctx.store.resolve(r), ref);
    const pidNamespacePath = pidNamespaceToJoin(record.host, lookup, (target) => ctx.runtimeOf(target).traits.listsProcesses) ?? record.host.pidNamespacePath;
    const ipc = await prepareIpc(ctx, record, lookup);
    const ipcNamespacePath = ipc.namespacePath ?? record.host.ipcNamespacePath;
    const lowerDirs = await images.lowerDirs(record.imageId);
    await rootfs.mount({ lowerDirs, upperDir: paths.upper, workDir: paths.work, mergedDir: paths.merged });
    mounted = true;
    crashPoint('start.mounted');
    const mounts = await prepareMounts(record.host.mounts ?? [], { volumes: ctx.options.volumes, rootfsDir: paths.merged, hostTools: ctx.options.hostTools });
    const init = initOf(ctx, record);
    if (init) mounts.push(init.mount);
    if (ipc.shmMount) mounts.push(ipc.shmMount);
    const tMounted = performance.now();
    networked = true;
    const network = beginNetworkSetUp(record, ctx.networking);
    networkJoined = network.joined;
    // The command waits for start, so a runtime that can take networks while running needs no
    // interfaces at create: the container is created while the CNI plugins run. A net.* sysctl
    // may name an interface (crun sets it at create), and legacy links read the container's
    // endpoints for their variables, so such a container waits for them.
    const createsBeforeJoined = runtime.traits.hotPlugsNetworks
      && !Object.keys(record.host.sysctls ?? {}).some((key) => key.startsWith('net.'))
      && (record.host.links ?? []).length === 0;
    const networkNamespace = await (createsBeforeJoined ? network.namespace : network.joined);
    // The container's own variables win over the link ones, as in dockerd.
    const own = new Set(record.settings.env.map((entry) => entry.split('=')[0]));
    const linkEnv = linkEnvironmentAtStart(record, lookup).filter((entry) => !own.has(entry.split('=')[0]));
    const create = runtimeCreateOf(record, {
      bundleDir: paths.bundle,
      rootfsDir: paths.merged,
      logPath: paths.logPath,
      userdataDir: paths.userdata,
      args: [...(init?.argsBefore ?? []), record.path, ...record.args],
      env: [...linkEnv, ...record.settings.env],
      mounts,
      networkNamespace,
      pidNamespacePath,
      ipcNamespacePath,
    });
    const [created, joined] = await Promise.allSettled([runtime.create(create.settings, create.options), network.joined]);
    // The network's failure first: without the overlap it would have come before the create.
    if (joined.status === 'rejected') throw joined.reason;
    if (created.status === 'rejected') throw created.reason;
    const { pid, conmonPid } = created.value;
    crashPoint('start.runtime-created');
    const { vmAccelerator: _lastRunAccelerator, health: _lastRunHealth, ...lastState } = record.state;
    const health = healthAtStart(record);
    // From here the record says running; an exec or top waits until the runtime's start returns.
    ctx.startsInFlight.set(record.id, new Promise<void>((resolve) => (startReturned = resolve)));
    record.state = { ...lastState, ...(health ? { health } : {}), status: 'running', pid, conmonPid, error: '', exitCode: 0, oomKilled: false, startedAt: ctx.nowIso(), finishedAt: ZERO_TIME };
    // Persist before the process runs its command, so a crash right now still knows the container
    // runs; the waiting attaches connect meanwhile (both must be done before the command runs).
    await Promise.all([
      ctx.store.save(record).then(() => crashPoint('start.recorded')),
      connectPendingAttaches(ctx, record),
    ]);
    await refreshHostsFiles(ctx.networking, record);
    const tCreated = performance.now();
    await runtime.start(record.id);
    ctx.options.logger.debug('started', {
      id: record.id,
      mountMs: Math.round(tMounted - t0),
      createMs: Math.round(tCreated - tMounted),
      startMs: Math.round(performance.now() - tCreated),
    });
  } catch (err) {
    await runtime.delete(record.id).catch(() => {});
    if (mounted) await rootfs.unmount(paths.merged).catch(() => {});
    if (networked) {
      // A set-up still under way finishes first, so the teardown finds (and record.network keeps) nothing of it.
      await networkJoined.catch(() => {});
      await tearDownNetwork(record, ctx.networking).catch(() => {});
    }
    await releaseShm(ctx, record).catch(() => {});
    dropPendingAttaches(ctx, record.id);
    const exitCode = exitCodeForStartError(err);
    // A container that never ran stays created, as docker's does; one that ran before is exited.
    const status = before.startedAt === ZERO_TIME ? 'created' : 'exited';
    record.state = { ...before, status, pid: 0, conmonPid: 0, exitCode, error: messageOf(err) };
    await ctx.store.save(record).catch(() => {});
    throw err;
  } finally {
    ctx.startsInFlight.delete(record.id);
    startReturned();
  }
  ctx.publish(record, 'start');
  watchHealth(ctx, record);
  // Asking the runtime (berth-vm) costs a process start: not on the start's path, and not at all
  // for a container that is done within a second (its exit reads it, when anyone can still inspect it).
  const annotation = runtime.traits.acceleratorAnnotation;
  if (annotation !== undefined) {
    const startedAt = record.state.startedAt;
    setTimeout(() => void noteAccelerator(ctx, record.id, startedAt, annotation), ACCELERATOR_DELAY_MS).unref();
  }
}

/** Record the accelerator a run got (the runtime's `annotation`), if that run still goes on. */
async function noteAccelerator(ctx: ContainerContext, id: string, startedAt: string, annotation: string): Promise<void> {
  if (!ctx.store.has(id)) return;
  const before = ctx.current(id);
  if (before.state.startedAt !== startedAt || !isRunningStatus(before.state.status)) return;
  const runtime = ctx.runtimeOf(before);
  const annotations = (await runtime.state(id).catch(() => undefined))?.annotations;
  const accelerator = annotations?.[annotation];
  if (!accelerator) return;
  await ctx.lock.run(id, async () => {
    if (!ctx.store.has(id)) return;
    const record = ctx.current(id);
    if (record.state.startedAt !== startedAt || !isRunningStatus(record.state.status)) return;
    record.state = { ...record.state, vmAccelerator: accelerator };
    await ctx.store.save(record);
  }).catch((err: unknown) => ctx.options.logger.debug('recording the VM accelerator failed', { id, error: messageOf(err) }));
}

/** Where `--init` puts the daemon's init, as dockerd does. */
const CONTAINER_INIT_PATH = '/sbin/docker-init';

/** `--init`: the init bound read-only into the container and put before its command (`docker-init -- cmd...`). */
function initOf(ctx: ContainerContext, record: ContainerRecord): { mount: ContainerMount; argsBefore: string[] } | undefined {
  const path = ctx.options.init?.path;
  if (!record.host.init || path === undefined) return undefined;
  return {
    mount: { type: 'bind', source: path, destination: CONTAINER_INIT_PATH, isReadOnly: true, options: ['rprivate'] },
    argsBefore: [CONTAINER_INIT_PATH, '--'],
  };
}

/** The exit code a run that failed to start records: docker's 127 and 126, else 128. */
function exitCodeForStartError(err: unknown): number {
  if (err instanceof BerthError) {
    if (err.code === 'BERTH_COMMAND_NOT_FOUND') return 127;
    if (err.code === 'BERTH_CANNOT_INVOKE') return 126;
  }
  return 128;
}
