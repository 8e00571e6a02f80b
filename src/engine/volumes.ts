/**
 * Volumes as the API sees them: the volume store plus what only the engine knows, which
 * containers use each volume. A volume any container refers to (running or not) cannot be
 * removed or pruned, as in docker.
 */
import { boolFilter, checkFilterKeys, ConflictError, filterValues, labelsMatch, nameMatches, type Filters } from '../common/index.js';
import type { ContainerService } from './container-service.js';
import type { EventBus } from './events.js';
import { ANONYMOUS_LABEL, volumeNamesOf } from './mounts.js';
import type { EngineVolume, VolumePort } from './ports.js';

/** Removing a volume a container refers to (HTTP 409, moby's wording). */
export class VolumeInUseError extends ConflictError {
  constructor(name: string, containerIds: string[]) {
    super('BERTH_VOLUME_IN_USE', `remove ${name}: volume is in use - [${containerIds.join(', ')}]`);
  }
}

/** A volume with the containers that refer to it. */
export interface VolumeUsage {
  volume: EngineVolume;
  containerIds: string[];
}

const LIST_FILTERS = ['dangling', 'driver', 'label', 'label!', 'name'];
const PRUNE_FILTERS = ['label', 'label!', 'all'];

/** The engine's volume operations. */
export class VolumeManager {
  readonly #port: VolumePort;
  readonly #containers: ContainerService;
  readonly #events: EventBus;

  constructor(options: { port: VolumePort; containers: ContainerService; events: EventBus }) {
    this.#port = options.port;
    this.#containers = options.containers;
    this.#events = options.events;
  }

  /** Volume name to the ids of the containers that refer to it. */
  #usage(): Map<string, string[]> {
    const usage = new Map<string, string[]>();
    for (const record of this.#containers.all()) {
      for (const name of new Set(volumeNamesOf(record.host.mounts))) {
        const ids = usage.get(name) ?? [];
        ids.push(record.id);
        usage.set(name, ids);
      }
    }
    return usage;
  }

  /** Volumes matching docker's list filters (`dangling`, `driver`, `label`, `name`). */
  list(filters: Filters): VolumeUsage[] {
    checkFilterKeys(filters, LIST_FILTERS);
    const dangling = boolFilter(filters, 'dangling');
    const usage = this.#usage();
    return this.#port
      .list()
      .map((volume) => ({ volume, containerIds: usage.get(volume.name) ?? [] }))
      .filter(({ volume, containerIds }) => {
        if (dangling !== undefined && dangling !== (containerIds.length === 0)) return false;
        const drivers = filterValues(filters, 'driver');
        if (drivers.length > 0 && !drivers.includes(volume.driver)) return false;
        if (!nameMatches(volume.name, filterValues(filters, 'name'))) return false;
        return labelsMatch(volume.labels, filters);
      });
  }

  /** The volume called `name` (404 `get <name>: no such volume`). */
  get(name: string): VolumeUsage {
    const volume = this.#port.get(name);
    return { volume, containerIds: this.#usage().get(name) ?? [] };
  }

  /** Create a volume, or return the existing one of that name. */
  async create(request: { name?: string; driver?: string; driverOpts?: Record<string, string>; labels?: Record<string, string> }): Promise<EngineVolume> {
    const { volume, isNew } = await this.#port.create(request);
    if (isNew) this.#events.publish('volume', 'create', volume.name, { driver: volume.driver });
    return volume;
  }

  /** Remove a volume no container refers to. With `force` a missing volume is not an error. */
  async remove(name: string, options: { force: boolean }): Promise<void> {
    if (!this.#port.has(name)) {
      if (options.force) return;
      this.#port.get(name);
    }
    const users = this.#usage().get(name) ?? [];
    if (users.length > 0) throw new VolumeInUseError(name, users);
    const driver = this.#port.get(name).driver;
    await this.#port.remove(name);
    this.#events.publish('volume', 'destroy', name, { driver });
  }

  /**
   * Remove the volumes no container uses: only anonymous ones unless `all` (API 1.42 and
   * later; older clients expect all), filtered by `label` / `label!`.
   */
  async prune(filters: Filters, options: { allByDefault: boolean }): Promise<{ deleted: string[]; spaceReclaimedBytes: number }> {
    checkFilterKeys(filters, PRUNE_FILTERS);
    const all = boolFilter(filters, 'all') ?? options.allByDefault;
    const usage = this.#usage();
    const deleted: string[] = [];
    let space = 0;
    for (const volume of this.#port.list()) {
      if ((usage.get(volume.name) ?? []).length > 0) continue;
      if (!all && !(ANONYMOUS_LABEL in volume.labels)) continue;
      if (!labelsMatch(volume.labels, filters)) continue;
      const size = await this.#port.sizeBytes(volume.name);
      try {
        await this.remove(volume.name, { force: false });
      } catch {
        continue;
      }
      deleted.push(volume.name);
      space += size;
    }
    return { deleted, spaceReclaimedBytes: space };
  }
}
