/**
 * `docker cp` and `docker export` on the engine side: stat a path in a container, stream a
 * path out as a tar, extract a tar into a directory, and stream the whole rootfs. Paths are
 * resolved inside the container's root as moby does (the parent's symlinks followed in the
 * container's scope, the last component only for extraction or a trailing `/`), so nothing
 * is ever read from or written to the host outside that root. An upload is spooled to disk
 * and checked whole before anything is written: a refused archive changes nothing.
 */
import { createReadStream } from 'node:fs';
import { lstat, open, readFile, rm } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { randomBytes } from 'node:crypto';
import { InvalidArgumentError } from '../../common/index.js';
import {
  checkArchive, fdPath, packPath, packTop, RootedPathNotFoundError, unpackArchive, NotADirectoryError,
  type RootedDir, type RootedEntry,
} from '../../snapshot/index.js';
import { ContainerPathNotFoundError, mountFor, withContainerFs, type ArchiveDeps, type PathScope } from './container-fs.js';

/** What `HEAD /containers/{id}/archive` reports about a path (docker's ContainerPathStat, camelCase). */
export interface PathStat {
  name: string;
  sizeBytes: number;
  /** st_mode: file type bits and permissions. */
  mode: number;
  mtime: Date;
  /** For a symlink, the absolute path it resolves to inside the container; '' otherwise. */
  linkTarget: string;
}

/** docker's `filepath.Join("/", path)` keeping a trailing `/` or `/.` that says "the directory itself". */
export function containerAbsPath(path: string): string {
  const cleaned = posix.normalize(`/${path}`);
  const base = cleaned.length > 1 ? cleaned.replace(/\/$/, '') : cleaned;
  if (path.endsWith('/.') || path === '.') return base === '/' ? '/.' : `${base}/.`;
  if (path.endsWith('/') && base !== '/') return `${base}/`;
  return base;
}

/** Go's filepath.Base of an absolute path: `/` for the root, `.` for `dir/.`. */
function baseName(absPath: string): string {
  if (absPath.endsWith('/.')) return '.';
  const trimmed = absPath.replace(/\/+$/, '');
  if (trimmed === '') return '/';
  return trimmed.slice(trimmed.lastIndexOf('/') + 1);
}

async function resolveForStat(scope: PathScope, absPath: string, ref: string): Promise<RootedEntry> {
  try {
    const entry = await scope.root.resolve(scope.path, { followLast: false });
    if (entry.stats === undefined && !scope.overrides.has(entry.path)) throw new ContainerPathNotFoundError(absPath, ref);
    return entry;
  } catch (err) {
    if (err instanceof RootedPathNotFoundError) throw new ContainerPathNotFoundError(absPath, ref);
    throw err;
  }
}

async function statEntry(scope: PathScope, entry: RootedEntry, absPath: string): Promise<PathStat> {
  const override = scope.overrides.get(entry.path);
  const stats = override !== undefined ? await lstat(override) : entry.stats!;
  let linkTarget = '';
  if (override === undefined && stats.isSymbolicLink()) {
    // Fully resolved inside the container (here: inside the tree holding it), as moby's StatPath reports it.
    const target = await scope.root.resolve(scope.path, { followLast: true }).catch(() => undefined);
    linkTarget = target ? scope.toContainerPath(target.path) : '';
  }
  return { name: baseName(absPath), sizeBytes: stats.size, mode: stats.mode, mtime: stats.mtime, linkTarget };
}

/** `HEAD /containers/{id}/archive?path=`: stat of the path (a last symlink not followed). */
export function statContainerPath(deps: ArchiveDeps, ref: string, path: string): Promise<PathStat> {
  const absPath = containerAbsPath(path);
  return withContainerFs(deps, ref, async (fs) => {
    const scope = await fs.scope(absPath);
    return statEntry(scope, await resolveForStat(scope, absPath, ref), absPath);
  });
}

/**
 * `GET /containers/{id}/archive?path=`: `consume` gets the path's stat and its tar (entries
 * named from the path the caller gave, as moby rebases them) while the container is held.
 */
export function archiveContainerPath(deps: ArchiveDeps, ref: string, path: string, consume: (stat: PathStat, tar: AsyncIterable<Buffer>) => Promise<void>): Promise<void> {
  const absPath = containerAbsPath(path);
  return withContainerFs(deps, ref, async (fs) => {
    const scope = await fs.scope(absPath);
    const entry = await resolveForStat(scope, absPath, ref);
    const stat = await statEntry(scope, entry, absPath);
    const base = baseName(absPath);
    const tar = packPath(scope.root, entry, { rebaseName: base === '/' ? '.' : base, overrides: scope.overrides });
    await consume(stat, tar);
    deps.containers.publishEvent(fs.record, 'archive-path');
  });
}

