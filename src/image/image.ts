/**
 * The engine-facing view of a stored image, and its conversion from Berth's image record.
 */
import type { Digest, ImageConfig } from '../oci/index.js';
import type { ImageRecord } from '../store/index.js';

/** A stored image as the engine and API translators see it (docker's inspect fields, camelCase). */
export interface Image {
  /** `sha256:<hex>` of the config blob. */
  id: Digest;
  /** Familiar `name:tag` forms, sorted. */
  repoTags: string[];
  /** Familiar `name@sha256:...` forms, sorted. */
  repoDigests: string[];
  parent: string;
  comment: string;
  /** The config's creation time (RFC 3339), or '' when it has none. */
  created: string;
  author: string;
  config: ImageConfig;
  architecture: string;
  os: string;
  /** Sum of the unpacked layer sizes. */
  sizeBytes: number;
  /** Bottom layer first. */
  layerChainIds: Digest[];
  /** Bottom layer first; the config's rootfs.diff_ids. */
  diffIds: Digest[];
  manifestDigest?: Digest;
}

/** One line of `docker history`, newest first. */
export interface ImageHistoryItem {
  /** The image id for the newest step, `<missing>` for the rest, as docker prints them. */
  id: string;
  /** Seconds since the epoch; 0 when unknown. */
  createdSec: number;
  createdBy: string;
  tags: string[];
  sizeBytes: number;
  comment: string;
}

/** What one removal step did, as `docker rmi` reports it. */
export interface ImageDeleteItem {
  untagged?: string;
  deleted?: string;
}

/** Build the Image view of `record` with its familiar tag and digest references. */
export function toImage(record: ImageRecord, repoTags: string[], repoDigests: string[]): Image {
  const config = record.config;
  const image: Image = {
    id: record.id,
    repoTags,
    repoDigests,
    parent: config.parent ?? '',
    comment: config.comment ?? '',
    created: config.created ?? '',
    author: config.author ?? '',
    config,
    architecture: config.architecture,
    os: config.os,
    sizeBytes: record.sizeBytes,
    layerChainIds: record.layers.map((layer) => layer.chainId),
    diffIds: record.layers.map((layer) => layer.diffId),
  };
  if (record.manifestDigest !== undefined) image.manifestDigest = record.manifestDigest;
  return image;
}
