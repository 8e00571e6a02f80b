/**
 * The volume store: one record per volume, written atomically after its directories exist,
 * so a crash leaves either a whole volume or leftovers that open() clears. Records are read
 * once at open and kept in memory; disk stays the truth. Operations on one name are serialised.
 * The service knows nothing of containers: whether a volume is in use is the engine's concern.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { crashPoint, errnoOf, messageOf, newId, writeJsonAtomic, type Logger } from '../common/index.js';
import { runCommand, type Mounter } from '../sys/index.js';
import { InvalidVolumeNameError, MAX_VOLUME_NAME_LENGTH, NoSuchVolumeError, UnknownVolumeDriverError } from './errors.js';
import { LocalDriver } from './local-driver.js';
import type { CreateVolumeRequest, Volume, VolumeRecord } from './volume.js';

const VOLUME_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;
const RECORD_FILE = 'volume.json';

export interface VolumeServiceOptions {
  /** Berth's root; volumes live in `<root>/volumes`. */
  root: string;
  mounter: Mounter;
  logger: Logger;
}

/** Named volumes of the local driver. */
export class VolumeService {
  readonly #driver: LocalDriver;
  readonly #logger: Logger;
  readonly #records = new Map<string, VolumeRecord>();
  readonly #queues = new Map<string, Promise<unknown>>();

  private constructor(driver: LocalDriver, logger: Logger) {
    this.#driver = driver;
    this.#logger = logger;
  }

  /** Load every volume record; directories without one (a create cut short) are removed. */
  static async open(options: VolumeServiceOptions): Promise<VolumeService> {
    const dir = join(options.root, 'volumes');
    const driver = new LocalDriver({ dir, mounter: options.mounter, logger: options.logger });
    const service = new VolumeService(driver, options.logger);
    let names: string[] = [];
    try {
      names = await readdir(dir);
    } catch (err) {
      if (errnoOf(err) !== 'ENOENT') throw err;
    }
    for (const name of names) {
      if (!VOLUME_NAME.test(name)) continue;
      try {
        const record = JSON.parse(await readFile(join(driver.dirOf(name), RECORD_FILE), 'utf8')) as VolumeRecord;
        service.#records.set(name, record);
      } catch (err) {
        if (errnoOf(err) !== 'ENOENT') {
          options.logger.warn('unreadable volume record; leaving it alone', { name, error: messageOf(err) });
          continue;
        }
        options.logger.warn('removing a volume whose create did not finish', { name });
        await driver.remove(name).catch((e: unknown) => options.logger.warn('could not remove it', { name, error: messageOf(e) }));
      }
    }
    return service;
  }

  /**
   * Create a volume, or return the existing one of that name (as docker does: creating an
   * existing local volume is not an error). `isNew` tells which. Bad names, drivers or
   * options throw before anything is made.
   */
  async create(request: CreateVolumeRequest): Promise<{ volume: Volume; isNew: boolean }> {
    const name = request.name || newId();
    const driver = request.driver || 'local';
    if (driver !== 'local') throw new UnknownVolumeDriverError(name, driver);
    if (!VOLUME_NAME.test(name) || name.length > MAX_VOLUME_NAME_LENGTH) throw new InvalidVolumeNameError(name);
    const options = request.driverOpts ?? {};
    this.#driver.validate(name, options);
    return this.#serial(name, async () => {
      const existing = this.#records.get(name);
      if (existing) return { volume: this.#toVolume(existing), isNew: false };
      const record: VolumeRecord = {
        name,
        driver,
        createdAt: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
        labels: { ...(request.labels ?? {}) },
        options: { ...options },
      };
      try {
        await this.#driver.create(name);
        crashPoint('volume-create.dir-made');
        await writeJsonAtomic(join(this.#driver.dirOf(name), RECORD_FILE), record);
      } catch (err) {
        await this.#driver.remove(name).catch(() => {});
        throw err;
      }
      this.#records.set(name, record);
      return { volume: this.#toVolume(record), isNew: true };
    });
  }

  /** The volume called `name`; NoSuchVolumeError when there is none. */
  get(name: string): Volume {
    const record = this.#records.get(name);
    if (!record) throw new NoSuchVolumeError(name);
    return this.#toVolume(record);
  }

  has(name: string): boolean {
    return this.#records.has(name);
  }

  /** Every volume, in name order. */
  list(): Volume[] {
    return [...this.#records.values()].sort((a, b) => a.name.localeCompare(b.name)).map((r) => this.#toVolume(r));
  }

  /** Make the volume's data ready to bind into a container; returns the host path. */
  mount(name: string): Promise<string> {
    return this.#serial(name, async () => {
      const record = this.#records.get(name);
      if (!record) throw new NoSuchVolumeError(name);
      return this.#driver.mount(name, record.options);
    });
  }

  /**
   * Release the volume's data after its last user stopped (a tmpfs- or device-backed volume
   * is unmounted; a plain one is untouched). The caller has checked that no running container
   * uses it; a later mount() makes it reachable again. A volume gone meanwhile is no error.
   */
  unmount(name: string): Promise<void> {
    return this.#serial(name, async () => {
      const record = this.#records.get(name);
      if (!record) return;
      await this.#driver.unmount(name, record.options);
    });
  }

  /** Delete the volume and its data. The caller has checked that no container uses it. */
  remove(name: string): Promise<void> {
    return this.#serial(name, async () => {
      if (!this.#records.has(name)) throw new NoSuchVolumeError(name);
      await this.#driver.remove(name);
      this.#records.delete(name);
    });
  }

  /** Bytes of the files under the volume's data directory (0 when unknown). */
  async sizeBytes(name: string): Promise<number> {
    // Files only, as docker counts: directories' own blocks are not data.
    const result = await runCommand('find', [this.#driver.dataDirOf(name), '-mindepth', '1', '!', '-type', 'd', '-printf', '%s\n']);
    return result.stdout.split('\n').reduce((sum, line) => sum + (Number(line) || 0), 0);
  }

  #toVolume(record: VolumeRecord): Volume {
    return { ...record, mountpoint: this.#driver.dataDirOf(record.name) };
  }

  /** Run `operation` after every earlier one on the same name. */
  #serial<T>(name: string, operation: () => Promise<T>): Promise<T> {
    const previous = this.#queues.get(name) ?? Promise.resolve();
    const next = previous.catch(() => {}).then(operation);
    this.#queues.set(name, next);
    void next.catch(() => {}).finally(() => {
      if (this.#queues.get(name) === next) this.#queues.delete(name);
    });
    return next;
  }
}
