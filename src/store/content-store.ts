/**
 * Content-addressed blobs (layers, configs, manifests) under `<root>/image/blobs/sha256/<hex>`.
 * Lifecycle of a write: bytes go to a temp file under `<root>/image/tmp/`, are hashed on the way,
 * fsynced, checked against the expected digest, and only then renamed into place. A blob is
 * therefore visible only once its digest is verified, and a failed or mismatched write leaves
 * nothing behind. Blobs are immutable once visible.
 */
import { createReadStream } from 'node:fs';
import { mkdir, open, readFile, readdir, rename, rm, stat, statfs, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes, createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { BerthError, NoSpaceError, NotFoundError, errnoOf, syncDirectory } from '../common/index.js';
import { type Digest, digestHex, isDigest, parseDigest } from '../oci/index.js';

/** The bytes written do not hash to the digest the caller expected. */
export class DigestMismatchError extends BerthError {
  constructor(expected: string, actual: string) {
    super('invalid-argument', 'BERTH_DIGEST_MISMATCH', `digest mismatch: expected ${expected}, got ${actual}`);
  }
}

/** No blob with that digest is stored. */
export class NoSuchBlobError extends NotFoundError {
  constructor(digest: string) {
    super('BERTH_NO_SUCH_BLOB', `blob not found: ${digest}`);
  }
}

/**
 * The blob would fill the disk: a client can send a small gzip stream that expands without
 * bound (`docker import` of a gzip bomb), so a write stops before the disk's last free space.
 */
export class NoSpaceForBlobError extends NoSpaceError {
  constructor(dir: string, roomBytes: number) {
    super(`the content does not fit: more than ${Math.floor(roomBytes / (1024 * 1024))} MiB would leave ${dir} without free space; nothing was stored`);
  }
}

/** The client that sent the content went away before it was stored. */
export class BlobWriteAbortedError extends BerthError {
  constructor() {
    super('invalid-argument', 'BERTH_WRITE_ABORTED', 'the client went away; nothing was stored');
  }
}

/** Free space a blob write always leaves: 5% of the filesystem, at most 1 GiB. */
async function roomFor(dir: string): Promise<number> {
  const fs = await statfs(dir);
  const reserve = Math.min(1024 ** 3, (fs.blocks * fs.bsize) / 20);
  return fs.bavail * fs.bsize - reserve;
}

/** Where a blob came from and how big it is. */
export interface BlobInfo {
  digest: Digest;
  sizeBytes: number;
}

/** Options for ContentStore.put. */
export interface PutOptions {
  /** When given, the content must hash to this digest or nothing is stored. */
  expectedDigest?: string;
  /** Aborts the write (nothing is stored) when the request behind it ends. */
  signal?: AbortSignal;
}

/** A verified, content-addressed blob store on the local disk. Safe for concurrent puts of the same digest. */
export class ContentStore {
  readonly #blobDir: string;
  readonly #tmpDir: string;

  private constructor(imageRoot: string) {
    this.#blobDir = join(imageRoot, 'blobs', 'sha256');
    this.#tmpDir = join(imageRoot, 'tmp');
  }

  /** Open (creating if needed) the store under `<root>/image`, discarding temp files left by a crash. */
  static async open(root: string): Promise<ContentStore> {
    const store = new ContentStore(join(root, 'image'));
    await mkdir(store.#blobDir, { recursive: true });
    await rm(store.#tmpDir, { recursive: true, force: true });
    await mkdir(store.#tmpDir, { recursive: true });
    return store;
  }

  /** The path of a blob's file, whether or not it exists. Readers must not write to it. */
  path(digest: string): string {
    return join(this.#blobDir, digestHex(digest));
  }

  /**
   * Store `source` (bytes, or a stream that is consumed) and return its digest and size. If the
   * blob already exists the new copy is discarded. With `expectedDigest`, a mismatch throws
   * DigestMismatchError and stores nothing.
   */
  async put(source: Uint8Array | Readable | AsyncIterable<Uint8Array>, options: PutOptions = {}): Promise<BlobInfo> {
    const expected = options.expectedDigest === undefined ? undefined : parseDigest(options.expectedDigest);
    if (expected !== undefined && (await this.has(expected))) {
      // Still drain a stream so the producer is not left blocked.
      if (!(source instanceof Uint8Array)) for await (const _ of source) void _;
      return { digest: expected, sizeBytes: (await stat(this.path(expected))).size };
    }
    const temp = join(this.#tmpDir, `blob-${randomBytes(8).toString('hex')}`);
    const hash = createHash('sha256');
    let sizeBytes = 0;
    const roomBytes = await roomFor(this.#tmpDir);
    const handle = await open(temp, 'wx', 0o644);
    try {
      try {
        const chunks: AsyncIterable<Uint8Array> | Uint8Array[] = source instanceof Uint8Array ? [source] : source;
        for await (const chunk of chunks) {
          if (options.signal?.aborted) throw new BlobWriteAbortedError();
          hash.update(chunk);
          sizeBytes += chunk.length;
          if (sizeBytes > roomBytes) throw new NoSpaceForBlobError(this.#tmpDir, roomBytes);
          await handle.write(chunk).catch((err: unknown) => {
            throw errnoOf(err) === 'ENOSPC' ? new NoSpaceForBlobError(this.#tmpDir, sizeBytes) : err;
          });
        }
        await handle.sync();
      } finally {
        await handle.close();
      }
      const digest: Digest = `sha256:${hash.digest('hex')}`;
      if (expected !== undefined && digest !== expected) throw new DigestMismatchError(expected, digest);
      await rename(temp, this.path(digest));
      await syncDirectory(this.#blobDir);
      return { digest, sizeBytes };
    } catch (err) {
      await unlink(temp).catch(() => {});
      throw err;
    }
  }

  /** True when the blob exists (and was therefore verified). */
  async has(digest: string): Promise<boolean> {
    try {
      await stat(this.path(digest));
      return true;
    } catch (err) {
      if (errnoOf(err) === 'ENOENT') return false;
      throw err;
    }
  }

  /** The blob's size; NoSuchBlobError when absent. */
  async info(digest: string): Promise<BlobInfo> {
    try {
      return { digest: parseDigest(digest), sizeBytes: (await stat(this.path(digest))).size };
    } catch (err) {
      throw notFound(err, digest);
    }
  }

  /** The whole blob in memory; for configs and manifests, not layers. */
  async get(digest: string): Promise<Buffer> {
    try {
      return await readFile(this.path(digest));
    } catch (err) {
      throw notFound(err, digest);
    }
  }

  /** A stream of the blob; NoSuchBlobError (before any data) when absent. */
  async getStream(digest: string): Promise<Readable> {
    const path = this.path(digest);
    await this.info(digest);
    return createReadStream(path);
  }

  /** Remove a blob. Returns false when it was not there. */
  async delete(digest: string): Promise<boolean> {
    try {
      await unlink(this.path(digest));
      return true;
    } catch (err) {
      if (errnoOf(err) === 'ENOENT') return false;
      throw err;
    }
  }

  /** Every stored blob's digest, in no particular order. */
  async list(): Promise<Digest[]> {
    const names = await readdir(this.#blobDir);
    return names.map((name) => `sha256:${name}`).filter((digest): digest is Digest => isDigest(digest));
  }
}

function notFound(err: unknown, digest: string): unknown {
  return errnoOf(err) === 'ENOENT' ? new NoSuchBlobError(digest) : err;
}
