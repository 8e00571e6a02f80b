/**
 * The persisted container records. Each lives in `<root>/containers/<id>/config.json`,
 * written atomically; the in-memory index is rebuilt from those files at start.
 */
import { readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { isFullId, writeJsonAtomic, errnoOf, messageOf, type Logger } from '../common/index.js';
import type { ContainerRecord } from './container.js';
import { AmbiguousContainerError, NoSuchContainerError } from './errors.js';

/** A container directory whose record file exists but cannot be read. */
export interface UnreadableRecord {
  id: string;
  file: string;
  error: string;
}

export class ContainerStore {
  readonly #root: string;
  readonly #records = new Map<string, ContainerRecord>();
  /** Ids of directories with no record file: a create or remove cut short (recovery removes them). */
  readonly debris: string[] = [];
  /** Directories whose record is there but unreadable: left alone (the upper dir is the user's data), reported. */
  readonly unreadable: UnreadableRecord[] = [];

  private constructor(root: string) {
    this.#root = root;
  }

  /**
   * Load every record under `<root>/containers`. A directory without a record file is noted in
   * `debris`; one whose record cannot be read is noted in `unreadable` and logged with the file's
   * name; neither stops the load.
   */
  static async open(root: string, logger: Logger): Promise<ContainerStore> {
    const store = new ContainerStore(root);
    let entries: string[] = [];
    try {
      entries = await readdir(store.containersDir);
    } catch (err) {
      if (errnoOf(err) !== 'ENOENT') throw err;
    }
    for (const id of entries) {
      if (!isFullId(id)) continue;
      const file = join(store.containersDir, id, 'config.json');
      try {
        const record = JSON.parse(await readFile(file, 'utf8')) as ContainerRecord;
        if (record.id !== id) throw new Error(`the record names another container (${String(record.id)})`);
        store.#records.set(record.id, record);
      } catch (err) {
        if (errnoOf(err) === 'ENOENT') {
          store.debris.push(id);
          continue;
        }
        store.unreadable.push({ id, file, error: messageOf(err) });
        logger.error('unreadable container record; the container is left out', { file, error: messageOf(err) });
      }
    }
    return store;
  }

  get containersDir(): string {
    return join(this.#root, 'containers');
  }

  /** The directory holding everything of one container. */
  dirOf(id: string): string {
    return join(this.containersDir, id);
  }

  all(): ContainerRecord[] {
    return [...this.#records.values()];
  }

  /** Find by full id, exact name (with or without '/'), or unique id prefix, as docker does. */
  resolve(ref: string): ContainerRecord {
    const byId = this.#records.get(ref);
    if (byId) return byId;
    const name = ref.startsWith('/') ? ref.slice(1) : ref;
    for (const record of this.#records.values()) {
      if (record.name === name) return record;
    }
    if (/^[0-9a-f]+$/.test(ref)) {
      const matches = [...this.#records.values()].filter((r) => r.id.startsWith(ref));
      if (matches.length === 1) return matches[0]!;
      if (matches.length > 1) throw new AmbiguousContainerError(ref);
    }
    throw new NoSuchContainerError(ref);
  }

  findByName(name: string): ContainerRecord | undefined {
    for (const record of this.#records.values()) {
      if (record.name === name) return record;
    }
    return undefined;
  }

  has(id: string): boolean {
    return this.#records.has(id);
  }

  /** Persist a record (atomically) and index it. */
  async save(record: ContainerRecord): Promise<void> {
    await writeJsonAtomic(join(this.dirOf(record.id), 'config.json'), record);
    this.#records.set(record.id, record);
  }

  /** Forget a record and remove its directory. The record goes first so a crash never leaves a half-removed visible container. */
  async remove(id: string): Promise<void> {
    await rm(join(this.dirOf(id), 'config.json'), { force: true });
    this.#records.delete(id);
    await rm(this.dirOf(id), { recursive: true, force: true });
  }
}
