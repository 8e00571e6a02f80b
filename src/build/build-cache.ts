/**
 * The build cache, keyed as docker's classic builder keys it: the parent image plus the step
 * (its instruction as it lands in history, build args included, and for COPY/ADD a checksum of
 * the sources' names, modes, owners and contents, mtimes left out). A hit is the image an
 * earlier build made for the same key, if it still exists. The index is one JSON file under
 * the daemon's root, written atomically; it holds no image, so losing it only costs a rebuild.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeJsonAtomic } from '../common/index.js';

/** What a step's key is made of. */
export interface CacheKeyParts {
  /** The image the step builds on ('' for FROM scratch before any layer). */
  parentId: string;
  /** The step as history records it (`/bin/sh -c #(nop)  ENV A=1`, `|1 V=2 /bin/sh -c make`). */
  createdBy: string;
  /** The config the step leaves (so a step with the same text but other effects never matches). */
  config: unknown;
  /** COPY/ADD: the sources' checksum. */
  contentSum?: string;
}

export function cacheKey(parts: CacheKeyParts): string {
  return createHash('sha256').update(JSON.stringify([parts.parentId, parts.createdBy, parts.config, parts.contentSum ?? ''])).digest('hex');
}

/** Step key to image id, shared by every build of one daemon. */
export class BuildCache {
  readonly #path: string;
  #entries: Map<string, string> | undefined;
  #writing: Promise<void> = Promise.resolve();

  constructor(dir: string) {
    this.#path = join(dir, 'cache.json');
  }

  async #load(): Promise<Map<string, string>> {
    if (this.#entries) return this.#entries;
    const text = await readFile(this.#path, 'utf8').catch(() => '{}');
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = {};
    }
    const entries = new Map<string, string>();
    if (typeof parsed === 'object' && parsed !== null) {
      for (const [key, value] of Object.entries(parsed)) if (typeof value === 'string') entries.set(key, value);
    }
    this.#entries = entries;
    return entries;
  }

  /** The image id recorded for `key`, if any (the caller checks that it still exists). */
  async lookup(key: string): Promise<string | undefined> {
    return (await this.#load()).get(key);
  }

  /** Record `imageId` for `key`; writes are serialised so none is lost. */
  async record(key: string, imageId: string): Promise<void> {
    const entries = await this.#load();
    entries.set(key, imageId);
    const write = this.#writing.then(() => writeJsonAtomic(this.#path, Object.fromEntries(entries)));
    this.#writing = write.catch(() => {});
    await write;
  }

  /** Forget `key` (its image is gone). */
  async forget(key: string): Promise<void> {
    const entries = await this.#load();
    if (!entries.delete(key)) return;
    const write = this.#writing.then(() => writeJsonAtomic(this.#path, Object.fromEntries(entries)));
    this.#writing = write.catch(() => {});
    await write;
  }
}