/** Options of extractToContainer (docker's query parameters). */
export interface ExtractOptions {
  noOverwriteDirNonDir: boolean;
  copyUidGid: boolean;
}

/**
 * `PUT /containers/{id}/archive?path=`: extract `body` (a tar) into the directory `path` (a
 * last symlink followed). The body is spooled first, then checked whole, then written.
 */
export async function extractToContainer(deps: ArchiveDeps, ref: string, path: string, body: AsyncIterable<Uint8Array>, options: ExtractOptions): Promise<void> {
  const initial = deps.containers.get(ref);
  const absPath = containerAbsPath(path);
  // As moby: the tree that holds the path decides (a writable volume in a read-only rootfs takes files).
  const inMount = mountFor(initial.host.mounts ?? [], absPath)?.mount;
  if (inMount?.isReadOnly) throw new InvalidArgumentError('mounted volume is marked read-only');
  if (!inMount && initial.host.readonlyRootfs) throw new InvalidArgumentError('container rootfs is marked read-only');
  const spool = join(deps.containers.pathsOf(initial.id).dir, `.cp-${randomBytes(6).toString('hex')}.tar`);
  try {
    const handle = await open(spool, 'wx', 0o600);
    try {
      for await (const chunk of body) await handle.write(chunk);
    } finally {
      await handle.close();
    }
    const source = (): AsyncIterable<Uint8Array> => createReadStream(spool);
    await withContainerFs(deps, initial.id, async (fs) => {
      const scope = await fs.scope(absPath);
      let dest;
      try {
        dest = await scope.root.resolveDir(scope.path);
      } catch (err) {
        if (err instanceof RootedPathNotFoundError) throw new ContainerPathNotFoundError(absPath, ref);
        if (err instanceof NotADirectoryError) throw new InvalidArgumentError('extraction point is not a directory');
        throw err;
      }
      const owner = options.copyUidGid ? await containerUser(fs.root, fs.record.settings.user) : undefined;
      const unpackOptions = { noOverwriteDirNonDir: options.noOverwriteDirNonDir, overrides: scope.overrides, ...(owner ? { owner } : {}) };
      await checkArchive(scope.root, dest, source, unpackOptions);
      await unpackArchive(scope.root, dest, source, unpackOptions);
      deps.containers.publishEvent(fs.record, 'extract-to-dir');
    });
  } finally {
    await rm(spool, { force: true });
  }
}

/** The uid and gid of the container's configured user, looked up in its own passwd and group files. */
async function containerUser(root: RootedDir, user: string): Promise<{ uid: number; gid: number }> {
  const [userPart = '', groupPart] = user.split(':');
  const readEtc = async (name: string): Promise<string[][]> => {
    const entry = await root.resolve(`/etc/${name}`, { followLast: true }).catch(() => undefined);
    if (entry?.stats === undefined || !entry.stats.isFile()) return [];
    const text = await readFile(fdPath(entry.dir, entry.name), 'utf8').catch(() => '');
    return text.split('\n').filter((l) => l !== '' && !l.startsWith('#')).map((l) => l.split(':'));
  };
  let uid = 0;
  let gid = 0;
  if (userPart !== '') {
    if (/^\d+$/.test(userPart)) {
      uid = Number(userPart);
      const row = (await readEtc('passwd')).find((r) => r[2] === userPart);
      gid = row ? Number(row[3]) : 0;
    } else {
      const row = (await readEtc('passwd')).find((r) => r[0] === userPart);
      if (row === undefined) throw new InvalidArgumentError(`unable to find user ${userPart}: no matching entries in passwd file`);
      uid = Number(row[2]);
      gid = Number(row[3]);
    }
  }
  if (groupPart !== undefined && groupPart !== '') {
    if (/^\d+$/.test(groupPart)) gid = Number(groupPart);
    else {
      const row = (await readEtc('group')).find((r) => r[0] === groupPart);
      if (row === undefined) throw new InvalidArgumentError(`unable to find group ${groupPart}: no matching entries in group file`);
      gid = Number(row[2]);
    }
  }
  return { uid, gid };
}

/** `GET /containers/{id}/export`: `consume` gets a tar of the whole rootfs while the container is held. */
export function exportContainer(deps: ArchiveDeps, ref: string, consume: (tar: AsyncIterable<Buffer>) => Promise<void>): Promise<void> {
  return withContainerFs(deps, ref, async (fs) => {
    await consume(packTop(fs.root));
    deps.containers.publishEvent(fs.record, 'export');
  });
}
