/**
 * The manifest that describes a stored image, for push and save: the one it came with when the
 * stored blobs still match it (so its digest stays what the registry knows), else a Docker v2
 * schema 2 manifest made from the stored config and layer blobs.
 */
import { type ImageManifest, MediaType } from '../oci/index.js';
import { type ContentStore, type ImageRecord, NoSuchBlobError } from '../store/index.js';

/** The manifest bytes and media type of `record` (see the file comment). */
export async function manifestOf(content: ContentStore, record: ImageRecord): Promise<{ bytes: Buffer; mediaType: string }> {
  if (record.manifestDigest !== undefined && (await content.has(record.manifestDigest))) {
    const bytes = await content.get(record.manifestDigest);
    const stored = JSON.parse(bytes.toString('utf8')) as Partial<ImageManifest>;
    const matches = stored.config?.digest === record.id
      && stored.layers?.length === record.layers.length
      && stored.layers.every((layer, index) => layer.digest === record.layers[index]!.blobDigest);
    if (matches) return { bytes, mediaType: stored.mediaType ?? record.manifestMediaType ?? MediaType.dockerManifest };
  }
  const config = await content.info(record.id);
  const layers = [];
  for (const layer of record.layers) {
    if (layer.blobDigest === undefined) throw new NoSuchBlobError(layer.diffId);
    const info = await content.info(layer.blobDigest);
    layers.push({ mediaType: layer.mediaType ?? MediaType.dockerLayer, size: info.sizeBytes, digest: layer.blobDigest });
  }
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: MediaType.dockerManifest,
    config: { mediaType: MediaType.dockerConfig, size: config.sizeBytes, digest: record.id },
    layers,
  };
  return { bytes: Buffer.from(JSON.stringify(manifest)), mediaType: MediaType.dockerManifest };
}
