/**
 * One metadata record per image at `<root>/image/images/<hex>.json`: the parsed config, manifest
 * digest, layers with their chain ids and sizes. It holds everything `get`/`list`/`lowerDirs`
 * need, so those never read blob content; every field can be rebuilt from the blobs.
 */
import { mkdir, readFile, readdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { InternalError, errnoOf, writeJsonAtomic } from '../common/index.js';
import { type Digest, type ImageConfig, digestHex, isDigest } from '../oci/index.js';

/** One layer of an image, bottom first in ImageRecord.layers. */
export interface LayerRecord {
  /** Digest of the uncompressed layer tar, from the config's rootfs.diff_ids. */
  diffId: Digest;
  /** Identity of the stack up to and including this layer; names its unpacked directory. */
  chainId: Digest;
  /** The layer blob in the content store (possibly compressed); absent when only unpacked. */
  blobDigest?: Digest;
  mediaType?: string;
  /** Size of the stored blob. */
  blobSizeBytes?: number;
  /** Bytes of regular files once unpacked (docker's layer size). */
  sizeBytes: number;
}

/** Where an image came from when Berth made it itself; lets callers skip rebuilding it. */
export interface ImageSource {
  kind: string;
  path?: string;
  sizeBytes?: number;
  mtimeMs?: number;
}

/** Berth's record of one stored image. */
export interface ImageRecord {
  /** `sha256:<hex>` of the config blob: the image id. */
  id: Digest;
  manifestDigest?: Digest;
  manifestMediaType?: string;
  /** When this engine stored the image (ISO 8601). */
  addedAt: string;
  /** Sum of the layers' unpacked sizes. */
  sizeBytes: number;
  layers: LayerRecord[];
  config: ImageConfig;
  source?: ImageSource;
  /**
   * Set when `rmi -f <id>` deleted the image while stopped containers used it: the record stays
   * only so they can still start (dockerd keeps their layers the same way), hidden from every
   * lookup but theirs, and goes with the last of them.
   */
  isHeldForContainers?: boolean;
}

/** The image records, loaded once and written through; callers serialise writes. */
export class ImageRecordStore {
  readonly #dir: string;
  readonly #records = new Map<string, ImageRecord>();

  private constructor(dir: string) {
    this.#dir = dir;
  }

  /** Load every record under `<root>/image/images`; a file that does not parse is a hard error. */
  static async open(root: string): Promise<ImageRecordStore> {
    const store = new ImageRecordStore(join(root, 'image', 'images'));
    await mkdir(store.#dir, { recursive: true });
    for (const name of await readdir(store.#dir)) {
      if (!/^[0-9a-f]{64}\.json$/.test(name)) continue;
      const path = join(store.#dir, name);
      let record: ImageRecord;
      try {
        record = JSON.parse(await readFile(path, 'utf8')) as ImageRecord;
      } catch (err) {
        throw new InternalError(`image record ${path} is unreadable: ${(err as Error).message}`, { cause: err });
      }
      if (!isDigest(record.id) || `${digestHex(record.id)}.json` !== name) {
        throw new InternalError(`image record ${path} does not match its file name`);
      }
      store.#records.set(record.id, record);
    }
    return store;
  }

  get(id: string): ImageRecord | undefined {
    return this.#records.get(id);
  }

  /** Every record, in no particular order. */
  all(): ImageRecord[] {
    return [...this.#records.values()];
  }

  /** Write `record` atomically, then make it visible. */
  async put(record: ImageRecord): Promise<void> {
    await writeJsonAtomic(join(this.#dir, `${digestHex(record.id)}.json`), record, 0o600);
    this.#records.set(record.id, record);
  }

  /** Remove a record; no-op when absent. */
  async delete(id: string): Promise<void> {
    this.#records.delete(id);
    try {
      await unlink(join(this.#dir, `${digestHex(id)}.json`));
    } catch (err) {
      if (errnoOf(err) !== 'ENOENT') throw err;
    }
  }
}
