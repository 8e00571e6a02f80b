/** What the engine needs from the volume store (src/volume): named volumes and their data. */

/** A volume as the engine sees it. */
export interface EngineVolume {
  name: string;
  driver: string;
  /** Host path of the volume's data. */
  mountpoint: string;
  createdAt: string;
  labels: Record<string, string>;
  options: Record<string, string>;
}

/**
 * The volume store, as the engine uses it. It knows nothing of containers; the engine keeps
 * volumes that containers use from being removed.
 */
export interface VolumePort {
  /** Create the volume, or return the existing one of that name (`isNew` false). */
  create(request: { name?: string; driver?: string; driverOpts?: Record<string, string>; labels?: Record<string, string> }): Promise<{ volume: EngineVolume; isNew: boolean }>;
  /** Throws a not-found error (`get <name>: no such volume`) when missing. */
  get(name: string): EngineVolume;
  has(name: string): boolean;
  list(): EngineVolume[];
  /** Make the data reachable (mounting a tmpfs- or device-backed volume); returns the host path to bind. */
  mount(name: string): Promise<string>;
  /** Release what mount() made once no running container uses the volume (a tmpfs volume is unmounted). */
  unmount?(name: string): Promise<void>;
  remove(name: string): Promise<void>;
  sizeBytes(name: string): Promise<number>;
}
