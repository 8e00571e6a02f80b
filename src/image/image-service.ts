/**
 * The image store as the engine uses it: resolving references, listing, tagging, removing and
 * pruning with docker's rules and wording, the built-in busybox image, and the overlay lower
 * dirs of an image. State lives on disk (blobs, references, image records, unpacked layers);
 * memory holds only what open() rebuilds from it. Writes are serialised by one lock.
 */
import { stat } from 'node:fs/promises';
import type { Readable, Writable } from 'node:stream';
import { KeyedLock, type Logger, NotFoundError, InvalidArgumentError, silentLogger, shortId } from '../common/index.js';
import { type Digest, type ImageConfig, MediaType, chainIds, parseDigest } from '../oci/index.js';
import {
  ContentStore, type ImageRecord, ImageRecordStore, type ImageReference, type ImageSource, InvalidReferenceError, type LayerRecord,
  ReferenceStore, familiarName, familiarString, isValidTag, parseImageReference, referenceName, withDefaultTag,
} from '../store/index.js';
import type { OverlaySnapshotter } from '../snapshot/index.js';
import { BUILTIN_CREATED, DEFAULT_BUSYBOX_PATH, buildBusyboxImage } from './builtin-busybox.js';
import { type Image, type ImageDeleteItem, type ImageHistoryItem, historyOf, toImage } from './image.js';
import { NoSuchImageError } from './image-errors.js';
import { type ContainersUsing, type ImageRemovalStores, type PruneOptions, type PruneResult, pruneImages, releaseHeldImages, removeImage } from './image-removal.js';
import { type AddImageInput, type LocalImages, blobsOfRecord, blobsUsedBy } from './local-images.js';
import type { ProgressSink } from './progress.js';
import type { RegistryCredentials } from './registry/registry-auth.js';
import { type RegistryOptions, RegistryClient } from './registry/registry-client.js';
import { pullImage, type PullResult } from './registry/pull-image.js';
import { pushImage } from './registry/push-image.js';
import { saveImages } from './archive/save-images.js';
import { type LoadedImage, loadImages } from './archive/load-images.js';
import { type ImportOptions, importImage } from './archive/import-image.js';

export { ImageConflictError, NoSuchImageError } from './image-errors.js';
export type { ContainersUsing, PruneOptions, PruneResult } from './image-removal.js';
export type { AddImageInput, AddImageLayer, LocalImages } from './local-images.js';

/** Options for ImageService.open. */
export interface ImageServiceOptions {
  root: string;
  logger?: Logger;
  /** Where layers are unpacked and container root filesystems mounted (built by daemon/builtins.ts). */
  snapshotter: OverlaySnapshotter;
  /** The static busybox the built-in image is made from. */
  busyboxPath?: string;
  /** How registries are reached (insecure hosts, the default registry switched off). */
  registry?: RegistryOptions;
}

/** Options of ImageService.pull and push: credentials, platform, where progress goes. */
export interface TransferOptions {
  credentials?: RegistryCredentials;
  platform?: string;
  progress: ProgressSink;
}

/** The image store's one lock key. */
const STORE_LOCK = 'images';
const BUSYBOX_REF = 'busybox:latest';
const BUILTIN_KIND = 'builtin-busybox';
const HEX_PREFIX = /^(?:sha256:)?([0-9a-f]{1,64})$/;

/** Images on the local disk. Safe for concurrent use within one process (the only writer). */
export class ImageService implements LocalImages {
  /** Blobs; pull, load and build put theirs here before calling addImage. */
  readonly content: ContentStore;
  readonly #references: ReferenceStore;
  readonly #records: ImageRecordStore;
  readonly #snapshotter: OverlaySnapshotter;
  readonly #logger: Logger;
  readonly #busyboxPath: string;
  /** Writes to the store run one at a time (one key: the whole store). */
  readonly #lock = new KeyedLock();
  readonly #registry: RegistryOptions;
  /** Layer downloads in flight by blob digest, so concurrent pulls fetch each layer once. */
  readonly downloads = new Map<string, Promise<void>>();
  /** Blobs that operations in progress still need (counted), which discardBlobs must keep. */
  readonly #claims = new Map<string, number>();

