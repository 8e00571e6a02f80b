/**
 * Crash points: named steps of berthd's multi-step operations where a test can make the daemon
 * die abruptly (SIGKILL, as a power cut or an OOM kill would), to prove that a restart finds
 * every such moment consistent. Compiled in and inert unless `BERTH_CRASH_AT` names the step.
 */

/** Every step a crash can be asked for, in the order of the operations they belong to. */
export const CRASH_STEPS = [
  'create.dirs-made',
  'create.recorded',
  'start.mounted',
  'start.runtime-created',
  'start.recorded',
  'stop.signalled',
  'rm.runtime-deleted',
  'rm.unmounted',
  'commit.paused',
  'commit.layer-stored',
  'pause.frozen',
  'volume-create.dir-made',
  'load.blobs-stored',
  'import.blob-stored',
  'pull.layer-unpacked',
  'build.layer-stored',
  'network-create.recorded',
  // In the CNI runner, so at any ADD: the plugin has its config and runs on, orphaned.
  'network-connect.cni-adding',
  'network-connect.endpoint-added',
  'network-rm.bridge-removed',
] as const;

export type CrashStep = (typeof CRASH_STEPS)[number];

/** The environment variable naming the step to crash at. */
export const CRASH_AT_ENV = 'BERTH_CRASH_AT';

/** Die at once (no cleanup, no flush) when the crash switch names `step`; otherwise nothing. */
export function crashPoint(step: CrashStep): void {
  if (process.env[CRASH_AT_ENV] === step) process.kill(process.pid, 'SIGKILL');
}
