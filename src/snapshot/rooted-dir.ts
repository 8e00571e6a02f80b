/**
 * A directory tree that may be changed under us by someone hostile (a running container's
 * rootfs, its overlay upper dir), walked without ever leaving it. Paths are resolved one
 * component at a time through open directory descriptors (`/proc/self/fd/<fd>/<name>`, the
 * same trick as openat), each opened with O_NOFOLLOW|O_DIRECTORY; symlinks are read and
 * followed by hand with the tree's top as `/` and `..` stopping there, as a chroot would.
 * A component swapped for a symlink between our look and our open makes the open fail
 * instead of leaving the tree. Every descriptor opened is closed by close().
 */
import { constants as fsConstants, type Stats } from 'node:fs';
import { lstat, mkdir, open, readlink, type FileHandle } from 'node:fs/promises';
import { BerthError, errnoOf } from '../common/index.js';

/** A path that does not exist inside the tree (or runs through something that is not a directory). */
export class RootedPathNotFoundError extends BerthError {
  readonly path: string;
  constructor(path: string, options?: { cause?: unknown }) {
    super('not-found', 'BERTH_PATH_NOT_FOUND', `no such file or directory: ${path}`, options);
    this.path = path;
  }
}

/** An open directory of the tree and its path from the tree's top. */
export interface RootedDirHandle {
  handle: FileHandle;
  /** `/`-rooted path inside the tree, resolved (no symlinks, no `..`). */
  path: string;
}

/** Where a path led: a name inside an open directory (`.` for the directory itself). */
export interface RootedEntry {
  dir: RootedDirHandle;
  name: string;
  /** The entry's resolved path inside the tree. */
  path: string;
  /** lstat of the entry, or undefined when it does not exist (only the last component may be missing). */
  stats: Stats | undefined;
}

/** Options for resolve(). */
export interface ResolveOptions {
  /** Follow a symlink in the last component too (a trailing `/` or `/.` always does). */
  followLast: boolean;
  /** Create missing directories along the way with this mode (resolveDir: the last one too). */
  createParentsMode?: number;
}

const MAX_SYMLINKS = 40;
const DIR_FLAGS = fsConstants.O_RDONLY | fsConstants.O_DIRECTORY | fsConstants.O_NOFOLLOW;

/** The `/proc/self/fd` path of a name inside an open directory; safe to hand to any fs call that does not follow its last component. */
export function fdPath(dir: RootedDirHandle, name: string): string {
  return `/proc/self/fd/${dir.handle.fd}/${name}`;
}

/** The same, usable by a child process of this one (its /proc/self is its own). */
export function fdPathForChild(dir: RootedDirHandle, name: string): string {
  return `/proc/${process.pid}/fd/${dir.handle.fd}/${name}`;
}

/** Join container-style paths: `/a` + `b` = `/a/b`. */
export function joinRooted(parent: string, name: string): string {
  if (name === '.' || name === '') return parent;
  return parent === '/' ? `/${name}` : `${parent}/${name}`;
}

/** A tree opened at `hostPath`. Not safe for concurrent use by unrelated operations; one per operation. */
export class RootedDir {
  readonly top: RootedDirHandle;
  readonly #open = new Set<FileHandle>();

  private constructor(top: FileHandle) {
    this.top = { handle: top, path: '/' };
    this.#open.add(top);
  }

  /** Open the tree whose top is `hostPath` (trusted: it is ours, e.g. a mount point). */
  static async open(hostPath: string): Promise<RootedDir> {
    return new RootedDir(await open(hostPath, DIR_FLAGS));
  }

