/**
 * Letting go of a container's volumes. When their last user stops, they are released as
 * docker's local driver does with its mount count: a tmpfs- or device-backed volume is
 * unmounted from the host once no running container mounts it, so its filesystem does not
 * outlive its containers until `volume rm`. When the container is removed with its volumes,
 * its anonymous ones go.
 */
import { messageOf, type Logger } from '../common/index.js';
import { isRunningStatus, type ContainerRecord } from './container.js';
import { ANONYMOUS_LABEL, volumeNamesOf, type ContainerMountRecord } from './mounts.js';
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

/**
 * After a container is removed with its volumes (`rm -v`, `--rm`): remove its anonymous
 * volumes that no remaining container refers to. Named volumes stay, as in docker; a volume
 * another container still uses (through `--volumes-from`) stays, silently.
 */
export async function removeAnonymousVolumes(
  mounts: readonly ContainerMountRecord[] | undefined,
  remaining: ReadonlyArray<{ host: { mounts?: ContainerMountRecord[] } }>,
  volumes: VolumePort | undefined,
  onRemoved: (name: string) => void,
): Promise<void> {
  if (!volumes) return;
  const used = new Set(remaining.flatMap((r) => volumeNamesOf(r.host.mounts)));
  for (const mount of mounts ?? []) {
    if (mount.type !== 'volume' || !mount.isAnonymous || mount.name === undefined || used.has(mount.name)) continue;
    if (!volumes.has(mount.name) || !(ANONYMOUS_LABEL in volumes.get(mount.name).labels)) continue;
    await volumes.remove(mount.name).then(() => onRemoved(mount.name!), () => {});
  }
}
