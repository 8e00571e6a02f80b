/**
 * The build context: the tar a client sends with `POST /build`, unpacked into a private
 * directory for the length of one build. Unpacking goes through the same hardened extractor
 * as `docker cp` (the archive is checked whole first, so a hostile one changes nothing: no
 * entry may leave the directory by `..`, an absolute name, a symlink or a hardlink), and every
 * later read resolves paths inside it as a chroot would, so a symlink in the context never
 * reaches the host.
 */
import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, open, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { BerthError, DockerignoreMatcher, errnoOf, InvalidArgumentError, messageOf, parseDockerignore } from '../common/index.js';
import {
  checkArchive, decompressed, fdPath, removeTree, RootedDir, RootedPathNotFoundError, unpackArchive, type RootedEntry,
} from '../snapshot/index.js';

/** The name docker-py gives a Dockerfile from outside the context when it adds it to the tar. */
export const DEFAULT_DOCKERFILE = 'Dockerfile';

/** A failure to read the Dockerfile from the context (docker's message, a 400). */
export class DockerfileNotFoundError extends InvalidArgumentError {}

/** An unpacked build context; close() removes it. */
export class BuildContext {
  readonly dir: string;
  readonly root: RootedDir;

  private constructor(dir: string, root: RootedDir) {
    this.dir = dir;
    this.root = root;
  }

  /**
   * Unpack the context tar (plain or gzip) from `source` into a new directory below `parentDir`.
   * A refused archive is an UnsafeArchiveError and leaves nothing behind.
   */
  static async receive(source: AsyncIterable<Uint8Array>, parentDir: string): Promise<BuildContext> {
    await mkdir(parentDir, { recursive: true, mode: 0o700 });
    const dir = await mkdtemp(join(parentDir, 'ctx-'));
    const spool = `${dir}.tar`;
    let root: RootedDir | undefined;
    try {
      const { stream } = await decompressed(source);
      const handle = await open(spool, 'wx', 0o600);
      try {
        for await (const chunk of stream) await handle.write(chunk as Uint8Array);
      } finally {
        await handle.close();
      }
      root = await RootedDir.open(dir);
      const read = (): AsyncIterable<Uint8Array> => createReadStream(spool);
      const options = { noOverwriteDirNonDir: false };
      await checkArchive(root, root.top, read, options);
      await unpackArchive(root, root.top, read, options);
      return new BuildContext(dir, root);
    } catch (err) {
      await root?.close();
      await rm(dir, { recursive: true, force: true });
      if (err instanceof BerthError) throw err;
      // A body that is no tar (or a broken gzip) is the client's error, as docker answers it.
      if (errnoOf(err) === undefined || errnoOf(err)!.startsWith('Z_')) throw new InvalidArgumentError(`failed to read the build context: ${messageOf(err)}`, { cause: err });
      throw err;
    } finally {
      await rm(spool, { force: true });
    }
  }

  /** Resolve a context path (following symlinks inside the context only); undefined when missing. */
  async resolve(path: string): Promise<RootedEntry | undefined> {
    try {
      const entry = await this.root.resolve(`/${path}`, { followLast: true });
      if (entry.stats === undefined) {
        await this.root.release(entry.dir);
        return undefined;
      }
      return entry;
    } catch (err) {
      if (err instanceof RootedPathNotFoundError) return undefined;
      throw err;
    }
  }

  /** A regular file's content, or undefined when it is missing or not a file. */
  async readFile(path: string): Promise<Buffer | undefined> {
    const entry = await this.resolve(path);
    if (entry === undefined) return undefined;
    try {
      if (!entry.stats!.isFile()) return undefined;
      return await readFile(fdPath(entry.dir, entry.name));
    } finally {
      await this.root.release(entry.dir);
    }
  }

  /**
   * The Dockerfile's text. As docker's classic builder: the path is taken inside the context,
   * and an excluded Dockerfile or `.dockerignore` is dropped from the context afterwards.
   */
  async takeDockerfile(path: string): Promise<string> {
    const name = path === '' ? DEFAULT_DOCKERFILE : path.replace(/^\.?\/+/, '');
    let text = await this.readFile(name);
    if (text === undefined && path === '') text = await this.readFile(DEFAULT_DOCKERFILE.toLowerCase());
    if (text === undefined) {
      throw new DockerfileNotFoundError(`Cannot locate specified Dockerfile: ${path === '' ? DEFAULT_DOCKERFILE : path}`);
    }
    const ignore = await this.readFile('.dockerignore');
    if (ignore !== undefined) {
      const matcher = new DockerignoreMatcher(parseDockerignore(ignore.toString('utf8')));
      for (const file of [name, '.dockerignore']) {
        if (matcher.isIgnored(file)) await this.#remove(file);
      }
    }
    return text.toString('utf8');
  }

  async #remove(path: string): Promise<void> {
    const entry = await this.resolve(path).catch(() => undefined);
    if (entry === undefined) return;
    try {
      await removeTree(this.root, entry.dir, entry.name);
    } finally {
      await this.root.release(entry.dir);
    }
  }

  async close(): Promise<void> {
    await this.root.close();
    await rm(this.dir, { recursive: true, force: true });
  }
}