  private constructor(content: ContentStore, references: ReferenceStore, records: ImageRecordStore, snapshotter: OverlaySnapshotter, logger: Logger, busyboxPath: string, registry: RegistryOptions) {
    this.#registry = registry;
    this.content = content;
    this.#references = references;
    this.#records = records;
    this.#snapshotter = snapshotter;
    this.#logger = logger;
    this.#busyboxPath = busyboxPath;
  }

  /** Open the store under `root`, reloading every record and reference from disk. */
  static async open(options: ImageServiceOptions): Promise<ImageService> {
    const logger = options.logger ?? silentLogger;
    const service = new ImageService(
      await ContentStore.open(options.root),
      await ReferenceStore.open(options.root),
      await ImageRecordStore.open(options.root),
      options.snapshotter,
      logger,
      options.busyboxPath ?? DEFAULT_BUSYBOX_PATH,
      options.registry ?? {},
    );
    await service.#collectGarbage();
    return service;
  }

  // Blobs and unpacked layers no image uses are what a crash during a pull, load or removal
  // left: nothing else is running yet, so they can go.
  async #collectGarbage(): Promise<void> {
    const { blobs, layers } = await this.unusedContent();
    for (const digest of blobs) {
      this.#logger.info('removing a blob no image references', { digest });
      await this.content.delete(digest);
    }
    for (const chainId of layers) {
      this.#logger.info('removing an unpacked layer no image uses', { chainId });
      await this.#snapshotter.removeLayer(chainId);
    }
  }

  /**
   * Blobs and unpacked layer directories (complete or not) that no image record uses. Only
   * meaningful when no pull, load or build is in progress (at start, or for `system check`).
   */
  async unusedContent(): Promise<{ blobs: string[]; layers: string[] }> {
    const used = this.#usedBlobs();
    const usedChains = this.#usedChains();
    const blobs = (await this.content.list()).filter((digest) => !used.has(digest));
    const layers = (await this.#snapshotter.layerDirs()).filter((chainId) => !usedChains.has(chainId));
    return { blobs, layers };
  }

  #usedChains(): Set<string> {
    return new Set(this.#records.all().flatMap((record) => record.layers.map((layer) => layer.chainId as string)));
  }

  #usedBlobs(): Set<string> {
    return blobsUsedBy(this.#records.all());
  }

  /**
   * Mark `digests` as needed by an operation in progress, so that discardBlobs of another
   * failing operation keeps them. Call the returned function once when done.
   */
  claimBlobs(digests: readonly string[]): () => void {
    for (const d of digests) this.#claims.set(d, (this.#claims.get(d) ?? 0) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      for (const d of digests) {
        const left = (this.#claims.get(d) ?? 1) - 1;
        if (left <= 0) this.#claims.delete(d);
        else this.#claims.set(d, left);
      }
    };
  }

  /** Delete those of `digests` that no image references and no operation in progress claims (a failed pull's or load's). */
  discardBlobs(digests: readonly string[]): Promise<void> {
    if (digests.length === 0) return Promise.resolve();
    return this.#lock.run(STORE_LOCK, async () => {
      const used = this.#usedBlobs();
      for (const digest of digests) if (!used.has(digest) && !this.#claims.has(digest)) await this.content.delete(digest);
    });
  }

  /**
   * Remove those of the unpacked layers `chainIds` that no image uses (a failed pull's). Another
   * pull still wanting one unpacks it again from its blob when it adds its image.
   */
  discardLayers(chainIds: readonly string[]): Promise<void> {
    if (chainIds.length === 0) return Promise.resolve();
    return this.#lock.run(STORE_LOCK, async () => {
      const used = this.#usedChains();
      for (const chainId of chainIds) if (!used.has(chainId)) await this.#snapshotter.removeLayer(chainId);
    });
  }

  /** The image id `ref` points at (a tag or digest reference), if any. */
  async imageIdOf(ref: ImageReference): Promise<string | undefined> {
    return this.#references.get(withDefaultTag(ref));
  }

  /** Berth's full record of the image `ref` names (for push and save); NoSuchImageError when none. */
  recordOf(ref: string): ImageRecord {
    return this.#resolve(ref);
  }

  /** Every stored reference with the image it names. */
  referenceEntries(): Array<{ reference: ImageReference; imageId: string }> {
    return this.#references.entries();
  }

  /** Every blob (config, manifest, layers) the image `imageId` uses. */
  blobsOf(imageId: string): string[] {
    const record = this.#records.get(imageId);
    return record === undefined ? [] : blobsOfRecord(record);
  }

  /** Point the digest reference `name@sha256:...` at `imageId` (after a push). */
  setDigestReference(reference: string, imageId: string): Promise<void> {
    const parsed = parseImageReference(reference);
    if (parsed.digest === undefined) throw new InvalidReferenceError('a digest reference needs a digest');
    return this.#lock.run(STORE_LOCK, () => this.#references.set({ domain: parsed.domain, path: parsed.path, digest: parsed.digest! }, imageId));
  }

  /**
   * Pull `ref` (`name[:tag]` or `name@digest`) from its registry; see registry/pull-image.ts for
   * what is verified and what a failure leaves (nothing).
   */
  async pull(ref: string, options: TransferOptions): Promise<PullResult> {
    const parsed = withDefaultTag(parseImageReference(ref));
    return pullImage(this, parsed, {
      credentials: options.credentials ?? {},
      registry: this.#registry,
      progress: options.progress,
      ...(options.platform !== undefined ? { platform: options.platform } : {}),
    });
  }

  /**
   * Push `name` (every tag of the repository when `tag` is absent) to its registry. Throws
   * NoSuchImageError (before any progress) when there is nothing local to push.
   */
  async push(name: string, tag: string | undefined, options: TransferOptions): Promise<void> {
    const parsed = parseImageReference(tag !== undefined && tag !== '' ? `${name}:${tag}` : name);
    const repo = referenceName(parsed);
    const targets = parsed.tag !== undefined || parsed.digest !== undefined
      ? [parsed]
      : this.#references.entries().map((e) => e.reference).filter((r) => r.digest === undefined && referenceName(r) === repo).sort((a, b) => ((a.tag ?? '') < (b.tag ?? '') ? -1 : 1));
    if (targets.length === 0) throw new NoSuchImageError(familiarName(parsed));
    const records = targets.map((target) => this.#resolve(familiarString(target)));
    options.progress({ status: `The push refers to repository [${repo.startsWith('docker.io/') ? repo : familiarName(parsed)}]` });
    for (const [index, target] of targets.entries()) {
      const record = records[index]!;
      const release = this.claimBlobs(this.blobsOf(record.id));
      try {
        await pushImage(this, target, record, { credentials: options.credentials ?? {}, registry: this.#registry, progress: options.progress });
      } finally {
        release();
      }
    }
  }

  /** Write a `docker save` archive of `refs` to `out` (ended when done). Resolve refs first for clean 404s. */
  save(refs: readonly string[], out: Writable): Promise<void> {
    return saveImages(this, refs, out);
  }

  /** Store every image of a `docker save` archive or OCI layout read from `source`. */
  load(source: Readable, options: { progress: ProgressSink; signal?: AbortSignal }): Promise<LoadedImage[]> {
    return loadImages(this, source, options.progress, options.signal);
  }

  /** `docker import`: a root filesystem tar as a one-layer image. */
  importImage(source: Readable, options: ImportOptions & { progress?: ProgressSink }): Promise<Image> {
    return importImage(this, source, options);
  }

  /** Bytes of every unpacked layer, each counted once (`docker system df`'s LayersSize). */
  async diskUsage(): Promise<{ layersSizeBytes: number }> {
    const sizes = new Map<string, number>();
    for (const record of this.#records.all()) for (const layer of record.layers) sizes.set(layer.chainId, layer.sizeBytes);
    return { layersSizeBytes: [...sizes.values()].reduce((a, b) => a + b, 0) };
  }

  /** Check credentials against a registry as `docker login` does; returns an identity token when the registry issued one. */
  async login(serverAddress: string, credentials: RegistryCredentials): Promise<{ identityToken?: string }> {
    const domain = serverAddress.replace(/^https?:\/\//, '').replace(/\/.*$/, '') || 'docker.io';
    const client = new RegistryClient(domain === 'index.docker.io' || domain === 'registry-1.docker.io' ? 'docker.io' : domain, '', credentials, this.#registry);
    await client.checkLogin();
    return client.identityToken !== undefined ? { identityToken: client.identityToken } : {};
  }

  /** The snapshotter holding the unpacked layers, for mounting container root filesystems. */
  get snapshotter(): OverlaySnapshotter {
    return this.#snapshotter;
  }

  /**
   * Make sure `busybox:latest` is the built-in image made from the host's busybox. Cheap when it
   * already is (one stat of the binary). A `busybox:latest` that came from elsewhere (a pull,
   * a load) is left alone and returned.
   */
  async ensureBuiltinBusybox(): Promise<Image> {
    const ref = withDefaultTag(parseImageReference(BUSYBOX_REF));
    const binary = await stat(this.#busyboxPath);
    const source: ImageSource = { kind: BUILTIN_KIND, path: this.#busyboxPath, sizeBytes: binary.size, mtimeMs: binary.mtimeMs };
    const current = this.#recordFor(ref);
    if (current !== undefined && (current.source?.kind !== BUILTIN_KIND || sameSource(current.source, source))) return this.#toImage(current);
    const blobs = await buildBusyboxImage(this.#busyboxPath);
    await this.content.put(blobs.layer, { expectedDigest: blobs.diffId });
    const image = await this.addImage({
      configBytes: blobs.config,
      layers: [{ blobDigest: blobs.diffId, mediaType: MediaType.dockerLayer }],
      manifestBytes: blobs.manifest,
      manifestMediaType: MediaType.dockerManifest,
      source,
    }, [BUSYBOX_REF]);
    this.#logger.info('built-in busybox image ready', { id: image.id, created: BUILTIN_CREATED });
    return image;
  }

  /**
   * Store an image whose layer blobs are already in `content`: writes the config (and manifest),
   * unpacks every layer (checking each against the config's diff ids), records the image and
   * points `tags` at it. Storing an image that exists only updates its tags and source.
   */
  addImage(input: AddImageInput, tags: readonly string[] = []): Promise<Image> {
    return this.#lock.run(STORE_LOCK, async () => {
      const config = JSON.parse(Buffer.from(input.configBytes).toString('utf8')) as ImageConfig;
      const diffIds = (config.rootfs?.diff_ids ?? []).map((d) => parseDigest(d));
      if (diffIds.length !== input.layers.length) {
        throw new InvalidArgumentError(`image config lists ${diffIds.length} layers but ${input.layers.length} were given`);
      }
      const refs = tags.map((tag) => withDefaultTag(parseImageReference(tag)));
      const { digest: id } = await this.content.put(input.configBytes);
      let manifestDigest: Digest | undefined;
      if (input.manifestBytes !== undefined) manifestDigest = (await this.content.put(input.manifestBytes)).digest;
      const chains = chainIds(diffIds);
      const layers: LayerRecord[] = [];
      const previous = this.#records.get(id);
      try {
        for (const [index, layer] of input.layers.entries()) {
          const chainId = chains[index]!;
          const info = await this.#snapshotter.unpack(chainId, () => this.content.getStream(layer.blobDigest), diffIds[index]);
          const blob = await this.content.info(layer.blobDigest);
          layers.push({ diffId: diffIds[index]!, chainId, blobDigest: layer.blobDigest, mediaType: layer.mediaType, blobSizeBytes: blob.sizeBytes, sizeBytes: info.sizeBytes });
        }
      } catch (err) {
        // Undo the blobs this call added; layer blobs stay theirs who put them.
        if (previous === undefined) {
          await this.content.delete(id);
          if (manifestDigest !== undefined) await this.content.delete(manifestDigest);
        }
        throw err;
      }
      const record: ImageRecord = {
        id,
        addedAt: previous?.addedAt ?? new Date().toISOString(),
        sizeBytes: layers.reduce((sum, layer) => sum + layer.sizeBytes, 0),
        layers,
        config,
      };
      const digest = manifestDigest ?? previous?.manifestDigest;
      if (digest !== undefined) record.manifestDigest = digest;
      const mediaType = input.manifestMediaType ?? previous?.manifestMediaType;
      if (mediaType !== undefined) record.manifestMediaType = mediaType;
      const source = input.source ?? previous?.source;
      if (source !== undefined) record.source = source;
      await this.#records.put(record);
      for (const ref of refs) await this.#references.set(ref, id);
      return this.#toImage(record);
    });
  }

  /** Every image, newest first. */
  async list(): Promise<Image[]> {
    return this.#visibleRecords().map((record) => this.#toImage(record)).sort((a, b) => (a.created < b.created ? 1 : a.created > b.created ? -1 : 0));
  }

  /**
   * The image `ref` names: `name[:tag]`, `name@digest`, a full id with or without `sha256:`, or
   * an unambiguous id prefix. Reads no blob. NoSuchImageError when nothing matches.
   */
  async get(ref: string): Promise<Image> {
    return this.#toImage(this.#resolve(ref));
  }

  /** Point `repo:tag` (tag defaults to `latest`) at the image `sourceRef` names. Returns the familiar new reference. */
  tag(sourceRef: string, repo: string, tag?: string): Promise<string> {
    return this.#lock.run(STORE_LOCK, async () => {
      const record = this.#resolve(sourceRef);
      let target = parseImageReference(repo);
      if (target.digest !== undefined) throw new InvalidReferenceError('refusing to create a tag with a digest reference');
      if (tag !== undefined && tag !== '') {
        if (!isValidTag(tag)) throw new InvalidReferenceError('invalid tag format');
        target = { domain: target.domain, path: target.path, tag };
      }
      target = withDefaultTag(target);
      await this.#references.set(target, record.id);
      return familiarString(target);
    });
  }

  /**
   * Remove `ref` as `docker rmi` does: a name untags (deleting the image when it was the last
   * reference); an id deletes the image with all its references. Conflicts with containers and
   * other repositories are docker's 409s. Layers and blobs no other image uses are deleted.
   */
  remove(ref: string, options: { force?: boolean; noPrune?: boolean }, containersUsing: ContainersUsing): Promise<ImageDeleteItem[]> {
    return this.#lock.run(STORE_LOCK, () => removeImage(this.#removalStores, this.#resolve(ref), ref, { force: options.force === true, noPrune: options.noPrune === true }, containersUsing));
  }

  get #removalStores(): ImageRemovalStores {
    return { content: this.content, references: this.#references, records: this.#records, snapshotter: this.#snapshotter };
  }

  /** `docker history`: one item per config history step, newest first. */
  async history(ref: string): Promise<ImageHistoryItem[]> {
    const record = this.#resolve(ref);
    return historyOf(record, this.#toImage(record).repoTags);
  }

  /** `docker image prune`: remove dangling (or, with `all`, unused) images matching the filters. */
  prune(options: PruneOptions, containersUsing: ContainersUsing): Promise<PruneResult> {
    return this.#lock.run(STORE_LOCK, () => pruneImages(this.#removalStores, options, containersUsing));
  }

  /**
   * Delete the images `rmi -f` kept only for stopped containers once none of them uses one any
   * more (after a container is removed, and at start). Returns the ids deleted.
   */
  releaseHeldImages(containersUsing: ContainersUsing): Promise<string[]> {
    return this.#lock.run(STORE_LOCK, () => releaseHeldImages(this.#removalStores, containersUsing));
  }

  /**
   * The overlay lower dirs (short `l/` paths, top layer first) for a container of `imageId`,
   * unpacking any missing layer from its blob first. An unpacked image costs one stat per layer.
   */
  async lowerDirs(imageId: string): Promise<string[]> {
    // A container's own image even when `rmi -f` hid it (isHeldForContainers).
    const record = this.#records.get(imageId) ?? this.#resolve(imageId);
    const present = await Promise.all(record.layers.map((layer) => this.#snapshotter.hasLayer(layer.chainId)));
    if (present.includes(false)) {
      await this.#lock.run(STORE_LOCK, async () => {
        for (const layer of record.layers) {
          if (await this.#snapshotter.hasLayer(layer.chainId)) continue;
          if (layer.blobDigest === undefined) throw new NotFoundError('BERTH_LAYER_MISSING', `layer ${layer.chainId} of image ${shortId(record.id)} is missing`);
          await this.#snapshotter.unpack(layer.chainId, () => this.content.getStream(layer.blobDigest!), layer.diffId);
        }
      });
    }
    return record.layers.map((layer) => this.#snapshotter.lowerDir(layer.chainId)).reverse();
  }

  #recordFor(reference: ImageReference): ImageRecord | undefined {
    const id = this.#references.get(reference);
    return id === undefined ? undefined : this.#visibleRecord(id);
  }

  // Records held only for the containers that use them are no image to anyone else.
  #visibleRecord(id: string): ImageRecord | undefined {
    const record = this.#records.get(id);
    return record?.isHeldForContainers === true ? undefined : record;
  }

  #visibleRecords(): ImageRecord[] {
    return this.#records.all().filter((record) => record.isHeldForContainers !== true);
  }

  // docker's lookup order: full id, then reference, then unambiguous id prefix.
  #resolve(ref: string): ImageRecord {
    const full = /^(?:sha256:)?([0-9a-f]{64})$/.exec(ref);
    if (full !== null) {
      const record = this.#visibleRecord(`sha256:${full[1]}`);
      if (record !== undefined) return record;
    }
    let parseError: unknown;
    if (full === null || !ref.startsWith('sha256:')) {
      try {
        const record = this.#recordFor(withDefaultTag(parseImageReference(ref)));
        if (record !== undefined) return record;
      } catch (err) {
        parseError = err;
      }
    }
    const prefix = HEX_PREFIX.exec(ref);
    if (prefix !== null) {
      const matches = this.#visibleRecords().filter((record) => record.id.startsWith(`sha256:${prefix[1]}`));
      if (matches.length === 1) return matches[0]!;
    }
    if (parseError !== undefined && prefix === null) throw parseError;
    throw new NoSuchImageError(ref);
  }

  #toImage(record: ImageRecord): Image {
    const refs = this.#references.referencesTo(record.id);
    const tags = refs.filter((r) => r.digest === undefined).map(familiarString).sort();
    const digests = refs.filter((r) => r.digest !== undefined).map((r) => `${familiarName(r)}@${r.digest}`).sort();
    return toImage(record, tags, digests);
  }
}

function sameSource(a: ImageSource, b: ImageSource): boolean {
  return a.kind === b.kind && a.path === b.path && a.sizeBytes === b.sizeBytes && a.mtimeMs === b.mtimeMs;
}

