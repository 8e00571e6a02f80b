/**
 * Monitor watch: conmon reports each container's exit; if conmon itself dies (killed, OOM) the
 * exit would never be reported, and the container would stay "running" with `stop` hanging.
 * This watch notices a dead monitor, ends the unwatched container, and records why.
 */
import { messageOf } from '../../common/index.js';
import { isProcessAlive } from '../../sys/index.js';
import { isRunningStatus } from '../container.js';
import type { ContainerContext } from './context.js';
import { handleExit } from './exit.js';

/** How often running containers' monitors are looked at: one kill(pid, 0) each. */
const WATCH_INTERVAL_MS = 1000;

/** Why a container ended when its monitor died under it. */
export const MONITOR_LOST_ERROR = "the container's monitor (conmon) died without reporting the exit; the container was killed";

/** Start watching; the returned function stops it. */
export function watchMonitors(ctx: ContainerContext): () => void {
  const checking = new Set<string>();
  const timer = setInterval(() => {
    for (const record of ctx.store.all()) {
      const { conmonPid } = record.state;
      if (!isRunningStatus(record.state.status) || !conmonPid || isProcessAlive(conmonPid) || checking.has(record.id)) continue;
      checking.add(record.id);
      void monitorLost(ctx, record.id, conmonPid)
        .catch((err: unknown) => ctx.options.logger.warn('handling a lost monitor failed', { id: record.id, error: messageOf(err) }))
        .finally(() => checking.delete(record.id));
    }
  }, WATCH_INTERVAL_MS);
  timer.unref();
  return () => clearInterval(timer);
}

/** `conmonPid` of container `id` is gone: record the exit it wrote, or end the container and say why. */
export async function monitorLost(ctx: ContainerContext, id: string, conmonPid: number): Promise<void> {
  if (!ctx.store.has(id)) return;
  const record = ctx.current(id);
  if (!isRunningStatus(record.state.status) || record.state.conmonPid !== conmonPid) return;
  const runtime = ctx.runtimeOf(record);
  // A normal exit: conmon wrote the file and left; the exit watcher may not have seen it yet.
  const reported = await runtime.exitCode(id);
  if (reported !== undefined) {
    await handleExit(ctx, id, reported);
    return;
  }
  ctx.options.logger.warn('the container\'s monitor died without reporting an exit; killing the container', { id, conmonPid });
  await runtime.kill(id, 'SIGKILL').catch(() => {});
  record.state = { ...record.state, error: MONITOR_LOST_ERROR };
  await ctx.store.save(record);
  await handleExit(ctx, id, 137);
}
