/**
 * Unpacked image layers for overlayfs, one directory per chain id:
 *   <root>/overlay/<chain-hex>/diff        the layer's own files (with overlay whiteouts)
 *   <root>/overlay/<chain-hex>/layer.json  what was unpacked (written last: it marks completion)
 *   <root>/overlay/l/<26 chars>            short link to ../<chain-hex>/diff, so the lowerdir
 *                                          option of a deep image stays under a page
 * A layer is unpacked into a temp directory and renamed into place only on success, so a layer
 * directory either is complete or does not exist. Layers are shared by every image using them;
 * deciding when one is unused is the caller's job.
 */
import { mkdir, readFile, readdir, rename, rm, stat, symlink, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import { BerthError, type Logger, errnoOf, silentLogger, writeJsonAtomic } from '../common/index.js';
import { type Digest, digestHex, isDigest } from '../oci/index.js';
import type { Mounter } from '../sys/index.js';
import { extractLayer } from './layer-extractor.js';

/** The uncompressed layer does not hash to the diff id the image config names. */
export class LayerDigestMismatchError extends BerthError {
  constructor(expected: string, actual: string) {
    super('invalid-argument', 'BERTH_LAYER_DIGEST_MISMATCH', `layer digest mismatch: expected diff id ${expected}, got ${actual}`);
  }
}

/** What is known about one unpacked layer. */
export interface LayerInfo {
  chainId: Digest;
  diffId: Digest;
  /** Bytes of regular files in the layer. */
  sizeBytes: number;
  /** The short lowerdir path, `<root>/overlay/l/<id>`. */
  lowerDir: string;
}

/** What to mount: lowerDirs top layer first, as overlay's lowerdir option lists them. */
export interface OverlayMount {
  lowerDirs: readonly string[];
  /** Writable layer; omit both upperDir and workDir for a read-only mount. */
  upperDir?: string;
  workDir?: string;
  mergedDir: string;
}

/** Options for OverlaySnapshotter.open. */
export interface OverlaySnapshotterOptions {
  root: string;
  mounter: Mounter;
  logger?: Logger;
  /** Passed to the extractor; defaults to running as root. */
  isPrivileged?: boolean;
}

const LINK_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** Layer unpacking and overlay mounts. Concurrent unpacks of one chain id share one extraction. */
export class OverlaySnapshotter {
  readonly #dir: string;
  readonly #mounter: Mounter;
  readonly #logger: Logger;
  readonly #isPrivileged: boolean | undefined;
  readonly #inFlight = new Map<string, Promise<LayerInfo>>();

  private constructor(options: OverlaySnapshotterOptions) {
    this.#dir = join(options.root, 'overlay');
    this.#mounter = options.mounter;
    this.#logger = options.logger ?? silentLogger;
    this.#isPrivileged = options.isPrivileged;
  }

  /** Open `<root>/overlay`, removing half-unpacked layers a crash left behind. */
  static async open(options: OverlaySnapshotterOptions): Promise<OverlaySnapshotter> {
    const snapshotter = new OverlaySnapshotter(options);
    await mkdir(join(snapshotter.#dir, 'l'), { recursive: true });
    await mkdir(join(snapshotter.#dir, 'empty'), { recursive: true });
    for (const name of await readdir(snapshotter.#dir)) {
      if (name.startsWith('.tmp-')) {
        snapshotter.#logger.warn('removing a half-unpacked layer', { path: join(snapshotter.#dir, name) });
        await rm(join(snapshotter.#dir, name), { recursive: true, force: true });
      }
    }
    return snapshotter;
  }

  /** The layer's directory of files (with overlay whiteouts). */
  diffDir(chainId: string): string {
    return join(this.#dir, digestHex(chainId), 'diff');
  }

  /** The short path to use in lowerdir; derived from the chain id, so computing it reads nothing. */
  lowerDir(chainId: string): string {
    const bytes = Buffer.from(digestHex(chainId), 'hex');
    let bits = 0;
    let value = 0;
    let out = '';
    for (const byte of bytes) {
      value = (value << 8) | byte;
      bits += 8;
      while (bits >= 5 && out.length < 26) {
        out += LINK_ALPHABET[(value >>> (bits - 5)) & 31];
        bits -= 5;
      }
      value &= (1 << bits) - 1;
    }
    return join(this.#dir, 'l', out);
  }

  /** True when the layer is completely unpacked. One stat; touches no content. */
  async hasLayer(chainId: string): Promise<boolean> {
    try {
      await stat(join(this.#dir, digestHex(chainId), 'layer.json'));
      return true;
    } catch (err) {
      if (errnoOf(err) === 'ENOENT') return false;
      throw err;
    }
  }

  /** The record of an unpacked layer, or undefined. */
  async layerInfo(chainId: string): Promise<LayerInfo | undefined> {
    try {
      return JSON.parse(await readFile(join(this.#dir, digestHex(chainId), 'layer.json'), 'utf8')) as LayerInfo;
    } catch (err) {
      if (errnoOf(err) === 'ENOENT') return undefined;
      throw err;
    }
  }

  /** Chain ids of every unpacked layer. */
  async listLayers(): Promise<Digest[]> {
    const out: Digest[] = [];
    for (const name of await readdir(this.#dir)) {
      const chainId = `sha256:${name}`;
      if (isDigest(chainId) && (await this.hasLayer(chainId))) out.push(chainId);
    }
    return out;
  }

  /**
   * Chain ids of every layer directory, complete or not (a removal cut short leaves one without
   * layer.json), for sweeping those no image uses.
   */
  async layerDirs(): Promise<Digest[]> {
    return (await readdir(this.#dir)).map((name) => `sha256:${name}`).filter((chainId): chainId is Digest => isDigest(chainId));
  }

  /**
   * Unpack `source` (a layer tar, plain or gzip) as layer `chainId`, unless it already is; then
   * `source` is not read and the caller should discard it. With `expectedDiffId`, an uncompressed
   * digest mismatch fails. On any failure nothing of the layer remains.
   */
  unpack(chainId: string, source: () => Promise<Readable | AsyncIterable<Uint8Array>>, expectedDiffId?: string): Promise<LayerInfo> {
    const running = this.#inFlight.get(chainId);
    if (running !== undefined) return running;
    const job = this.#unpack(chainId, source, expectedDiffId).finally(() => this.#inFlight.delete(chainId));
    this.#inFlight.set(chainId, job);
    return job;
  }

  async #unpack(chainId: string, source: () => Promise<Readable | AsyncIterable<Uint8Array>>, expectedDiffId?: string): Promise<LayerInfo> {
    const existing = await this.layerInfo(chainId);
    if (existing !== undefined) return existing;
    const hex = digestHex(chainId);
    const temp = join(this.#dir, `.tmp-${hex.slice(0, 12)}-${randomBytes(6).toString('hex')}`);
    const lowerDir = this.lowerDir(chainId);
    try {
      await mkdir(join(temp, 'diff'), { recursive: true, mode: 0o700 });
      const result = await extractLayer(await source(), join(temp, 'diff'), this.#isPrivileged === undefined ? {} : { isPrivileged: this.#isPrivileged });
      if (expectedDiffId !== undefined && result.diffId !== expectedDiffId) throw new LayerDigestMismatchError(expectedDiffId, result.diffId);
      const info: LayerInfo = { chainId: `sha256:${hex}`, diffId: result.diffId, sizeBytes: result.sizeBytes, lowerDir };
      await writeJsonAtomic(join(temp, 'layer.json'), info, 0o600);
      await unlink(lowerDir).catch(() => {});
      await symlink(`../${hex}/diff`, lowerDir);
      // A directory without layer.json can only be an interrupted removal: replace it.
      await rm(join(this.#dir, hex), { recursive: true, force: true });
      await rename(temp, join(this.#dir, hex));
      return info;
    } catch (err) {
      await rm(temp, { recursive: true, force: true });
      throw err;
    }
  }

  /** Remove an unpacked layer and its short link. No-op when absent; callers ensure nothing mounts it. */
  async removeLayer(chainId: string): Promise<void> {
    const hex = digestHex(chainId);
    // layer.json first, so a crash midway leaves a directory open() treats as incomplete.
    await rm(join(this.#dir, hex, 'layer.json'), { force: true });
    await unlink(this.lowerDir(chainId)).catch(() => {});
    await rm(join(this.#dir, hex), { recursive: true, force: true });
  }

  /**
   * Mount an overlay at `mergedDir` (which must exist). Lower dirs under `<root>/overlay/l/` are
   * passed relative to `<root>/overlay`, as docker does, so even a deep image fits in a page.
   */
  async mount(spec: OverlayMount): Promise<void> {
    const prefix = join(this.#dir, 'l') + '/';
    const lowers = spec.lowerDirs.length > 0 ? spec.lowerDirs : [join(this.#dir, 'empty')];
    const options = [`lowerdir=${lowers.map((dir) => (dir.startsWith(prefix) ? dir.slice(this.#dir.length + 1) : dir)).join(':')}`];
    const hasUpper = spec.upperDir !== undefined && spec.workDir !== undefined;
    if (hasUpper) options.push(`upperdir=${spec.upperDir}`, `workdir=${spec.workDir}`);
    if (!hasUpper && lowers.length === 1) {
      // overlay needs two lowers without an upper; one read-only layer is a read-only bind mount.
      await this.#mounter.mount({ source: lowers[0]!, target: spec.mergedDir, options: ['bind', 'ro'] });
      return;
    }
    await this.#mounter.mount({ source: 'overlay', target: spec.mergedDir, type: 'overlay', options, cwd: this.#dir });
  }

  /** Unmount `mergedDir`; idempotent, detaching lazily when busy. */
  unmount(mergedDir: string): Promise<void> {
    return this.#mounter.unmount(mergedDir);
  }

  /** True when something is mounted at `path`. */
  isMounted(path: string): Promise<boolean> {
    return this.#mounter.isMounted(path);
  }
}

