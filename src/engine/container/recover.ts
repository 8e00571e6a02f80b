/**
 * Recovery after a daemon start: each record reconciled with what the runtime and conmon's exit
 * files say, and what a daemon killed mid-operation left behind repaired (each repair logged).
 */
import { rm } from 'node:fs/promises';
import { messageOf } from '../../common/index.js';
import { readMountInfo } from '../../sys/index.js';
import { isRunningStatus, type ContainerRecord } from '../container.js';
import { tearDownNetwork } from '../container-networking.js';
import { logFileOptionsOf, logPolicyOf } from '../log-config.js';
import { scheduleRestart } from './auto-restart.js';
import type { ContainerContext } from './context.js';
import { watchHealth } from './health-monitor.js';
import { handleExit } from './exit.js';
import { releaseShm } from './ipc-shm.js';
import { remove } from './remove.js';

/**
 * After a daemon start: reconcile every record with what the runtime and conmon's exit
 * files say. Containers still running stay running; ones that exited meanwhile get their
 * real exit code; --rm containers that exited are removed. What an interrupted operation left
 * is repaired first: directories without a record go, a start cut short is undone, a freezer
 * left by a commit or pause is thawed.
 */
export async function recover(ctx: ContainerContext): Promise<void> {
  const { logger } = ctx.options;
  const mountPoints = new Set((await readMountInfo().catch(() => [])).map((entry) => entry.mountPoint));
  await removeDebris(ctx, mountPoints);
  for (const record of ctx.store.all()) {
    const runtime = ctx.runtimeOf(record);
    if (record.state.status === 'removing') {
      await remove(ctx, record.id, { force: true, removeVolumes: true }).catch(() => {});
      continue;
    }
    if (!isRunningStatus(record.state.status) && mountPoints.has(ctx.pathsOf(record.id).merged)) {
      await undoStartCutShort(ctx, record);
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
    const status = (await runtime.state(record.id).catch(() => undefined))?.status;
    if (status === 'running' || status === 'paused' || status === 'created') {
      await runtime.keepLogRotated(record.id, ctx.pathsOf(record.id).logPath, logFileOptionsOf(logPolicyOf(record.host.logConfig))).catch((err: unknown) =>
        logger.warn('cannot rotate the log of a recovered container', { id: record.id, error: messageOf(err) }),
      );
    }
    if (status === 'paused' && record.state.status !== 'paused') {
      // A commit or pause cut short between freezing and its record: the user never saw it paused.
      await runtime.resume(record.id).then(
        () => logger.info('thawed a container a cut-short commit or pause left frozen', { id: record.id }),
        (err: unknown) => logger.warn('could not thaw a container left frozen', { id: record.id, error: messageOf(err) }),
      );
      continue;
    }
    if (status === 'running' && record.state.status === 'paused') {
      // An unpause cut short between thawing and its record.
      record.state = { ...record.state, status: 'running' };
      await ctx.store.save(record);
      watchHealth(ctx, record);
      continue;
    }
    if (status === 'created') {
      // A start cut short after its record said running and before the runtime's start: finish it.
      await runtime.start(record.id).then(
        () => {
          logger.info('finished a start cut short by the daemon\'s end', { id: record.id });
          watchHealth(ctx, record);
        },
        (err: unknown) => logger.warn('could not finish a start cut short', { id: record.id, error: messageOf(err) }),
      );
      continue;
    }
    // A running container's healthcheck goes on from the status last written.
    if (status === 'running') watchHealth(ctx, record);
    if (status === 'running' || status === 'paused') continue;
    logger.warn('container lost while the daemon was down; marking it exited', { id: record.id });
    record.state = { ...record.state, error: 'container state lost while the daemon was down' };
    await ctx.store.save(record);
    await handleExit(ctx, record.id, 255);
  }
}

/**
 * Container directories without a record (a create cut short before its record, a remove cut
 * short after it): whatever is mounted below them is unmounted, then they go.
 */
async function removeDebris(ctx: ContainerContext, mountPoints: ReadonlySet<string>): Promise<void> {
  const { logger, rootfs } = ctx.options;
  for (const id of ctx.store.debris.splice(0)) {
    const dir = ctx.store.dirOf(id);
    try {
      const below = [...mountPoints].filter((point) => point === dir || point.startsWith(`${dir}/`)).sort().reverse();
      for (const point of below) await rootfs.unmount(point);
      // conmon's directory and any cgroup of a container that never got further.
      await ctx.defaultRuntime().delete(id).catch(() => {});
      await rm(dir, { recursive: true, force: true });
      logger.info('removed a container directory without a record', { id });
    } catch (err) {
      logger.warn('could not remove a container directory without a record', { id, error: messageOf(err) });
    }
  }
}

/**
 * A record that is not running while its rootfs is mounted: a start was cut short after the mount
 * (and perhaps after the runtime's create and the network's set-up). Undo those steps so the
 * container is as before the start, and a new start works.
 */
async function undoStartCutShort(ctx: ContainerContext, record: ContainerRecord): Promise<void> {
  const { logger, rootfs, networks } = ctx.options;
  await ctx.runtimeOf(record).delete(record.id).catch((err: unknown) => logger.warn('runtime delete failed', { id: record.id, error: messageOf(err) }));
  if (networks?.namespaceOf(record.id) !== undefined) {
    await tearDownNetwork(record, ctx.networking).catch((err: unknown) => logger.warn('network teardown failed', { id: record.id, error: messageOf(err) }));
  }
  await rootfs.unmount(ctx.pathsOf(record.id).merged).catch((err: unknown) => logger.warn('rootfs unmount failed', { id: record.id, error: messageOf(err) }));
  await releaseShm(ctx, record).catch((err: unknown) => logger.warn('shm unmount failed', { id: record.id, error: messageOf(err) }));
  logger.info('undid a start cut short by the daemon\'s end', { id: record.id });
}
