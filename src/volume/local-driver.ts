/**
 * The `local` volume driver: a volume is a directory, `_data`, under Berth's root. With the
 * options `type`, `device` and `o` (as mount(8)'s `-t`, source and `-o`) a filesystem is
 * mounted on `_data` at first use instead (a tmpfs, a device, another directory with
 * `type=none,o=bind`), and unmounted when its last container stops or the volume is removed.
 */
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { messageOf, type Logger } from '../common/index.js';
import type { Mounter } from '../sys/index.js';
import { InvalidVolumeOptionError, VolumeMountError } from './errors.js';

const VALID_OPTIONS = new Set(['type', 'device', 'o']);
// Which options need which others (moby's local driver has the same rule).
const REQUIRED_WITH: Record<string, string[]> = { type: ['device'], device: ['type'], o: ['device', 'type'] };

/** The local driver over one volumes directory. */
export class LocalDriver {
  readonly #dir: string;
  readonly #mounter: Mounter;
  readonly #logger: Logger;

  constructor(options: { dir: string; mounter: Mounter; logger: Logger }) {
    this.#dir = options.dir;
    this.#mounter = options.mounter;
    this.#logger = options.logger;
  }

  /** The volume's own directory (record and `_data`). */
  dirOf(name: string): string {
    return join(this.#dir, name);
  }

  /** Where containers mount the volume from. */
  dataDirOf(name: string): string {
    return join(this.#dir, name, '_data');
  }

  /** Throw InvalidVolumeOptionError for options the local driver refuses; nothing is changed. */
  validate(name: string, options: Record<string, string>): void {
    for (const key of Object.keys(options)) {
      if (!VALID_OPTIONS.has(key)) throw new InvalidVolumeOptionError(name, `invalid option: "${key}"`);
    }
    for (const [key, needs] of Object.entries(REQUIRED_WITH)) {
      if (!(key in options)) continue;
      for (const need of needs) {
        if (!(need in options)) throw new InvalidVolumeOptionError(name, `missing required option: "${need}"`);
      }
    }
  }

  /** Make the volume's directories; the caller writes the record after. */
  async create(name: string): Promise<void> {
    await mkdir(this.#dir, { recursive: true, mode: 0o701 });
    await mkdir(this.dirOf(name), { mode: 0o701 });
    await mkdir(this.dataDirOf(name), { mode: 0o755 });
  }

  /**
   * Make the volume's data reachable at `_data`: for a volume with a `type` option mount its
   * filesystem if it is not mounted yet (a mount survives a daemon restart, so this is also
   * what recovery needs). Returns the `_data` path.
   */
  async mount(name: string, options: Record<string, string>): Promise<string> {
    const data = this.dataDirOf(name);
    const type = options['type'];
    if (type === undefined || type === '') return data;
    if (await this.#mounter.isMounted(data)) return data;
    const mountOptions = (options['o'] ?? '').split(',').filter((o) => o !== '');
    try {
      await this.#mounter.mount({ source: options['device'] ?? 'none', target: data, type, options: mountOptions });
    } catch (err) {
      throw new VolumeMountError(name, messageOf(err));
    }
    return data;
  }

  /**
   * Release a volume no container uses any more: a `type` volume's filesystem is unmounted
   * from `_data` (docker's local driver does so when its last user stops, so a tmpfs volume's
   * contents go with it); a plain directory volume is left as it is. Idempotent.
   */
  async unmount(name: string, options: Record<string, string>): Promise<void> {
    const type = options['type'];
    if (type === undefined || type === '') return;
    const data = this.dataDirOf(name);
    if (!(await this.#mounter.isMounted(data))) return;
    try {
      await this.#mounter.unmount(data);
    } catch (err) {
      throw new VolumeMountError(name, messageOf(err));
    }
  }

  /** Unmount whatever is mounted on `_data`, then delete the volume's directory and data. */
  async remove(name: string): Promise<void> {
    const data = this.dataDirOf(name);
    await this.#mounter.unmount(data);
    // Never delete through a mount: if it is still there, keep the files and say so.
    if (await this.#mounter.isMounted(data)) throw new VolumeMountError(name, `${data} is still mounted`);
    await rm(this.dirOf(name), { recursive: true, force: true });
    this.#logger.debug('volume removed', { name });
  }
}
