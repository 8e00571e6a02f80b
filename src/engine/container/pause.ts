/** Pause and unpause: the cgroup freezer, with docker's 409s for the other states. */
import { ConflictError, crashPoint } from '../../common/index.js';
import type { ContainerRecord } from '../container.js';
import { ContainerNotRunningError } from '../errors.js';
import type { ContainerContext } from './context.js';
import { healthWhenStopped, stopHealthWatch, watchHealth } from './health-monitor.js';

/** Freeze a running container's processes (cgroup freezer). docker's 409s for the other states. */
export async function pause(ctx: ContainerContext, ref: string): Promise<void> {
  const id = ctx.store.resolve(ref).id;
  await ctx.withLock(id, async () => {
    const record = ctx.current(id);
    if (record.state.status === 'paused') throw new ConflictError('BERTH_CONTAINER_PAUSED', `Container ${id} is already paused`);
    if (record.state.status !== 'running') throw new ContainerNotRunningError(id);
    await stopHealthWatch(ctx, id).settled;
    await ctx.runtimeOf(record).pause(id);
    crashPoint('pause.frozen');
    const health = healthWhenStopped(record.state.health);
    record.state = { ...record.state, status: 'paused', ...(health ? { health } : {}) };
    await ctx.store.save(record);
    ctx.publish(record, 'pause');
  });
}

/** Thaw a paused container. */
export async function unpause(ctx: ContainerContext, ref: string): Promise<void> {
  const id = ctx.store.resolve(ref).id;
  await ctx.withLock(id, async () => {
    const record = ctx.current(id);
    if (record.state.status !== 'paused') throw new ConflictError('BERTH_CONTAINER_NOT_PAUSED', `Container ${id} is not paused`);
    await resumeIfPaused(ctx, record);
    ctx.publish(record, 'unpause');
    // dockerd's unpause resumes the loop; the status stays what the pause left until a probe says otherwise.
    watchHealth(ctx, record);
  });
}

/** Thaw `record` if it is paused, so a signal can end it. Caller holds the lock. */
export async function resumeIfPaused(ctx: ContainerContext, record: ContainerRecord): Promise<void> {
  if (record.state.status !== 'paused') return;
  await ctx.runtimeOf(record).resume(record.id);
  record.state = { ...record.state, status: 'running' };
  await ctx.store.save(record);
}
