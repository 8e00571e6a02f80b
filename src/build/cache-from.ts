/**
 * `--cache-from`: images the classic builder trusts as cache sources though this daemon did not
 * build them here (a pulled or loaded image has no local build history). As moby's ImageCache
 * does it: a step matches a source when the source's config holds the stage's image so far as
 * a prefix (the same history entries and layers) and its next history entry was made by the
 * same step (`created_by` equal). The step's image is then that prefix plus the source's entry
 * and layer. With sources given, a hit of the local cache counts only when it is an ancestor of
 * a source. A source that is not here is skipped, as dockerd skips it (with a log line).
 */
import { isDeepStrictEqual } from 'node:util';
import { BerthError } from '../common/index.js';
import type { Engine } from '../engine/index.js';
import { MediaType, type HistoryEntry, type ImageConfig } from '../oci/index.js';

/** A layer as the image store holds it for a new image. */
export interface CachedLayerRef {
  blobDigest: `sha256:${string}`;
  mediaType: string;
}

/** What a source offers for one step: its history entry and, unless empty, its layer. */
export interface CacheFromMatch {
  /** The source itself when the step is its last entry (used as it is). */
  wholeImageId: string | undefined;
  entry: HistoryEntry;
  layer: { diffId: string; ref: CachedLayerRef } | undefined;
}

interface Source {
  id: string;
  config: ImageConfig;
}

/** The resolved `--cache-from` images of one build. */
export class CacheFromSources {
  readonly #engine: Engine;
  readonly #sources: Source[];
  readonly #ancestors = new Set<string>();

  private constructor(engine: Engine, sources: Source[]) {
    this.#engine = engine;
    this.#sources = sources;
  }

  /** Resolve `refs` to images; refs not found are left out. */
  static async resolve(engine: Engine, refs: readonly string[]): Promise<CacheFromSources> {
    const sources: Source[] = [];
    for (const ref of refs) {
      try {
        const image = await engine.images.get(ref);
        if (!sources.some((s) => s.id === image.id)) sources.push({ id: image.id, config: image.config as ImageConfig });
      } catch (err) {
        if (!(err instanceof BerthError) || err.kind !== 'not-found') throw err;
      }
    }
    const out = new CacheFromSources(engine, sources);
    for (const source of sources) await out.#addAncestors(source.config.parent);
    return out;
  }

  /** Whether the build was given sources (then the local cache only counts for their ancestors). */
  get isActive(): boolean {
    return this.#sources.length > 0;
  }

  /** Whether `imageId` is an ancestor (by parent links) of a source: a local cache hit that may be used. */
  isAncestor(imageId: string): boolean {
    return this.#ancestors.has(imageId);
  }

  /** The source step matching `createdBy` on top of `parent` (the stage's image so far; undefined: nothing yet). */
  match(parent: ImageConfig | undefined, createdBy: string): CacheFromMatch | undefined {
    const parentHistory = parent?.history ?? [];
    const parentLayers = parent?.rootfs.diff_ids ?? [];
    for (const source of this.#sources) {
      const history = source.config.history ?? [];
      const layers = source.config.rootfs.diff_ids;
      if (!isValidParent(history, layers, parentHistory, parentLayers)) continue;
      const entry = history[parentHistory.length];
      if (entry === undefined || entry.created_by !== createdBy) continue;
      const isLast = history.length - 1 === parentHistory.length;
      let layer: CacheFromMatch['layer'];
      if (entry.empty_layer !== true) {
        const index = history.slice(0, parentHistory.length).filter((h) => h.empty_layer !== true).length;
        const stored = this.#engine.images.recordOf(source.id).layers[index];
        if (stored?.blobDigest === undefined || layers[index] === undefined) continue;
        layer = { diffId: layers[index]!, ref: { blobDigest: stored.blobDigest, mediaType: stored.mediaType ?? MediaType.dockerLayer } };
      }
      return { wholeImageId: isLast ? source.id : undefined, entry, layer };
    }
    return undefined;
  }

  async #addAncestors(parent: string | undefined): Promise<void> {
    while (parent !== undefined && parent !== '' && !this.#ancestors.has(parent)) {
      this.#ancestors.add(parent);
      try {
        parent = ((await this.#engine.images.get(parent)).config as ImageConfig).parent;
      } catch {
        return;
      }
    }
  }
}

/** moby's isValidParent: `parent` (history and layers) is a strict prefix of the source's. */
function isValidParent(history: readonly HistoryEntry[], layers: readonly string[], parentHistory: readonly HistoryEntry[], parentLayers: readonly string[]): boolean {
  if (history.length === 0) return false;
  if (parentHistory.length === 0 && parentLayers.length === 0) return true;
  if (parentHistory.length >= history.length || parentLayers.length > layers.length) return false;
  return parentHistory.every((h, i) => isDeepStrictEqual(h, history[i])) && parentLayers.every((d, i) => d === layers[i]);
}
