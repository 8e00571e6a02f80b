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

/** `docker history` of `record`: one item per config history step, newest first; the newest carries the id and `repoTags`. */
export function historyOf(record: ImageRecord, repoTags: string[]): ImageHistoryItem[] {
  const steps = record.config.history ?? record.layers.map(() => ({ created: record.config.created ?? '', created_by: '' }));
  let layerIndex = 0;
  const items: ImageHistoryItem[] = steps.map((step) => {
    const isEmpty = 'empty_layer' in step && step.empty_layer === true;
    const layer = isEmpty ? undefined : record.layers[layerIndex++];
    const created = step.created ? Date.parse(step.created) : NaN;
    return {
      id: '<missing>',
      createdSec: Number.isNaN(created) ? 0 : Math.floor(created / 1000),
      createdBy: step.created_by ?? '',
      tags: [],
      sizeBytes: layer?.sizeBytes ?? 0,
      comment: ('comment' in step ? step.comment : undefined) ?? '',
    };
  });
  items.reverse();
  if (items[0] !== undefined) {
    items[0].id = record.id;
    items[0].tags = repoTags;
  }
  return items;
}
