/**
 * Extracting a tar into a directory of a RootedDir, as `docker cp` into a container does.
 * The archive is read twice: checkArchive() first refuses the whole archive when any entry
 * would leave the destination (`..`, a symlink or hardlink pointing out of it) or would
 * replace a directory with a non-directory (or the reverse) when that is forbidden, so a
 * refused archive changes nothing; unpackArchive() then writes. Every write goes through
 * directory descriptors with O_NOFOLLOW/O_EXCL semantics: a symlink met inside the tree is
 * followed only within it, as a process chrooted there would, never to the host.
 */
import { constants as fsConstants } from 'node:fs';
import { lchown, link, lstat, lutimes, mkdir, open, readdir, rmdir, symlink, unlink, writeFile } from 'node:fs/promises';
import { posix } from 'node:path';
import tar from 'tar-stream';
import { BerthError, InternalError, errnoOf } from '../common/index.js';
import { runCommand } from '../sys/index.js';
import { fdPath, fdPathForChild, joinRooted, RootedPathNotFoundError, type RootedDir, type RootedDirHandle } from './rooted-dir.js';

/** An archive that would write outside its destination or replace what it may not. */
export class UnsafeArchiveError extends BerthError {
  constructor(message: string) {
    super('invalid-argument', 'BERTH_UNSAFE_ARCHIVE', message);
  }
}

/** Options shared by checkArchive and unpackArchive. */
export interface UnpackOptions {
  /** docker's noOverwriteDirNonDir: never replace a directory with a non-directory or the reverse. */
  noOverwriteDirNonDir: boolean;
  /** Own every entry by this uid/gid (docker's copyUIDGID) instead of the archive's. */
  owner?: { uid: number; gid: number };
  /** Files bind-mounted over the tree: a regular file landing there is written to the host path. */
  overrides?: ReadonlyMap<string, string>;
}

/** A source of the archive's bytes that can be read more than once (a spooled file). */
export type ArchiveSource = () => AsyncIterable<Uint8Array>;

/** One entry of a tar read by tarEntries(). */
export interface ParsedTarEntry {
  header: tar.Header;
  /** Cleaned path relative to the destination ('' for the destination itself). */
  rel: string;
  body: AsyncIterable<Uint8Array>;
}

/**
 * Iterate the entries of a tar, each body consumed (or skipped) before the next. A broken
 * archive ends the iteration with UnsafeArchiveError ("invalid tar archive: ...").
 */
export async function* tarEntries(source: ArchiveSource): AsyncGenerator<ParsedTarEntry> {
  const extract = tar.extract();
  const feeding = (async () => {
    for await (const chunk of source()) {
      if (extract.destroyed) return;
      if (!extract.write(chunk)) await drainedOrClosed(extract);
    }
    extract.end(null);
  })();
  feeding.catch((err: Error) => extract.destroy(err));
  try {
    for await (const entry of extract) {
      const body = entry as AsyncIterable<Uint8Array> & { resume(): void };
      yield { header: entry.header, rel: archiveRelativeName(entry.header.name), body };
      body.resume();
    }
    await feeding;
  } catch (err) {
    if (err instanceof BerthError) throw err;
    throw new UnsafeArchiveError(`invalid tar archive: ${(err as Error).message}`);
  } finally {
    extract.destroy();
    await feeding.catch(() => {});
  }
}

/** Wait until the parser takes more input, or is destroyed (a consumer that stopped reading: no 'drain' comes then). */
function drainedOrClosed(extract: tar.Extract): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      extract.off('drain', done);
      extract.off('close', done);
      resolve();
    };
    extract.once('drain', done);
    extract.once('close', done);
  });
}