  /** Close every descriptor this tree opened. */
  async close(): Promise<void> {
    const handles = [...this.#open];
    this.#open.clear();
    await Promise.all(handles.map((h) => h.close().catch(() => {})));
  }

  /** Open the directory `name` inside `dir` without following a symlink there. */
  async openDir(dir: RootedDirHandle, name: string): Promise<RootedDirHandle> {
    const handle = await open(fdPath(dir, name), DIR_FLAGS);
    this.#open.add(handle);
    return { handle, path: joinRooted(dir.path, name) };
  }

  /** Release a directory handle early (long walks). */
  async release(dir: RootedDirHandle): Promise<void> {
    if (dir === this.top || !this.#open.delete(dir.handle)) return;
    await dir.handle.close().catch(() => {});
  }

  /**
   * Resolve `path` (relative paths start at the top, as in a process chrooted there with `/` as its cwd) to a name in
   * an open directory. Intermediate symlinks are followed inside the tree; the last one only
   * with followLast or a trailing slash. Throws RootedPathNotFoundError when a directory along
   * the way is missing (unless created) or is not a directory.
   */
  async resolve(path: string, options: ResolveOptions): Promise<RootedEntry> {
    const opened: RootedDirHandle[] = [];
    let result: RootedEntry | undefined;
    try {
      result = await this.#resolve(path, options, opened);
      return result;
    } finally {
      // Directories opened on the way are closed again; only the one holding the result stays open.
      for (const dir of opened) if (dir !== result?.dir) await this.release(dir);
    }
  }

  async #resolve(path: string, options: ResolveOptions, opened: RootedDirHandle[]): Promise<RootedEntry> {
    const trailing = /(^|\/)\.?$/.test(path) && path !== '';
    const followLast = options.followLast || trailing;
    // The stack of open directories from the top down to where we are.
    let stack: RootedDirHandle[] = [this.top];
    let pending = splitPath(path);
    let links = 0;
    const enter = async (dir: RootedDirHandle, name: string): Promise<void> => {
      const child = await this.openDir(dir, name);
      opened.push(child);
      stack.push(child);
    };
    for (;;) {
      const current = stack[stack.length - 1]!;
      const part = pending.shift();
      if (part === undefined) {
        return { dir: current, name: '.', path: current.path, stats: await lstat(fdPath(current, '.')) };
      }
      if (part === '..') {
        // The top's parent is the top, as in a chroot; never the real `..` (it may have moved).
        if (stack.length > 1) stack.pop();
        continue;
      }
      const isLast = pending.length === 0;
      let stats: Stats | undefined;
      try {
        stats = await lstat(fdPath(current, part));
      } catch (err) {
        const code = errnoOf(err);
        if (code !== 'ENOENT' && code !== 'ENOTDIR') throw err;
      }
      if (stats === undefined) {
        if (isLast) return { dir: current, name: part, path: joinRooted(current.path, part), stats: undefined };
        if (options.createParentsMode === undefined) throw new RootedPathNotFoundError(joinRooted(current.path, part));
        await mkdir(fdPath(current, part), { mode: options.createParentsMode });
        await enter(current, part);
        continue;
      }
      if (stats.isSymbolicLink() && (!isLast || followLast)) {
        if (++links > MAX_SYMLINKS) throw new RootedPathNotFoundError(`${path} (too many levels of symbolic links)`);
        const target = await readlink(fdPath(current, part));
        if (target.startsWith('/')) stack = [this.top];
        pending = [...splitPath(target), ...pending];
        continue;
      }
      if (isLast) {
        if (!trailing || stats.isDirectory()) return { dir: current, name: part, path: joinRooted(current.path, part), stats };
        throw new RootedPathNotFoundError(joinRooted(current.path, part));
      }
      if (!stats.isDirectory()) throw new RootedPathNotFoundError(joinRooted(current.path, part));
      try {
        await enter(current, part);
      } catch (err) {
        // ELOOP: it became a symlink after our lstat. Treat it as missing rather than follow it.
        throw new RootedPathNotFoundError(joinRooted(current.path, part), { cause: err });
      }
    }
  }

  /** Resolve to a directory and open it (following a last symlink); throws when it is not one. */
  async resolveDir(path: string, options: Omit<ResolveOptions, 'followLast'> = {}): Promise<RootedDirHandle> {
    const entry = await this.resolve(path, { ...options, followLast: true });
    if (entry.stats === undefined && options.createParentsMode !== undefined) {
      await mkdir(fdPath(entry.dir, entry.name), { mode: options.createParentsMode });
      entry.stats = await lstat(fdPath(entry.dir, entry.name));
    }
    if (entry.stats === undefined) throw new RootedPathNotFoundError(entry.path);
    if (entry.name === '.') return entry.dir;
    try {
      if (!entry.stats.isDirectory()) throw new NotADirectoryError(entry.path);
      return await this.openDir(entry.dir, entry.name);
    } finally {
      await this.release(entry.dir);
    }
  }
}

/** A path that must be a directory is something else. */
export class NotADirectoryError extends BerthError {
  readonly path: string;
  constructor(path: string) {
    super('invalid-argument', 'BERTH_NOT_A_DIRECTORY', `not a directory: ${path}`);
    this.path = path;
  }
}

/** Split a path into its components, dropping empty ones and `.`. */
export function splitPath(path: string): string[] {
  return path.split('/').filter((part) => part !== '' && part !== '.');
}
