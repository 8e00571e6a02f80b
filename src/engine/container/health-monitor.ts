/**
 * The healthcheck loop of a running container, as dockerd runs it: a probe every interval, each
 * an exec in the container through its runtime (so a VM's probe runs in its guest), killed at
 * its timeout; results move State.Health and a changed status is an event. The loop runs while
 * the container runs unpaused; a stop, pause or exit ends it and, as in dockerd, leaves the
 * status unhealthy. A start (a policy restart too) begins again from `starting`.
 *
 * Every result updates the record in memory (inspect shows it at once); the record is written
 * to disk when the status or the failing streak changes, so a healthy container probed every
 * second costs no disk write, and a berthd restart resumes from the last status written.
 */
import { goDuration, messageOf, newId } from '../../common/index.js';
import type { ContainerRecord, HealthProbeResult, HealthState } from '../container.js';
import type { ContainerContext } from './context.js';
import { nextHealth, nextProbeDelayMs, probeCommand, unknownHealthcheckType, probeTimeoutNs, ProbeOutput, type HealthWatch } from './health.js';

/** The health a start begins with: `starting`, the streak cleared, the log kept (dockerd's initHealthMonitor). Undefined without a probe. */
export function healthAtStart(record: ContainerRecord): HealthState | undefined {
  if (!probeCommand(record.settings.healthcheck) && !unknownHealthcheckType(record.settings.healthcheck)) return undefined;
  return { status: 'starting', failingStreak: 0, log: record.state.health?.log ?? [] };
}

/** Begin (or resume, after a berthd restart or an unpause) probing a running container. */
export function watchHealth(ctx: ContainerContext, record: ContainerRecord): void {
  void stopHealthWatch(ctx, record.id);
  const unknownType = unknownHealthcheckType(record.settings.healthcheck);
  if (unknownType !== undefined && record.state.status === 'running') {
    ctx.options.logger.warn(`Unknown healthcheck type '${unknownType}' (expected 'CMD') in container ${record.id}`);
  }
  if (!probeCommand(record.settings.healthcheck) || record.state.status !== 'running') return;
  if (!record.state.health) record.state = { ...record.state, health: { status: 'starting', failingStreak: 0, log: [] } };
  const watch: HealthWatch = { runStartedAt: record.state.startedAt, timer: undefined, killProbe: undefined, saving: undefined, isStopped: false };
  ctx.healthWatches.set(record.id, watch);
  scheduleProbe(ctx, record.id, watch);
}

/**
 * End a container's loop (its probe under way is killed). Resolves once a write of its last
 * change is done, so the caller's own write of the record comes after it. Returns whether a
 * loop was running: dockerd then marks the container unhealthy.
 */
export function stopHealthWatch(ctx: ContainerContext, id: string): { wasWatching: boolean; settled: Promise<void> } {
  const watch = ctx.healthWatches.get(id);
  if (!watch) return { wasWatching: false, settled: Promise.resolve() };
  ctx.healthWatches.delete(id);
  watch.isStopped = true;
  watch.timer?.cancel();
  watch.killProbe?.();
  return { wasWatching: true, settled: watch.saving ?? Promise.resolve() };
}

/** dockerd's status once the loop stops ("unhealthy when the monitor has stopped"). */
export function healthWhenStopped(health: HealthState | undefined): HealthState | undefined {
  return health ? { ...health, status: 'unhealthy' } : undefined;
}

function scheduleProbe(ctx: ContainerContext, id: string, watch: HealthWatch): void {
  if (watch.isStopped) return;
  const record = ctx.store.has(id) ? ctx.current(id) : undefined;
  if (!record?.settings.healthcheck) return;
  const sinceStartMs = ctx.clock.now() - Date.parse(watch.runStartedAt);
  const delayMs = nextProbeDelayMs(record.settings.healthcheck, record.state.health?.status ?? 'starting', sinceStartMs);
  watch.timer = ctx.clock.schedule(delayMs, () => {
    watch.timer = undefined;
    void probeOnce(ctx, id, watch).then(
      () => scheduleProbe(ctx, id, watch),
      (err: unknown) => {
        ctx.options.logger.warn('healthcheck failed', { id, error: messageOf(err) });
        scheduleProbe(ctx, id, watch);
      },
    );
  });
}