/** The cleaned relative name of an entry; `..` left in front means it escapes. */
export function archiveRelativeName(name: string): string {
  const cleaned = posix.normalize(`./${name}`).replace(/\/+$/, '');
  return cleaned === '.' ? '' : cleaned.replace(/^\.\//, '');
}

/** Whether a cleaned relative name leaves its destination. */
export function leavesDestination(rel: string): boolean {
  return rel === '..' || rel.startsWith('../');
}

/**
 * Read the whole archive and throw UnsafeArchiveError for the first entry docker's untar
 * would refuse: a name outside `dest`, a symlink whose target leaves `dest`, a hardlink to
 * outside, or (with noOverwriteDirNonDir) a type clash with what already exists.
 */
export async function checkArchive(root: RootedDir, dest: RootedDirHandle, source: ArchiveSource, options: UnpackOptions): Promise<void> {
  // What the archive itself makes, so later entries are judged against it, not the old tree.
  const made = new Map<string, boolean>();
  for await (const { header, rel } of tarEntries(source)) {
    if (leavesDestination(rel)) throw new UnsafeArchiveError(`${JSON.stringify(header.name)} is outside of ${JSON.stringify(dest.path)}`);
    if (header.type === 'symlink') {
      const linkname = header.linkname ?? '';
      // docker's rule: a relative target, taken from the link's own directory, must stay in the destination.
      if (!linkname.startsWith('/') && leavesDestination(posix.normalize(posix.join(posix.dirname(`./${rel}`), linkname)))) {
        throw new UnsafeArchiveError(`invalid symlink ${JSON.stringify(joinRooted(dest.path, rel))} -> ${JSON.stringify(linkname)}`);
      }
    }
    if (header.type === 'link' && leavesDestination(archiveRelativeName(header.linkname ?? ''))) {
      throw new UnsafeArchiveError(`invalid hardlink ${JSON.stringify(joinRooted(dest.path, rel))} -> ${JSON.stringify(header.linkname ?? '')}`);
    }
    if (rel === '') continue;
    const isDir = header.type === 'directory';
    if (options.noOverwriteDirNonDir) {
      let existingIsDir = made.get(rel);
      if (existingIsDir === undefined) {
        const found = await root.resolve(joinRooted(dest.path, rel), { followLast: false }).catch((err: unknown) => {
          if (err instanceof RootedPathNotFoundError) return undefined;
          throw err;
        });
        if (found?.stats !== undefined) existingIsDir = found.stats.isDirectory();
      }
      if (existingIsDir === true && !isDir) throw new UnsafeArchiveError(`cannot overwrite directory ${JSON.stringify(joinRooted(dest.path, rel))} with non-directory ${JSON.stringify(dest.path)}`);
      if (existingIsDir === false && isDir) throw new UnsafeArchiveError(`cannot overwrite non-directory ${JSON.stringify(joinRooted(dest.path, rel))} with directory ${JSON.stringify(dest.path)}`);
    }
    made.set(rel, isDir);
  }
}

/** Regular files up to this size are written several at a time (their bodies read ahead into memory)... */
const MAX_CONCURRENT_FILE_BYTES = 1024 * 1024;
/** ...this many at once, all in one directory. */
const MAX_FILES_IN_FLIGHT = 16;

/** Extract the archive into `dest`. Call checkArchive first: this one trusts the names it checked. */
export async function unpackArchive(root: RootedDir, dest: RootedDirHandle, source: ArchiveSource, options: UnpackOptions): Promise<void> {
  const dirTimes: Array<{ path: string; mtime: Date }> = [];
  // The last parent directory opened, kept for the entries after it in the same directory (an
  // archive lists a directory's entries together): one open per directory instead of one per
  // path component per entry. Dropped whenever an entry removed something, since a directory
  // removed (or one a symlink now stands for) must be resolved afresh.
  let lastParent: { rel: string; dir: RootedDirHandle } | undefined;
  const forgetLastParent = async (): Promise<void> => {
    if (lastParent !== undefined) await root.release(lastParent.dir);
    lastParent = undefined;
  };
  // Small regular files of one directory are written concurrently (each is independent of the
  // others: different names, an existing parent). Anything else waits for them first, and the
  // parent's descriptor is never released while one is in flight (its number could be reused).
  const inFlight = new Map<string, Promise<{ removedSomething: boolean } | { error: unknown }>>();
  let inFlightParentRel = '';
  const settle = async (): Promise<void> => {
    const results = await Promise.all(inFlight.values());
    inFlight.clear();
    const failed = results.find((r) => 'error' in r);
    if (failed !== undefined) throw (failed as { error: unknown }).error;
    if (results.some((r) => 'removedSomething' in r && r.removedSomething)) await forgetLastParent();
  };
  try {
    for await (const entry of tarEntries(source)) {
      const { header, rel } = entry;
      if (leavesDestination(rel)) throw new UnsafeArchiveError(`${JSON.stringify(header.name)} is outside of ${JSON.stringify(dest.path)}`);
      if (rel === '') continue;
      const parentRel = posix.dirname(rel);
      const name = posix.basename(rel);
      const isSmallFile = (header.type === 'file' || header.type === 'contiguous-file') && (header.size ?? 0) <= MAX_CONCURRENT_FILE_BYTES;
      const joinsInFlight = isSmallFile && inFlight.size < MAX_FILES_IN_FLIGHT && !inFlight.has(name) && (inFlight.size === 0 || inFlightParentRel === parentRel);
      if (!joinsInFlight) await settle();
      let parent = dest;
      if (parentRel !== '.') {
        if (lastParent?.rel !== parentRel) {
          await forgetLastParent();
          lastParent = { rel: parentRel, dir: await root.resolveDir(joinRooted(dest.path, parentRel), { createParentsMode: 0o755 }) };
        }
        parent = lastParent.dir;
      }
      if (isSmallFile) {
        const chunks: Buffer[] = [];
        for await (const chunk of entry.body) chunks.push(Buffer.from(chunk));
        const data = Buffer.concat(chunks);
        const body = (async function* () {
          yield data;
        })();
        inFlightParentRel = parentRel;
        // Handled at once, so a failure never surfaces as an unhandled rejection before settle() looks.
        inFlight.set(name, unpackEntry(root, dest, parent, { header, rel, body }, options, dirTimes).catch((error: unknown) => ({ error })));
        continue;
      }
      const { removedSomething } = await unpackEntry(root, dest, parent, entry, options, dirTimes);
      if (removedSomething) await forgetLastParent();
    }
    await settle();
  } finally {
    await Promise.all(inFlight.values());
    await forgetLastParent();
  }
  // Directory times last, deepest first: writing their children changed them.
  for (const { path, mtime } of dirTimes.reverse()) {
    const entry = await root.resolve(path, { followLast: false }).catch(() => undefined);
    if (entry?.stats?.isDirectory()) await lutimes(fdPath(entry.dir, entry.name), mtime, mtime).catch(() => {});
    if (entry) await root.release(entry.dir);
  }
}

/** Write one checked entry into `parent`; says whether it removed what stood at its name. */
async function unpackEntry(root: RootedDir, dest: RootedDirHandle, parent: RootedDirHandle, { header, rel, body }: ParsedTarEntry, options: UnpackOptions, dirTimes: Array<{ path: string; mtime: Date }>): Promise<{ removedSomething: boolean }> {
  const overrides = options.overrides ?? new Map<string, string>();
  const name = posix.basename(rel);
  const target = fdPath(parent, name);
  const path = joinRooted(parent.path, name);
  const uid = options.owner?.uid ?? header.uid ?? 0;
  const gid = options.owner?.gid ?? header.gid ?? 0;
  const mode = (header.mode ?? 0o644) & 0o7777;
  const override = overrides.get(path);
  if (override !== undefined && (header.type === 'file' || header.type === 'contiguous-file')) {
    await writeFile(override, body);
    return { removedSomething: false };
  }
  const existing = await lstat(target).catch((err: unknown) => {
    if (errnoOf(err) === 'ENOENT') return undefined;
    throw err;
  });
  const isDir = header.type === 'directory';
  let removedSomething = false;
  if (existing !== undefined) {
    if (options.noOverwriteDirNonDir && existing.isDirectory() !== isDir) {
      throw new UnsafeArchiveError(isDir
        ? `cannot overwrite non-directory ${JSON.stringify(path)} with directory ${JSON.stringify(dest.path)}`
        : `cannot overwrite directory ${JSON.stringify(path)} with non-directory ${JSON.stringify(dest.path)}`);
    }
    if (!(existing.isDirectory() && isDir)) {
      await removeTree(root, parent, name);
      removedSomething = true;
    }
  }
  switch (header.type) {
    case 'file':
    case 'contiguous-file': {
      const handle = await open(target, fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL | fsConstants.O_NOFOLLOW, 0o600);
      try {
        for await (const chunk of body) await handle.write(chunk);
        await handle.chown(uid, gid);
        await handle.chmod(mode);
        if (header.mtime) await handle.utimes(header.mtime, header.mtime);
      } finally {
        await handle.close();
      }
      break;
    }
    case 'directory': {
      if (existing === undefined) await mkdir(target, { mode: 0o700 });
      const dir = await root.openDir(parent, name);
      try {
        await dir.handle.chown(uid, gid);
        await dir.handle.chmod(mode);
      } finally {
        await root.release(dir);
      }
      if (header.mtime) dirTimes.push({ path, mtime: header.mtime });
      break;
    }
    case 'symlink':
      await symlink(header.linkname ?? '', target);
      await lchown(target, uid, gid);
      if (header.mtime) await lutimes(target, header.mtime, header.mtime);
      break;
    case 'link': {
      const linked = await root.resolve(joinRooted(dest.path, archiveRelativeName(header.linkname ?? '')), { followLast: false });
      if (linked.stats === undefined || linked.stats.isDirectory()) throw new UnsafeArchiveError(`invalid hardlink ${JSON.stringify(path)} -> ${JSON.stringify(header.linkname ?? '')}`);
      try {
        await link(fdPath(linked.dir, linked.name), target);
      } finally {
        await root.release(linked.dir);
      }
      break;
    }
    case 'character-device':
    case 'block-device':
    case 'fifo': {
      const args = header.type === 'fifo'
        ? [fdPathForChild(parent, name), 'p']
        : [fdPathForChild(parent, name), header.type === 'block-device' ? 'b' : 'c', String(header.devmajor ?? 0), String(header.devminor ?? 0)];
      const made = await runCommand('mknod', ['-m', mode.toString(8), ...args]);
      if (made.exitCode !== 0) throw new InternalError(`mknod ${path}: ${made.stderr.trim()}`);
      await lchown(target, uid, gid);
      break;
    }
    default:
      // Other types (GNU sparse, extended headers tar-stream already applied) are skipped, as docker skips them.
      break;
  }
  return { removedSomething };
}

/** Remove `name` in `dir` and everything below it, never following a symlink. */
export async function removeTree(root: RootedDir, dir: RootedDirHandle, name: string): Promise<void> {
  const stats = await lstat(fdPath(dir, name)).catch(() => undefined);
  if (stats === undefined) return;
  if (!stats.isDirectory()) {
    await unlink(fdPath(dir, name));
    return;
  }
  const child = await root.openDir(dir, name);
  try {
    for (const entry of await readdir(fdPath(child, '.'))) await removeTree(root, child, entry);
  } finally {
    await root.release(child);
  }
  await rmdir(fdPath(dir, name));
}
