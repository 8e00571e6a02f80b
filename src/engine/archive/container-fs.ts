/**
 * Reaching a container's files from the host for cp, export, diff and commit: under the
 * container's lock, its overlay rootfs (already mounted while it runs, mounted here for the
 * operation when it does not, and unmounted after) opened as a RootedDir, so every path is
 * resolved inside it as the container itself would see it. The per-container /etc files
 * berthd bind-mounts in are mapped to their host copies, and a path at or under a bind or
 * volume mount's destination to that mount's host source (opened as its own RootedDir, so
 * nothing resolves outside the source), as the container sees them.
 */
import type { Stats } from 'node:fs';
import { stat } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { BerthError, NotFoundError } from '../../common/index.js';
import { RootedDir } from '../../snapshot/index.js';
import { readMountInfo } from '../../sys/index.js';
import { isRunningStatus, type ContainerRecord } from '../container.js';
import type { ContainerService } from '../container-service.js';
import type { ContainerMountRecord } from '../mounts.js';
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
  /**
   * Where a container path lives: the rootfs, or the host source of the bind or volume mounted
   * at or above it (the deepest one). The returned root stays open until the operation ends.
   */
  scope(absPath: string): Promise<PathScope>;
}

/** A container path mapped to the tree that holds it. */
export interface PathScope {
  root: RootedDir;
  /** The path to resolve inside `root` (a trailing `/` or `/.` kept). */
  path: string;
  /** The /etc files' host copies; empty inside a mount. */
  overrides: ReadonlyMap<string, string>;
  /** The mount holding the path; undefined for the rootfs. */
  mount?: ContainerMountRecord;
  /** A path inside `root` as the container sees it. */
  toContainerPath(path: string): string;
}

/**
 * The deepest bind or volume mount whose destination is `absPath` or a parent of it, and the
 * rest of the path below it. tmpfs mounts live only in the container's mount namespace, so
 * they are not reachable from the host and are left to the rootfs, as docker leaves them.
 */
export function mountFor(mounts: readonly ContainerMountRecord[], absPath: string): { mount: ContainerMountRecord; rest: string } | undefined {
  const clean = posix.normalize(absPath);
  let best: ContainerMountRecord | undefined;
  for (const mount of mounts) {
    if (mount.type === 'tmpfs' || mount.source === '') continue;
    const dest = mount.destination;
    if (clean !== dest && !clean.startsWith(`${dest}/`)) continue;
    if (!best || dest.length > best.destination.length) best = mount;
  }
  if (!best) return undefined;
  // absPath is already clean apart from a trailing `/` or `/.`, which the rest keeps.
  return { mount: best, rest: absPath.slice(best.destination.length) };
}

/** The host directory a mount's contents are read from and written to. */
function hostSourceOf(mount: ContainerMountRecord): string {
  return mount.type === 'volume' && mount.subpath ? posix.join(mount.source, mount.subpath) : mount.source;
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
    const mountRoots = new Map<string, RootedDir>();
    try {
      root = await RootedDir.open(paths.merged);
      const rootfs = root;
      const overrides = etcOverrides(paths.userdata);
      const openOnce = async (hostDir: string): Promise<RootedDir> => {
        const existing = mountRoots.get(hostDir);
        if (existing) return existing;
        const opened = await RootedDir.open(hostDir);
        mountRoots.set(hostDir, opened);
        return opened;
      };
      const scope = async (absPath: string): Promise<PathScope> => {
        const found = mountFor(record.host.mounts ?? [], absPath);
        if (!found) return { root: rootfs, path: absPath, overrides, toContainerPath: (p) => p };
        const { mount, rest } = found;
        const source = hostSourceOf(mount);
        const info = await stat(source).catch(() => undefined);
        // A source gone from the host (a removed bind directory): what the rootfs holds there.
        if (!info) return { root: rootfs, path: absPath, overrides, toContainerPath: (p) => p };
        if (!info.isDirectory()) {
          // A bind of one file: its directory is the tree, the file its only reachable name.
          const inner = `/${posix.basename(source)}`;
          return { root: await openOnce(posix.dirname(source)), path: inner, overrides: new Map(), mount, toContainerPath: () => mount.destination };
        }
        return {
          root: await openOnce(source),
          path: rest === '' ? '/' : rest,
          overrides: new Map(),
          mount,
          toContainerPath: (p) => posix.join(mount.destination, p),
        };
      };
      return await operation({ record, root, overrides, paths, scope });
    } finally {
      for (const opened of mountRoots.values()) await opened.close();
      await root?.close();
      if (mountedHere) await deps.images.snapshotter.unmount(paths.merged);
    }
  });
}
