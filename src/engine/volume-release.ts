/**
 * Releasing volumes when their last user stops, as docker's local driver does with its mount
 * count: a tmpfs- or device-backed volume is unmounted from the host once no running
 * container mounts it, so its filesystem does not outlive its containers until `volume rm`.
 */
import { messageOf, type Logger } from '../common/index.js';
import { isRunningStatus, type ContainerRecord } from './container.js';
import { volumeNamesOf } from './mounts.js';
import type { VolumePort } from './ports.js';

/**
 * After `stopped` exited or was removed: unmount each of its volumes that no other running
 * (or paused, or restarting) container in `all` uses. Never throws: a failure is logged and
 * the volume stays mounted, which is what it was before. The next start mounts it again.
 */
export async function releaseVolumes(stopped: ContainerRecord, all: readonly ContainerRecord[], volumes: VolumePort | undefined, logger: Logger): Promise<void> {
  if (!volumes?.unmount) return;
  const names = volumeNamesOf(stopped.host.mounts);
  if (names.length === 0) return;
  const inUse = new Set<string>();
  for (const record of all) {
    if (record.id === stopped.id || !isRunningStatus(record.state.status)) continue;
    for (const name of volumeNamesOf(record.host.mounts)) inUse.add(name);
  }
  for (const name of new Set(names)) {
    if (inUse.has(name)) continue;
    await volumes.unmount(name).catch((err: unknown) => logger.warn('volume unmount failed', { name, id: stopped.id, error: messageOf(err) }));
  }
}
