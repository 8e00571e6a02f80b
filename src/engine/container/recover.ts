/** Recovery after a daemon start: each record reconciled with what the runtime and conmon's exit files say. */
import { isRunningStatus } from '../container.js';
import { scheduleRestart } from './auto-restart.js';
import type { ContainerContext } from './context.js';
import { handleExit } from './exit.js';
import { remove } from './remove.js';

/**
 * After a daemon start: reconcile every record with what the runtime and conmon's exit
 * files say. Containers still running stay running; ones that exited meanwhile get their
 * real exit code; --rm containers that exited are removed.
 */
export async function recover(ctx: ContainerContext): Promise<void> {
  const { logger } = ctx.options;
  for (const record of ctx.store.all()) {
    const runtime = ctx.runtimeOf(record);
    if (record.state.status === 'removing') {
      await remove(ctx, record.id, { force: true, removeVolumes: true }).catch(() => {});
      continue;
    }
    // dockerd at its start: `always` containers come back, `unless-stopped` ones unless a user stopped them.
    const policy = record.host.restartPolicy.name;
    const comesBack = policy === 'always' || (policy === 'unless-stopped' && !record.state.hasBeenManuallyStopped);
    if (record.state.status === 'restarting' || (record.state.status === 'exited' && comesBack)) {
      record.state = { ...record.state, status: 'restarting' };
      await ctx.store.save(record);
      scheduleRestart(ctx, record.id, 0);
      continue;
    }
    if (!isRunningStatus(record.state.status)) continue;
    const exitCode = await runtime.exitCode(record.id);
    if (exitCode !== undefined) {
      await handleExit(ctx, record.id, exitCode);
      continue;
    }
    const status = await runtime.state(record.id).catch(() => undefined);
    if (status === 'running' || status === 'paused' || status === 'created') continue;
    logger.warn('container lost while the daemon was down; marking it exited', { id: record.id });
    record.state = { ...record.state, error: 'container state lost while the daemon was down' };
    await ctx.store.save(record);
    await handleExit(ctx, record.id, 255);
  }
}
