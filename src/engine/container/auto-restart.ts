/** Restart policies after an exit: mark the container restarting and start it again after the policy's delay. */
import { messageOf } from '../../common/index.js';
import type { ContainerContext } from './context.js';
import { startLocked } from './start.js';

/** After an exit: mark the container restarting and schedule its start when its policy says so. */
export async function applyRestartPolicy(ctx: ContainerContext, id: string): Promise<void> {
  if (!ctx.store.has(id)) return;
  await ctx.lock.run(id, async () => {
    if (!ctx.store.has(id)) return;
    const record = ctx.current(id);
    if (record.state.status !== 'exited') return;
    const delayMs = ctx.restarts.decide(id, {
      policy: record.host.restartPolicy,
      exitCode: record.state.exitCode,
      hasBeenManuallyStopped: record.state.hasBeenManuallyStopped ?? false,
      restartCount: record.state.restartCount,
      ranMs: Date.parse(record.state.finishedAt) - Date.parse(record.state.startedAt),
    });
    if (delayMs === undefined) return;
    record.state = { ...record.state, status: 'restarting' };
    await ctx.store.save(record);
    scheduleRestart(ctx, id, delayMs);
  });
}

/** Start `id` again after `delayMs`, unless a stop, kill or remove comes first. */
export function scheduleRestart(ctx: ContainerContext, id: string, delayMs: number): void {
  ctx.restarts.schedule(id, delayMs, () => void autoRestart(ctx, id));
}

/** The policy's restart: start again unless a stop, kill or remove came first. */
async function autoRestart(ctx: ContainerContext, id: string): Promise<void> {
  if (!ctx.store.has(id)) return;
  await ctx.lock.run(id, async () => {
    await ctx.exitCleanups.get(id);
    if (!ctx.store.has(id)) return;
    const record = ctx.current(id);
    if (record.state.status !== 'restarting') return;
    record.state = { ...record.state, restartCount: record.state.restartCount + 1 };
    try {
      await startLocked(ctx, record);
    } catch (err) {
      ctx.options.logger.warn('restart policy: start failed', { id, error: messageOf(err) });
    }
  }).catch((err: unknown) => ctx.options.logger.warn('restart policy failed', { id, error: messageOf(err) }));
}
