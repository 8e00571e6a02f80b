/**
 * Tar archives of trees inside a RootedDir: a path of a container's rootfs (what `docker cp`
 * reads), the whole rootfs (`docker export`), and the walker the overlay diff builds on.
 * Entries are read through directory descriptors and opened with O_NOFOLLOW, so a container
 * rearranging its files while we read can make the archive fail but never put a file from
 * outside its tree into it. Names come in lexical order per directory, directories first
 * (as Go's filepath.Walk, which docker's archives follow); hardlinked files become tar links.
 */
import { constants as fsConstants, type Stats } from 'node:fs';
import { lstat, open, readdir, readlink } from 'node:fs/promises';
import tar from 'tar-stream';
import { errnoOf } from '../common/index.js';
import { fdPath, joinRooted, type RootedDir, type RootedDirHandle, type RootedEntry } from './rooted-dir.js';

/** One entry met by walkTree. */
export interface WalkEntry {
  dir: RootedDirHandle;
  name: string;
  /** Path inside the tree (`/etc/passwd`). */
  path: string;
  /** Path relative to where the walk started (`passwd`). */
  rel: string;
  stats: Stats;
}

/**
 * Visit every entry below `start` (not `start` itself), depth first, names sorted. `visit`
 * returns whether to descend into a directory. Entries that vanish meanwhile are skipped.
 */
export async function walkTree(root: RootedDir, start: RootedDirHandle, visit: (entry: WalkEntry) => Promise<boolean>, rel = ''): Promise<void> {
  let names: string[];
  try {
    names = (await readdir(fdPath(start, '.'))).sort(compareNames);
  } catch (err) {
    if (errnoOf(err) === 'ENOENT') return;
    throw err;
  }
  for (const name of names) {
    let stats: Stats;
    try {
      stats = await lstat(fdPath(start, name));
    } catch (err) {
      if (errnoOf(err) === 'ENOENT') continue;
      throw err;
    }
    const entry: WalkEntry = { dir: start, name, path: joinRooted(start.path, name), rel: rel === '' ? name : `${rel}/${name}`, stats };
    const descend = await visit(entry);
    if (!descend || !stats.isDirectory()) continue;
    let child: RootedDirHandle;
    try {
      child = await root.openDir(start, name);
    } catch (err) {
      // Gone, or swapped for a symlink since the lstat: never follow it.
      if (errnoOf(err) === 'ENOENT' || errnoOf(err) === 'ELOOP' || errnoOf(err) === 'ENOTDIR') continue;
      throw err;
    }
    try {
      await walkTree(root, child, visit, entry.rel);
    } finally {
      await root.release(child);
    }
  }
}

