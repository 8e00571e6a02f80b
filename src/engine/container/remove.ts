/** Remove: a stopped container, or with `force` a running one (killed first); its runtime state, rootfs, network, volumes and record go. */
import { BerthError, crashPoint } from '../../common/index.js';
import { isRunningStatus } from '../container.js';
import { tearDownNetwork } from '../container-networking.js';
import { ContainerRunningError, NoSuchContainerError } from '../errors.js';
import { releaseVolumes, removeAnonymousVolumes } from '../volume-release.js';
import { dropPendingAttaches } from './attach.js';
import type { ContainerContext } from './context.js';
import { releaseShm } from './ipc-shm.js';
import { cancelPendingRestart, markManualStop } from './manual-stop.js';
import { resumeIfPaused } from './pause.js';
import { wake, waitExit, withTimeout } from './wait.js';

export interface RemoveOptions {
  force: boolean;
  removeVolumes: boolean;
}

/** Remove a container; a running one only with `force` (it is killed first). */
export async function remove(ctx: ContainerContext, ref: string, options: RemoveOptions): Promise<void> {
  const { volumes, rootfs, networks, events, logger } = ctx.options;
  const id = ctx.store.resolve(ref).id;
  await ctx.lock.run(id, async () => {
    if (!ctx.store.has(id)) throw new NoSuchContainerError(ref);
    const record = ctx.current(id);
    if (options.force) await cancelPendingRestart(ctx, record);
    if (isRunningStatus(record.state.status)) {
      if (!options.force) throw new ContainerRunningError(record.name, record.state.status === 'paused' || record.state.status === 'restarting' ? record.state.status : 'running');
      const exited = waitExit(ctx, id);
      markManualStop(ctx, record);
      await ctx.runtimeOf(record).kill(id, 'SIGKILL').catch(() => {});
      await resumeIfPaused(ctx, record).catch(() => {});
      if (!(await withTimeout(exited, 30_000))) {
        throw new BerthError('internal', 'BERTH_KILL_TIMEOUT', `could not kill running container ${id}, cannot remove`);
      }
    }
    await ctx.exitCleanups.get(id);
    const runtime = ctx.runtimeOf(record);
    // After an exit handled by this process the runtime state and mount are already gone.
    if (!ctx.released.has(id)) {
      await runtime.delete(id).catch(() => {});
      crashPoint('rm.runtime-deleted');
      await rootfs.unmount(ctx.pathsOf(id).merged);
      await releaseShm(ctx, record);
      crashPoint('rm.unmounted');
    }
    if (networks?.namespaceOf(id) !== undefined) await tearDownNetwork(record, ctx.networking);
    ctx.released.delete(id);
    const last = ctx.current(id);
    await ctx.store.remove(id);
    await releaseVolumes(last, ctx.store.all(), volumes, logger);
    ctx.restarts.forget(id);
    if (options.removeVolumes) await removeAnonymousVolumes(last.host.mounts, ctx.store.all(), volumes, (name) => events.publish('volume', 'destroy', name, { driver: 'local' }));
    await runtime.clearExit(id).catch(() => {});
    dropPendingAttaches(ctx, id);
    ctx.publish(last, 'destroy');
    wake(ctx, id, () => true, { statusCode: last.state.exitCode, error: undefined });
  });
}
