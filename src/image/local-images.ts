/**
 * What pull, push, save, load and import need of the local image store: its blobs, its
 * snapshotter, its records and references, and the claims that keep a failing operation from
 * deleting blobs another one still needs. ImageService implements it; registry/ and archive/
 * depend on this interface only, so they and the service do not import each other.
 */
import type { Digest } from '../oci/index.js';
import type { OverlaySnapshotter } from '../snapshot/index.js';
import type { ContentStore, ImageRecord, ImageReference, ImageSource } from '../store/index.js';
import type { Image } from './image.js';

/** A layer blob already in the content store, bottom first, for addImage. */
export interface AddImageLayer {
  blobDigest: Digest;
  mediaType: string;
}

/** An image to store from blobs: its config bytes and layer blobs (already in `content`). */
export interface AddImageInput {
  configBytes: Uint8Array;
  layers: readonly AddImageLayer[];
  manifestBytes?: Uint8Array;
  manifestMediaType?: string;
  source?: ImageSource;
}

/** The local store as the transfer operations (registry/, archive/) see it. */
export interface LocalImages {
  /** Blobs; pull, load and build put theirs here before calling addImage. */
  readonly content: ContentStore;
  /** The unpacked layers. */
  readonly snapshotter: OverlaySnapshotter;
  /** Layer downloads in flight by blob digest, so concurrent pulls fetch each layer once. */
  readonly downloads: Map<string, Promise<void>>;
  /** Mark `digests` as needed by an operation in progress; call the returned function once when done. */
  claimBlobs(digests: readonly string[]): () => void;
  /** Delete those of `digests` that no image references and no operation in progress claims. */
  discardBlobs(digests: readonly string[]): Promise<void>;
  /** Remove those of the unpacked layers `chainIds` that no image uses. */
  discardLayers(chainIds: readonly string[]): Promise<void>;
  /** Store an image whose layer blobs are already in `content`, and point `tags` at it. */
  addImage(input: AddImageInput, tags?: readonly string[]): Promise<Image>;
  /** The full record of the image `ref` names; NoSuchImageError when none. */
  recordOf(ref: string): ImageRecord;
  /** Every stored reference with the image it names. */
  referenceEntries(): Array<{ reference: ImageReference; imageId: string }>;
  /** Every blob (config, manifest, layers) the image `imageId` uses. */
  blobsOf(imageId: string): string[];
  /** The image id `ref` points at, if any. */
  imageIdOf(ref: ImageReference): Promise<string | undefined>;
  /** Point the digest reference `name@sha256:...` at `imageId`. */
  setDigestReference(reference: string, imageId: string): Promise<void>;
}

/** The blobs an image record uses: its config, its manifest (when known) and its layer blobs. */
export function blobsOfRecord(record: ImageRecord): string[] {
  return [record.id, ...(record.manifestDigest ? [record.manifestDigest] : []), ...record.layers.flatMap((layer) => (layer.blobDigest ? [layer.blobDigest] : []))];
}

/** Every blob the given records use. */
export function blobsUsedBy(records: readonly ImageRecord[]): Set<string> {
  return new Set(records.flatMap(blobsOfRecord));
}
