/** Restart policies after an exit (exit.ts decides and marks the container restarting): start it again after the policy's delay. */
import { messageOf } from '../../common/index.js';
import type { ContainerContext } from './context.js';
import { startLocked } from './start.js';

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
