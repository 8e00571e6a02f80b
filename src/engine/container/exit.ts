/**
 * Exit: record a run's end (from conmon's exit file), release its runtime state, rootfs,
 * network and volumes, wake waiters, then apply the restart policy and --rm.
 */
import { messageOf } from '../../common/index.js';
import { isRunningStatus } from '../container.js';
import { refreshHostsFiles, tearDownNetwork } from '../container-networking.js';
import { NoSuchContainerError } from '../errors.js';
import { releaseVolumes } from '../volume-release.js';
import { scheduleRestart } from './auto-restart.js';
import type { ContainerContext } from './context.js';
import { healthWhenStopped, stopHealthWatch } from './health-monitor.js';
import { releaseShm } from './ipc-shm.js';
import { remove } from './remove.js';
import { wake } from './wait.js';

/**
 * Record that a container's process exited with `exitCode` (from conmon's exit file),
 * release its runtime state and rootfs, wake waiters, and honour --rm.
 */
export async function handleExit(ctx: ContainerContext, id: string, exitCode: number): Promise<void> {
  if (!ctx.store.has(id)) {
    await ctx.defaultRuntime().clearExit(id);
    return;
  }
  const inFlight = ctx.exitCleanups.get(id);
  if (inFlight) {
    // The same exit reported twice (recovery and the watcher): one handling is enough.
    await inFlight;
    return;
  }
  const cleanup = finishExit(ctx, id, exitCode);
  ctx.exitCleanups.set(id, cleanup);
  try {
    await cleanup;
  } finally {
    if (ctx.exitCleanups.get(id) === cleanup) ctx.exitCleanups.delete(id);
  }
  const record = ctx.store.has(id) ? ctx.current(id) : undefined;
  if (record?.host.autoRemove) {
    await remove(ctx, id, { force: true, removeVolumes: true }).catch((err: unknown) => {
      if (!(err instanceof NoSuchContainerError)) ctx.options.logger.warn('auto-remove failed', { id, error: messageOf(err) });
    });
  }
}

async function finishExit(ctx: ContainerContext, id: string, exitCode: number): Promise<void> {
  const { options } = ctx;
  const t0 = performance.now();
  const record = ctx.current(id);
  const runtime = ctx.runtimeOf(record);
  if (!isRunningStatus(record.state.status)) {
    await runtime.clearExit(id);
    return;
  }
  // The healthcheck loop ends first; a write of its last result lands before the exit's.
  await stopHealthWatch(ctx, id).settled;
  const health = healthWhenStopped(record.state.health);
  // conmon's oom file says the kernel killed a process of this run for memory.
  const oomKilled = await runtime.wasOomKilled(id).catch(() => false);
  // A run that ended without the container's exit status (a VM's guest panic, QEMU killed) says
  // why in the runtime's state, which is still there until the delete below; the runtime's exit
  // status is then 255, so only that status costs the question (and a run too short to have had
  // its accelerator noted, unless --rm leaves nothing to inspect).
  const { exitReasonAnnotation, acceleratorAnnotation } = runtime.traits;
  const hasFacts = exitReasonAnnotation !== undefined || acceleratorAnnotation !== undefined;
  const asks = hasFacts && (exitCode === 255 || (!record.state.vmAccelerator && !record.host.autoRemove));
  const facts = asks ? ((await runtime.state(id).catch(() => undefined))?.annotations ?? {}) : {};
  const vmError = exitReasonAnnotation !== undefined ? facts[exitReasonAnnotation] : undefined;
  if (vmError) exitCode = 255;
  const vmAccelerator = (acceleratorAnnotation !== undefined ? facts[acceleratorAnnotation] : undefined) || record.state.vmAccelerator;
  const finishedAt = ctx.nowIso();
  // The policy decides in the same step as the exit is recorded, as dockerd's does: a container
  // its policy restarts is `restarting` from the first moment, never a stop's `exited` in between.
  const restartDelayMs = ctx.restarts.decide(id, {
    policy: record.host.restartPolicy,
    exitCode,
    hasBeenManuallyStopped: record.state.hasBeenManuallyStopped ?? false,
    restartCount: record.state.restartCount,
    ranMs: Date.parse(finishedAt) - Date.parse(record.state.startedAt),
  });
  record.state = {
    ...record.state,
    ...(vmError ? { error: vmError } : {}),
    ...(vmAccelerator ? { vmAccelerator } : {}),
    ...(health ? { health } : {}),
    status: restartDelayMs === undefined ? 'exited' : 'restarting',
    exitCode,
    oomKilled,
    pid: 0,
    conmonPid: 0,
    finishedAt,
  };
  record.network = undefined;
  // The runtime's state, the rootfs mount and the network are independent of each other and of
  // the record: release them at once, while the record is written. A crash before the record
  // says exited finds the exit file again and repeats these steps, which are idempotent.
  const released = Promise.all([
    tearDownNetwork(record, ctx.networking)
      .then(() => refreshHostsFiles(ctx.networking))
      .catch((err: unknown) => options.logger.warn('network teardown failed', { id, error: messageOf(err) })),
    runtime.delete(id).catch((err: unknown) => options.logger.warn('runtime delete failed', { id, error: messageOf(err) })),
    options.rootfs.unmount(ctx.pathsOf(id).merged).catch((err: unknown) =>
      options.logger.warn('rootfs unmount failed', { id, error: messageOf(err) }),
    ),
    releaseShm(ctx, record).catch((err: unknown) => options.logger.warn('shm unmount failed', { id, error: messageOf(err) })),
  ]);
  try {
    await ctx.store.save(record);
  } catch (err) {
    await released;
    throw err;
  }
  // Only now that the record says exited may the exit file go: a crash in between re-reads it.
  await runtime.clearExit(id);
  if (oomKilled) ctx.publish(record, 'oom');
  ctx.publish(record, 'die', { exitCode: String(exitCode) });
  // Before waiters wake (as dockerd cleans up before it reports the stop): volumes no running
  // container uses any more are unmounted. The container's own binds are in its dead namespace.
  await releaseVolumes(record, ctx.store.all(), options.volumes, options.logger);
  wake(ctx, id, (c) => c !== 'removed', { statusCode: exitCode, error: undefined });
  await released;
  ctx.released.add(id);
  // The restart waits for this cleanup; a stop, kill or rm before it fires keeps the container down.
  if (restartDelayMs !== undefined) scheduleRestart(ctx, id, restartDelayMs);
  options.logger.debug('exit handled', { id, exitCode, cleanupMs: Math.round(performance.now() - t0) });
}