// Go sorts names bytewise; localeCompare would not.
function compareNames(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

/** Device major and minor of a stat's rdev (glibc's encoding). */
export function deviceNumbers(rdev: number): { major: number; minor: number } {
  const high = Math.floor(rdev / 2 ** 32);
  const low = rdev >>> 0;
  return { major: ((low >>> 8) & 0xfff) | (high & ~0xfff), minor: (low & 0xff) | ((low >>> 12) & 0xfff00) };
}

/**
 * Writes tar entries while a consumer reads the archive; the producer runs as the consumer
 * iterates, so memory stays bounded. Used by the packers here and the overlay diff.
 */
export class TarWriter {
  readonly #pack = tar.pack();
  readonly #links = new Map<string, string>();

  /** Run `produce` and yield the archive's bytes; a failure of `produce` ends the iteration with it. */
  static run(produce: (writer: TarWriter) => Promise<void>): AsyncIterable<Buffer> {
    const writer = new TarWriter();
    const pack = writer.#pack;
    let failure: unknown;
    const producing = produce(writer).then(
      () => pack.finalize(),
      (err: unknown) => {
        failure = err;
        pack.destroy(err instanceof Error ? err : new Error(String(err)));
      },
    );
    return {
      async *[Symbol.asyncIterator]() {
        try {
          for await (const chunk of pack) yield chunk as Buffer;
        } catch (err) {
          await producing;
          throw failure ?? err;
        } finally {
          // The consumer stopped early (a client went away): stop the producer too.
          if (!pack.destroyed) pack.destroy();
          await producing.catch(() => {});
        }
        await producing;
        if (failure !== undefined) throw failure;
      },
    };
  }

  /** Add an entry for `stats` under `name`; regular file content is read from `source` (an fd path). */
  async add(name: string, stats: Stats, source: { dir: RootedDirHandle; name: string } | { hostPath: string }): Promise<void> {
    const base = { mode: stats.mode & 0o7777, uid: stats.uid, gid: stats.gid, mtime: stats.mtime };
    const from = 'hostPath' in source ? source.hostPath : fdPath(source.dir, source.name);
    if (stats.isDirectory()) {
      await this.#entry({ ...base, name: name.endsWith('/') ? name : `${name}/`, type: 'directory' });
    } else if (stats.isSymbolicLink()) {
      await this.#entry({ ...base, name, type: 'symlink', linkname: await readlink(from) });
    } else if (stats.isFile()) {
      const key = `${stats.dev}:${stats.ino}`;
      const first = stats.nlink > 1 ? this.#links.get(key) : undefined;
      if (first !== undefined) {
        await this.#entry({ ...base, name, type: 'link', linkname: first });
        return;
      }
      if (stats.nlink > 1) this.#links.set(key, name);
      await this.#file({ ...base, name, type: 'file', size: stats.size }, from);
    } else if (stats.isCharacterDevice() || stats.isBlockDevice() || stats.isFIFO()) {
      const { major, minor } = deviceNumbers(stats.rdev);
      const type = stats.isFIFO() ? 'fifo' : stats.isCharacterDevice() ? 'character-device' : 'block-device';
      await this.#entry({ ...base, name, type, devmajor: major, devminor: minor });
    }
    // Sockets are left out, as docker leaves them out.
  }

  /**
   * Add an entry from its header as given; a regular file's body is `body` (in memory) or
   * read from `body.hostPath`, and must be the header's size.
   */
  async addHeader(header: Partial<tar.Header> & { name: string }, body?: Buffer | { hostPath: string }): Promise<void> {
    if (header.type === 'file' && body !== undefined && !Buffer.isBuffer(body)) return this.#file(header, body.hostPath);
    await this.#entry(header, Buffer.isBuffer(body) ? body : undefined);
  }

  /** Add an empty regular file (overlay diff markers such as `.wh.name`). */
  async addEmptyFile(name: string, stats: { mode: number; uid: number; gid: number; mtime: Date }): Promise<void> {
    await this.#entry({ name, type: 'file', size: 0, mode: stats.mode & 0o7777, uid: stats.uid, gid: stats.gid, mtime: stats.mtime });
  }

  #entry(header: Partial<tar.Header> & { name: string }, data?: Buffer): Promise<void> {
    return new Promise((resolve, reject) => {
      const done = (err?: Error | null): void => (err ? reject(err) : resolve());
      // A file entry without a buffer waits for its body to be written: give empty ones an empty body.
      if (header.type === 'file') this.#pack.entry(header, data ?? Buffer.alloc(0), done);
      else this.#pack.entry(header, done);
    });
  }

  // The size in the header is the lstat's: a file that grows meanwhile is cut, one that shrinks padded, so the archive stays valid.
  async #file(header: Partial<tar.Header> & { name: string }, from: string): Promise<void> {
    const size = header.size ?? 0;
    const handle = await open(from, fsConstants.O_RDONLY | fsConstants.O_NOFOLLOW);
    try {
      let done: (err?: Error | null) => void = () => {};
      const finished = new Promise<void>((resolve, reject) => (done = (err) => (err ? reject(err) : resolve())));
      const sink = this.#pack.entry(header, (err) => done(err));
      // Sized to the file (most are small) and not zeroed: each chunk read is copied out of it.
      const buffer = Buffer.allocUnsafe(Math.min(64 * 1024, Math.max(size, 1)));
      let written = 0;
      while (written < size) {
        const { bytesRead } = await handle.read(buffer, 0, Math.min(buffer.length, size - written), null);
        const chunk = bytesRead === 0 ? Buffer.alloc(Math.min(buffer.length, size - written)) : Buffer.from(buffer.subarray(0, bytesRead));
        written += chunk.length;
        if (!sink.write(chunk)) {
          await new Promise<void>((resolve, reject) => {
            const onDrain = (): void => {
              sink.off('close', onClose);
              resolve();
            };
            const onClose = (): void => {
              sink.off('drain', onDrain);
              reject(new Error('archive closed'));
            };
            sink.once('drain', onDrain);
            sink.once('close', onClose);
          });
        }
      }
      sink.end(null);
      await finished;
    } finally {
      await handle.close();
    }
  }
}

/** Options for packPath. */
export interface PackPathOptions {
  /** The archive name of the packed entry itself (docker's rebase: the name the user asked for). */
  rebaseName: string;
  /** Files bind-mounted over the tree (a container's /etc/hosts...): tree path to host path. */
  overrides?: ReadonlyMap<string, string>;
}

/**
 * A tar of `entry` (a file, symlink or directory with everything below it) as `docker cp`
 * sends it: the first entry named `rebaseName`, the rest below it.
 */
export function packPath(root: RootedDir, entry: RootedEntry, options: PackPathOptions): AsyncIterable<Buffer> {
  const overrides = options.overrides ?? new Map<string, string>();
  return TarWriter.run(async (writer) => {
    const stats = entry.stats;
    if (stats === undefined) return;
    const override = overrides.get(entry.path);
    if (override !== undefined) {
      await writer.add(options.rebaseName, await lstat(override), { hostPath: override });
      return;
    }
    await writer.add(options.rebaseName, stats, entry);
    if (!stats.isDirectory()) return;
    const top = entry.name === '.' ? entry.dir : await root.openDir(entry.dir, entry.name);
    await packBelow(root, top, options.rebaseName, writer, overrides);
  });
}

/** A tar of everything below the tree's top, names relative to it (`docker export`). */
export function packTop(root: RootedDir, overrides: ReadonlyMap<string, string> = new Map()): AsyncIterable<Buffer> {
  return TarWriter.run((writer) => packBelow(root, root.top, '', writer, overrides));
}

async function packBelow(root: RootedDir, top: RootedDirHandle, prefix: string, writer: TarWriter, overrides: ReadonlyMap<string, string>): Promise<void> {
  const nameOf = (rel: string): string => (prefix === '' ? rel : `${prefix.replace(/\/$/, '')}/${rel}`);
  await walkTree(root, top, async (item) => {
    const override = overrides.get(item.path);
    if (override !== undefined && item.stats.isFile()) {
      await writer.add(nameOf(item.rel), await lstat(override), { hostPath: override });
      return false;
    }
    await writer.add(nameOf(item.rel), item.stats, item);
    return true;
  });
}
