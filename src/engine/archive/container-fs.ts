/**
 * Reaching a container's files from the host for cp, export, diff and commit: under the
 * container's lock, its overlay rootfs (already mounted while it runs, mounted here for the
 * operation when it does not, and unmounted after) opened as a RootedDir, so every path is
 * resolved inside it as the container itself would see it. The per-container /etc files
 * berthd bind-mounts in are mapped to their host copies, as the container sees them.
 */
import type { Stats } from 'node:fs';
import { join } from 'node:path';
import { BerthError, NotFoundError } from '../../common/index.js';
import { RootedDir } from '../../snapshot/index.js';
import { readMountInfo } from '../../sys/index.js';
import { isRunningStatus, type ContainerRecord } from '../container.js';
import type { ContainerService } from '../container-service.js';
import type { ImageStorePort } from '../ports.js';

/** What the archive operations need: the container service and the image store. */
export interface ArchiveDeps {
  containers: ContainerService;
  images: ImageStorePort;
}

/** A container's root filesystem, open for one operation. */
export interface ContainerFs {
  record: ContainerRecord;
  root: RootedDir;
  /** Container path to host path of the files bind-mounted over the rootfs. */
  overrides: ReadonlyMap<string, string>;
  paths: ReturnType<ContainerService['pathsOf']>;
}

/** docker's 404 for a path missing in a container (`docker cp`). */
export class ContainerPathNotFoundError extends NotFoundError {
  constructor(path: string, containerRef: string) {
    super('BERTH_CONTAINER_PATH_NOT_FOUND', `Could not find the file ${path} in container ${containerRef}`);
  }
}

/** The files berthd bind-mounts into every container (etc-files.ts writes them). */
export function etcOverrides(userdataDir: string): Map<string, string> {
  return new Map([
    ['/etc/hosts', join(userdataDir, 'hosts')],
    ['/etc/hostname', join(userdataDir, 'hostname')],
    ['/etc/resolv.conf', join(userdataDir, 'resolv.conf')],
  ]);
}

/**
 * Placeholders the runtime leaves in the upper dir (mount points of the /etc files, and of
 * /proc, /sys and /dev when the image lacks them): not the user's changes, so diff and commit
 * leave them out as docker's init layer keeps them out of a container's own layer.
 */
export function isRuntimePlaceholder(path: string, stats: Stats): boolean {
  if (path === '/etc/hosts' || path === '/etc/hostname' || path === '/etc/resolv.conf') return stats.isFile() && stats.size === 0;
  if (path === '/proc' || path === '/sys' || path === '/dev') return stats.isDirectory() && stats.nlink <= 2;
  return false;
}

/**
 * Run `operation` on the container's rootfs under its lock. A container that is not running
 * has its overlay mounted for the operation and unmounted after, whatever happens.
 */
export async function withContainerFs<T>(deps: ArchiveDeps, ref: string, operation: (fs: ContainerFs) => Promise<T>): Promise<T> {
  const id = deps.containers.get(ref).id;
  return deps.containers.withLock(id, async () => {
    const record = deps.containers.get(id);
    const paths = deps.containers.pathsOf(id);
    const isMounted = (await readMountInfo()).some((m) => m.mountPoint === paths.merged);
    if (isRunningStatus(record.state.status) && !isMounted) {
      throw new BerthError('conflict', 'BERTH_ROOTFS_UNAVAILABLE', `container ${record.id}'s root filesystem is not mounted; try again`);
    }
    let mountedHere = false;
    if (!isMounted) {
      const lowerDirs = await deps.images.lowerDirs(record.imageId);
      await deps.images.snapshotter.mount({ lowerDirs, upperDir: paths.upper, workDir: paths.work, mergedDir: paths.merged });
      mountedHere = true;
    }
    let root: RootedDir | undefined;
    try {
      root = await RootedDir.open(paths.merged);
      return await operation({ record, root, overrides: etcOverrides(paths.userdata), paths });
    } finally {
      await root?.close();
      if (mountedHere) await deps.images.snapshotter.unmount(paths.merged);
    }
  });
}
