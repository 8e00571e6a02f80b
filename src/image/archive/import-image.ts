/**
 * `docker import`: a root filesystem tar (plain or gzip) becomes a one-layer image, with the
 * config docker writes (host platform, creation time, "Imported from -" history) and the
 * `--change` instructions docker accepts for import, parsed by the same applyChanges (oci/)
 * commit uses. The layer is stored uncompressed: its digest is its diff id.
 */
import type { Readable } from 'node:stream';
import { InvalidArgumentError, crashPoint } from '../../common/index.js';
import { applyChanges, type ImageConfig, MediaType } from '../../oci/index.js';
import { decompressed } from '../../snapshot/index.js';
import type { LocalImages } from '../local-images.js';
import type { Image } from '../image.js';
import { hostArchitecture } from '../registry/manifests.js';

/** Options of one import. */
export interface ImportOptions {
  /** `name[:tag]` to tag the image with. */
  ref?: string;
  /** The history comment; docker's default is "Imported from -". */
  message?: string;
  /** Dockerfile instructions applied to the config (`CMD ["sh"]`, `ENV A=b`). */
  changes?: string[];
  /** The request's: when its client goes, the import stops and stores nothing. */
  signal?: AbortSignal;
}

/** Import `source` as a new image; on failure nothing is left. */
export async function importImage(service: LocalImages, source: Readable, options: ImportOptions): Promise<Image> {
  // All changes are checked before the first byte is read: a bad one stores nothing.
  const runtime = applyChanges({}, options.changes ?? []);
  const tarStream = await uncompressed(source);
  const blob = await service.content.put(tarStream, options.signal !== undefined ? { signal: options.signal } : {});
  crashPoint('import.blob-stored');
  const created = new Date().toISOString();
  const comment = options.message || 'Imported from -';
  const config: ImageConfig = {
    architecture: hostArchitecture(),
    os: 'linux',
    created,
    ...(Object.keys(runtime).length > 0 ? { config: runtime } : {}),
    rootfs: { type: 'layers', diff_ids: [blob.digest] },
    history: [{ created, comment }],
    comment,
  };
  const release = service.claimBlobs([blob.digest]);
  try {
    const image = await service.addImage({ configBytes: Buffer.from(JSON.stringify(config)), layers: [{ blobDigest: blob.digest, mediaType: MediaType.dockerLayer }] }, options.ref !== undefined ? [options.ref] : []);
    release();
    return image;
  } catch (err) {
    release();
    await service.discardBlobs([blob.digest]);
    throw err;
  }
}

async function uncompressed(source: Readable): Promise<Readable> {
  const { stream, head } = await decompressed(source);
  if (head.length === 0) throw new InvalidArgumentError('the import source is empty');
  return stream;
}
