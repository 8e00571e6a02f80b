/** The marks a user's stop, kill or remove leaves for the restart policy. */
import type { ContainerRecord } from '../container.js';
import type { ContainerContext } from './context.js';

/**
 * A stop, kill or remove of a container waiting for its policy's restart: the restart is
 * cancelled and it stays exited. Returns false when no restart was pending. Caller holds the lock.
 */
export async function cancelPendingRestart(ctx: ContainerContext, record: ContainerRecord): Promise<boolean> {
  if (record.state.status !== 'restarting') return false;
  ctx.restarts.clear(record.id);
  record.state = { ...record.state, status: 'exited', hasBeenManuallyStopped: true };
  await ctx.store.save(record);
  return true;
}

/** Mark the next exit as asked for: no policy restart after it, and `unless-stopped` stays down. */
export function markManualStop(ctx: ContainerContext, record: ContainerRecord): void {
  ctx.restarts.cancelNext(record.id);
  record.state = { ...record.state, hasBeenManuallyStopped: true };
}
