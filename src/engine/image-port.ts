/**
 * What the engine needs from the image store: images to create containers from, the overlay
 * mounts of their root filesystems, commits, transfers (registries and archives) and the store's
 * own operations the API serves. berthd's ImageService provides all of it.
 */
import type { Readable, Writable } from 'node:stream';

/** An image as the engine needs it to create and describe containers. */
export interface EngineImage {
  id: string;
  repoTags: string[];
  config: {
    config?: {
      User?: string;
      Env?: string[];
      Cmd?: string[] | null;
      Entrypoint?: string[] | null;
      WorkingDir?: string;
      Labels?: Record<string, string> | null;
      StopSignal?: string;
      Healthcheck?: { Test?: string[] | null; Interval?: number; Timeout?: number; StartPeriod?: number; StartInterval?: number; Retries?: number } | null;
      ExposedPorts?: Record<string, Record<string, never>>;
      Volumes?: Record<string, Record<string, never>>;
    };
    /** The rest of the image config, for commit (which builds on the parent's). */
    architecture?: string;
    os?: string;
    variant?: string;
    rootfs?: { type: string; diff_ids: string[] };
    history?: Array<{ created?: string; created_by?: string; author?: string; comment?: string; empty_layer?: boolean }>;
  };
}

/** The image store, as the engine uses it. */
export interface ImagePort {
  get(ref: string): Promise<EngineImage>;
  lowerDirs(imageId: string): Promise<string[]>;
}

/** Mounting a container's root filesystem. */
export interface RootfsPort {
  mount(options: { lowerDirs: string[]; upperDir: string; workDir: string; mergedDir: string }): Promise<void>;
  unmount(mergedDir: string): Promise<void>;
}

/** An image as the API shows it. */
export interface CatalogImage extends EngineImage {
  repoDigests: string[];
  parent: string;
  comment: string;
  created: string;
  author: string;
  architecture: string;
  os: string;
  sizeBytes: number;
  diffIds: string[];
}

export interface ImageHistoryEntry {
  id: string;
  /** Seconds since the epoch; 0 when unknown. */
  createdSec: number;
  createdBy: string;
  tags: string[];
  sizeBytes: number;
  comment: string;
}

export type ContainersUsing = (imageId: string) => Array<{ id: string; isRunning: boolean }>;

/** Registry credentials as a client sent them; every field optional (anonymous access sends none). */
export interface TransferCredentials {
  username?: string;
  password?: string;
  identityToken?: string;
  registryToken?: string;
}

/** One progress step of a long image operation: a status line, optionally for one layer (`id`) and with byte counts. */
export interface TransferProgressStep {
  id?: string;
  status: string;
  currentBytes?: number;
  totalBytes?: number;
  /** The result a push ends with (docker's `aux: {Tag, Digest, Size}`). */
  pushResult?: { tag: string; digest: string; sizeBytes: number };
  /** A line of plain output (`load`'s "Loaded image: ..."). */
  stream?: string;
}

/** Receives progress; must not throw (a client that went away is the sink's own business). */
export type TransferProgress = (step: TransferProgressStep) => void;

/**
 * Moving images in and out of the store: registries (pull, push, login), archives (save, load,
 * import) and the layer total `system df` reports. Each operation either completes or leaves
 * the store as it was (no tag, blob or unpacked layer of a failed transfer stays visible).
 */
export interface ImageTransferPort {
  pull(ref: string, options: { credentials?: TransferCredentials; platform?: string; progress: TransferProgress }): Promise<{ image: { id: string }; isNew: boolean }>;
  /** Every tag of the repository when `tag` is undefined. */
  push(name: string, tag: string | undefined, options: { credentials?: TransferCredentials; progress: TransferProgress }): Promise<void>;
  login(serverAddress: string, credentials: TransferCredentials): Promise<{ identityToken?: string }>;
  /** Write one docker archive of `refs` to `out` and end it. */
  save(refs: readonly string[], out: Writable): Promise<void>;
  load(source: Readable, options: { progress: TransferProgress; signal?: AbortSignal }): Promise<Array<{ id: string; tags: string[] }>>;
  /** A root filesystem tar as a one-layer image; `changes` are Dockerfile instructions (see oci/ applyChanges). */
  importImage(source: Readable, options: { ref?: string; message?: string; changes?: string[]; progress: TransferProgress; signal?: AbortSignal }): Promise<{ id: string }>;
  diskUsage(): Promise<{ layersSizeBytes: number }>;
}

/** The whole image store, as the engine exposes it to the API. */
export interface ImageStorePort extends ImagePort, ImageCommitPort, ImageTransferPort {
  list(): Promise<CatalogImage[]>;
  get(ref: string): Promise<CatalogImage>;
  /** Returns the new reference in its familiar form. */
  tag(sourceRef: string, repo: string, tag?: string): Promise<string>;
  remove(ref: string, options: { force: boolean; noPrune: boolean }, containersUsing: ContainersUsing): Promise<Array<{ untagged?: string; deleted?: string }>>;
  history(ref: string): Promise<ImageHistoryEntry[]>;
  prune(options: { all: boolean; untilMs?: number; labels?: string[]; excludeLabels?: string[] }, containersUsing: ContainersUsing): Promise<{ deleted: Array<{ untagged?: string; deleted?: string }>; spaceReclaimedBytes: number }>;
  /** Delete the images `rmi -f` kept only for stopped containers that are gone now; returns their ids. */
  releaseHeldImages(containersUsing: ContainersUsing): Promise<string[]>;
}

/**
 * What `commit` needs from the image store beyond reading images, and what cp, export and
 * diff need to reach a stopped container's files: berthd's ImageService provides all of it.
 */
export interface ImageCommitPort {
  /** The blob store: a layer tar put here (digest checked on write) can then be named by addImage. */
  readonly content: { put(source: Uint8Array | AsyncIterable<Uint8Array>): Promise<{ digest: `sha256:${string}`; sizeBytes: number }> };
  /** Store an image from its config and layer blobs (bottom first) and point `tags` at it. */
  addImage(input: { configBytes: Uint8Array; layers: ReadonlyArray<{ blobDigest: `sha256:${string}`; mediaType: string }> }, tags?: readonly string[]): Promise<{ id: string }>;
  /** Overlay mounts of container root filesystems (the same the container service uses). */
  readonly snapshotter: RootfsPort;
  /** The image's layers as stored, bottom first: a commit names its parent's blobs again. */
  recordOf(ref: string): { layers: ReadonlyArray<{ diffId: string; blobDigest?: `sha256:${string}`; mediaType?: string }> };
}
