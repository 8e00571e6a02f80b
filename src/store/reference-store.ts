/**
 * The references (`name:tag`, `name@digest`) that point at image ids, kept in
 * `<root>/image/repositories.json`. Every change rewrites the file atomically before it becomes
 * visible to readers, so memory and disk never disagree; changes are applied one at a time.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { InvalidArgumentError, KeyedLock, errnoOf, writeJsonAtomic } from '../common/index.js';
import { type ImageReference, parseImageReference, referenceString } from './image-reference.js';

interface ReferenceFile {
  /** Full reference string (`docker.io/library/busybox:latest`) to image id (`sha256:<hex>`). */
  references: Record<string, string>;
}

/** One stored reference and the image it names. */
export interface ReferenceEntry {
  reference: ImageReference;
  imageId: string;
}

/** Maps tag and digest references to image ids; the file is the truth, memory a copy of it. */
export class ReferenceStore {
  readonly #path: string;
  #references: Map<string, string>;
  /** Changes run one at a time (one key: the references file). */
  readonly #lock = new KeyedLock();

  private constructor(path: string, references: Map<string, string>) {
    this.#path = path;
    this.#references = references;
  }

  /** Load `<root>/image/repositories.json` (missing means empty). */
  static async open(root: string): Promise<ReferenceStore> {
    const path = join(root, 'image', 'repositories.json');
    let references = new Map<string, string>();
    try {
      const parsed = JSON.parse(await readFile(path, 'utf8')) as Partial<ReferenceFile>;
      references = new Map(Object.entries(parsed.references ?? {}));
    } catch (err) {
      if (errnoOf(err) !== 'ENOENT') throw err;
    }
    return new ReferenceStore(path, references);
  }

  /** The image id a tag or digest reference points at, if any. */
  get(reference: ImageReference): string | undefined {
    return this.#references.get(key(reference));
  }

  /** Point `reference` at `imageId`, replacing what it pointed at before. */
  set(reference: ImageReference, imageId: string): Promise<void> {
    const k = key(reference);
    return this.#update((next) => {
      next.set(k, imageId);
    });
  }

  /** Remove `reference`; resolves to false when it did not exist. */
  async delete(reference: ImageReference): Promise<boolean> {
    const k = key(reference);
    let existed = false;
    await this.#update((next) => {
      existed = next.delete(k);
    });
    return existed;
  }

  /** Every reference to `imageId`, sorted by their full string. */
  referencesTo(imageId: string): ImageReference[] {
    const out: string[] = [];
    for (const [k, id] of this.#references) if (id === imageId) out.push(k);
    return out.sort().map((k) => parseImageReference(k));
  }

  /** Every stored reference. */
  entries(): ReferenceEntry[] {
    return [...this.#references].map(([k, imageId]) => ({ reference: parseImageReference(k), imageId }));
  }

  // Apply `change` to a copy, persist it, then publish it; failures leave the old state.
  #update(change: (next: Map<string, string>) => void): Promise<void> {
    const run = async (): Promise<void> => {
      const next = new Map(this.#references);
      change(next);
      const file: ReferenceFile = { references: Object.fromEntries([...next].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) };
      await writeJsonAtomic(this.#path, file, 0o600);
      this.#references = next;
    };
    return this.#lock.run('references', run);
  }
}

function key(reference: ImageReference): string {
  if (reference.tag === undefined && reference.digest === undefined) {
    throw new InvalidArgumentError('a stored reference needs a tag or a digest');
  }
  return referenceString(reference);
}