/** Run one probe and record its result. */
async function probeOnce(ctx: ContainerContext, id: string, watch: HealthWatch): Promise<void> {
  if (watch.isStopped || !ctx.store.has(id)) return;
  const record = ctx.current(id);
  const settings = record.settings.healthcheck;
  const command = probeCommand(settings);
  if (!settings || !command || record.state.status !== 'running') return;
  const result = await runProbe(ctx, record, command, probeTimeoutNs(settings), watch);
  if (watch.isStopped || !ctx.store.has(id)) return;
  const current = ctx.current(id);
  if (current.state.status !== 'running' || current.state.startedAt !== watch.runStartedAt) return;
  const before = current.state.health ?? { status: 'starting', failingStreak: 0, log: [] };
  const after = nextHealth(before, result, settings, Date.parse(watch.runStartedAt));
  current.state = { ...current.state, health: after };
  if (after.status === before.status && after.failingStreak === before.failingStreak) return;
  // Not under the container's lock: an exit handled under a remove's lock waits for this write.
  const saving = watch.isStopped || !ctx.store.has(id) ? Promise.resolve() : ctx.store.save(current);
  watch.saving = saving;
  await saving.finally(() => {
    if (watch.saving === saving) watch.saving = undefined;
  });
  if (after.status !== before.status) ctx.publish(current, `health_status: ${after.status}`);
}

/**
 * One probe: an exec of `command` as the container's user, in its working directory, with its
 * environment, no tty; killed at `timeoutNs`. Events as dockerd's for an exec (exec_create,
 * exec_start, exec_die). A probe that cannot start is a failure with the runtime's message.
 */
async function runProbe(ctx: ContainerContext, record: ContainerRecord, command: string[], timeoutNs: number, watch: HealthWatch): Promise<HealthProbeResult> {
  const runtime = ctx.runtimeOf(record);
  const execId = newId();
  const shown = command.join(' ');
  const start = ctx.nowIso();
  ctx.publish(record, `exec_create: ${shown}`, { execID: execId });
  // The timeout covers the exec's start too: a probe that cannot even start in time is ended as soon as it has.
  let isTimedOut = false;
  let kill: (() => void) | undefined;
  const timeout = ctx.clock.schedule(timeoutNs / 1e6, () => {
    isTimedOut = true;
    kill?.();
  });
  const timedOut = (): HealthProbeResult => ({ start, end: ctx.nowIso(), exitCode: -1, output: `Health check exceeded timeout (${goDuration(timeoutNs)})` });
  let handle;
  try {
    handle = await runtime.exec({
      execId,
      containerId: record.id,
      bundleDir: ctx.pathsOf(record.id).bundle,
      args: command,
      env: [],
      cwd: record.settings.workingDir,
      user: record.settings.user,
      isTty: false,
      isStdinOpen: false,
      isPrivileged: false,
      isForeground: true,
    });
  } catch (err) {
    timeout.cancel();
    return isTimedOut ? timedOut() : { start, end: ctx.nowIso(), exitCode: -1, output: messageOf(err) };
  }
  ctx.publish(record, `exec_start: ${shown}`, { execID: execId });
  const output = new ProbeOutput();
  handle.output.on('data', (chunk: Buffer) => output.write(chunk));
  const killNow = handle.kill.bind(handle);
  kill = killNow;
  watch.killProbe = killNow;
  // Past the timeout already, or stopped while it started: it ends now.
  if (isTimedOut || watch.isStopped) killNow();
  let exitCode: number;
  try {
    exitCode = await handle.exited;
  } catch (err) {
    // A foreground exec learns only at its end that the command never started.
    exitCode = -1;
    output.replace(messageOf(err));
  } finally {
    timeout.cancel();
    if (watch.killProbe === killNow) watch.killProbe = undefined;
    await handle.cleanup().catch((err: unknown) => ctx.options.logger.debug('probe cleanup failed', { id: record.id, error: messageOf(err) }));
  }
  if (ctx.store.has(record.id)) ctx.publish(record, 'exec_die', { execID: execId, exitCode: String(exitCode) });
  if (isTimedOut) return timedOut();
  return { start, end: ctx.nowIso(), exitCode, output: output.text() };
}
