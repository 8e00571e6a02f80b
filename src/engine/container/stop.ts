/** Stop, kill and restart: signals through the runtime, docker's timeouts, and the marks they leave for the restart policy. */
import { constants as osConstants } from 'node:os';
import { BerthError, crashPoint, InvalidArgumentError } from '../../common/index.js';
import { isRunningStatus, type ContainerRecord } from '../container.js';
import { ContainerNotRunningError, NotModifiedError } from '../errors.js';
import type { ContainerContext } from './context.js';
import { cancelPendingRestart, markManualStop } from './manual-stop.js';
import { resumeIfPaused } from './pause.js';
import { startLocked } from './start.js';
import { waitExit, withTimeout } from './wait.js';

export interface StopOptions {
  signal?: string;
  timeoutSec?: number;
}

const SIGNALS: Record<string, number> = osConstants.signals as Record<string, number>;

/** Normalise `TERM`, `SIGTERM` or `15` to `SIGTERM`; throw docker's error for anything else. */
export function normalizeSignal(input: string): string {
  const text = input.trim().toUpperCase();
  if (/^\d+$/.test(text)) {
    const number = Number(text);
    const name = Object.keys(SIGNALS).find((key) => SIGNALS[key] === number);
    if (name && number > 0) return name;
  } else {
    const name = text.startsWith('SIG') ? text : `SIG${text}`;
    if (name in SIGNALS) return name;
  }
  throw new InvalidArgumentError(`Invalid signal: ${input}`);
}

/** Send the stop signal, then SIGKILL after the timeout. A stopped container answers NotModified. */
export async function stop(ctx: ContainerContext, ref: string, options: StopOptions): Promise<void> {
  const record = ctx.store.resolve(ref);
  await ctx.lock.run(record.id, async () => {
    const current = ctx.current(record.id);
    if (await cancelPendingRestart(ctx, current)) return;
    if (!isRunningStatus(current.state.status)) throw new NotModifiedError();
    markManualStop(ctx, current);
    await resumeIfPaused(ctx, current);
    await stopLocked(ctx, current, options);
  });
}

async function stopLocked(ctx: ContainerContext, record: ContainerRecord, options: StopOptions): Promise<void> {
  const signal = normalizeSignal(options.signal || record.settings.stopSignal || 'SIGTERM');
  const timeoutSec = options.timeoutSec ?? record.settings.stopTimeoutSec ?? 10;
  const exited = waitExit(ctx, record.id);
  if (timeoutSec !== 0) {
    await ctx.runtimeOf(record).kill(record.id, signal).catch(() => {});
    crashPoint('stop.signalled');
    if (timeoutSec < 0) {
      await exited;
      return;
    }
    if (await withTimeout(exited, timeoutSec * 1000)) return;
  }
  await ctx.runtimeOf(record).kill(record.id, 'SIGKILL').catch(() => {});
  if (!(await withTimeout(exited, 30_000))) {
    throw new BerthError('internal', 'BERTH_STOP_TIMEOUT', `container ${record.id} did not exit after SIGKILL`);
  }
}

/** How long a SIGKILL's kill waits for the exit to be recorded (dockerd waits 10 s too). */
const KILL_WAIT_MS = 10_000;

/**
 * Send a signal (default SIGKILL) to the container's main process. A SIGKILL returns only once
 * the exit is recorded, as dockerd's does: an inspect right after shows the container exited (137).
 */
export async function kill(ctx: ContainerContext, ref: string, signalInput = 'SIGKILL'): Promise<void> {
  const record = ctx.store.resolve(ref);
  const signal = normalizeSignal(signalInput);
  if (record.state.status === 'restarting') {
    // dockerd: killing a container between policy restarts only keeps it down.
    await ctx.withLock(record.id, () => cancelPendingRestart(ctx, ctx.current(record.id)));
    return;
  }
  if (!isRunningStatus(record.state.status)) throw new ContainerNotRunningError(record.id, 'kill');
  // dockerd (daemon/kill.go): SIGKILL, any signal without a custom stop signal, or the stop
  // signal itself ends the run for good (no policy restart after it); every kill marks the
  // container manually stopped, which keeps an `unless-stopped` one down.
  const stopSignal = record.settings.stopSignal;
  const isStopLike = stopSignal === '' || signal === 'SIGKILL' || normalizeSignal(stopSignal) === signal;
  if (isStopLike) markManualStop(ctx, record);
  else record.state = { ...record.state, hasBeenManuallyStopped: true };
  const exited = signal === 'SIGKILL' ? waitExit(ctx, record.id) : undefined;
  await ctx.runtimeOf(record).kill(record.id, signal);
  // A frozen process only dies once thawed.
  if (isStopLike && record.state.status === 'paused') await ctx.withLock(record.id, () => resumeIfPaused(ctx, ctx.current(record.id)));
  ctx.publish(record, 'kill', { signal: String(SIGNALS[signal] ?? signal) });
  if (exited && !(await withTimeout(exited, KILL_WAIT_MS))) {
    ctx.options.logger.warn('kill: the container had not exited 10 s after SIGKILL', { id: record.id });
  }
}

/** Stop the container if it runs, then start a new run (restart count and manual-stop mark reset). */
export async function restart(ctx: ContainerContext, ref: string, options: StopOptions): Promise<void> {
  const id = ctx.store.resolve(ref).id;
  await ctx.lock.run(id, async () => {
    const record = ctx.current(id);
    await cancelPendingRestart(ctx, record);
    await resumeIfPaused(ctx, record);
    if (isRunningStatus(record.state.status)) await stopLocked(ctx, record, options);
    await ctx.exitCleanups.get(id);
    ctx.restarts.reset(id);
    const next = ctx.current(id);
    next.state = { ...next.state, restartCount: 0, hasBeenManuallyStopped: false };
    await startLocked(ctx, next);
  });
  ctx.publish(ctx.current(id), 'restart');
}
