/**
 * The images a build's steps make: the cache lookup before a step (docker's probeCache: the
 * local cache, then the --cache-from images) and the commit after it, each step's image a real
 * image whose parent is the previous step's, as docker keeps them.
 */
import { crashPoint } from '../common/index.js';
import { EMPTY_LAYER_DIFF_ID, type Engine } from '../engine/index.js';
import { MediaType, type HistoryEntry, type ImageConfig } from '../oci/index.js';
import { cacheKey, type BuildCache, type CacheKeyParts } from './build-cache.js';
import { CacheFromSources, type CacheFromMatch } from './cache-from.js';
import { moveStageTo, shellOf, type StageState } from './stage-state.js';

/** Cache lookups and commits for the steps of one build. */
export class StepImages {
  readonly #engine: Engine;
  readonly #cache: BuildCache;
  readonly #noCache: boolean;
  readonly #cacheFromRefs: readonly string[];
  readonly #print: (text: string) => void;
  #cacheFrom: Promise<CacheFromSources> | undefined;

  /** `print` shows build output (` ---> Using cache`). */
  constructor(engine: Engine, cache: BuildCache, options: { noCache: boolean; cacheFrom: readonly string[] }, print: (text: string) => void) {
    this.#engine = engine;
    this.#cache = cache;
    this.#noCache = options.noCache;
    this.#cacheFromRefs = options.cacheFrom;
    this.#print = print;
  }

  /** A step that changes only the config: a new image with the same layers and an empty_layer history entry. */
  async commitConfig(state: StageState, comment: string): Promise<void> {
    const createdBy = [...shellOf(state), `#(nop) `, comment].join(' ');
    const parts = { parentId: state.imageId ?? '', createdBy, config: state.run };
    if (await this.fromCache(state, parts)) return;
    await this.commit(state, createdBy, undefined, parts);
  }

  /**
   * Take the step's image from the cache when an earlier build made it (docker's probeCache):
   * prints ` ---> Using cache` and moves the stage onto it. Never with --no-cache.
   */
  async fromCache(state: StageState, parts: CacheKeyParts): Promise<boolean> {
    if (this.#noCache) return false;
    const key = cacheKey(parts);
    const cacheFrom = await this.#cacheFromSources();
    const local = await this.#localCacheHit(key);
    if (local !== undefined && (!cacheFrom.isActive || cacheFrom.isAncestor(local.imageId))) {
      moveStageTo(this.#engine, state, local.imageId, local.config);
      this.#print(' ---> Using cache\n');
      return true;
    }
    // A step whose content is not named in its history (a #! here-document) cannot be matched by history.
    const isNamedInHistory = parts.contentSum === undefined || parts.createdBy.includes(parts.contentSum);
    const match = cacheFrom.isActive && isNamedInHistory ? cacheFrom.match(state.image, parts.createdBy) : undefined;
    if (match === undefined) return false;
    if (match.wholeImageId !== undefined) {
      moveStageTo(this.#engine, state, match.wholeImageId, (await this.#engine.images.get(match.wholeImageId)).config as ImageConfig);
      await this.#cache.record(key, match.wholeImageId);
    } else {
      await this.#commitEntry(state, match.entry, match.layer, key);
    }
    this.#print(' ---> Using cache\n');
    return true;
  }

  /** The build's --cache-from images, resolved at the first cache lookup. */
  async #cacheFromSources(): Promise<CacheFromSources> {
    this.#cacheFrom ??= CacheFromSources.resolve(this.#engine, this.#cacheFromRefs);
    return this.#cacheFrom;
  }

  /** The image an earlier build on this daemon made for `key`, if it still exists. */
  async #localCacheHit(key: string): Promise<{ imageId: string; config: ImageConfig } | undefined> {
    const imageId = await this.#cache.lookup(key);
    if (imageId === undefined) return undefined;
    try {
      return { imageId, config: (await this.#engine.images.get(imageId)).config as ImageConfig };
    } catch {
      await this.#cache.forget(key);
      return undefined;
    }
  }

  /** The stage's next image made of a --cache-from source's history entry and layer (moby's restoreCachedImage). */
  async #commitEntry(state: StageState, entry: HistoryEntry, layer: CacheFromMatch['layer'], key: string): Promise<void> {
    const config: ImageConfig = {
      ...state.image,
      ...(entry.created !== undefined ? { created: entry.created } : {}),
      config: structuredClone(state.run),
      rootfs: { type: 'layers', diff_ids: [...state.image.rootfs.diff_ids, ...(layer ? [layer.diffId] : [])] },
      history: [...(state.image.history ?? []), entry],
    };
    if (state.imageId !== undefined) config.parent = state.imageId;
    else delete config.parent;
    const layers = layer ? [...state.layers, layer.ref] : state.layers;
    const image = await this.#engine.images.addImage({ configBytes: Buffer.from(JSON.stringify(config)), layers });
    state.imageId = image.id;
    state.image = config;
    state.layers = layers;
    await this.#cache.record(key, image.id);
  }

  /** Store the stage's next image: its config, plus `layer` on top when the step made one. */
  async commit(state: StageState, createdBy: string, layer: { digest: `sha256:${string}` } | undefined, cacheParts: CacheKeyParts): Promise<void> {
    const created = new Date().toISOString();
    const isEmpty = layer === undefined || layer.digest === EMPTY_LAYER_DIFF_ID;
    const history: HistoryEntry = { created, created_by: createdBy, ...(isEmpty ? { empty_layer: true } : {}) };
    const config: ImageConfig = {
      ...state.image,
      created,
      config: structuredClone(state.run),
      rootfs: { type: 'layers', diff_ids: [...state.image.rootfs.diff_ids, ...(isEmpty ? [] : [layer.digest])] },
      history: [...(state.image.history ?? []), history],
    };
    if (state.imageId !== undefined) config.parent = state.imageId;
    else delete config.parent;
    const layers = isEmpty ? state.layers : [...state.layers, { blobDigest: layer.digest, mediaType: MediaType.dockerLayer }];
    if (!isEmpty) crashPoint('build.layer-stored');
    const image = await this.#engine.images.addImage({ configBytes: Buffer.from(JSON.stringify(config)), layers });
    state.imageId = image.id;
    state.image = config;
    state.layers = layers;
    await this.#cache.record(cacheKey(cacheParts), image.id);
  }

}
