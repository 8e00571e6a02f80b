/**
 * A volume as Berth records it: `<root>/volumes/<name>/volume.json` beside the `_data`
 * directory that containers mount.
 */

/** The label docker puts on anonymous volumes (`-v /path`, an image's VOLUME). */
export const ANONYMOUS_VOLUME_LABEL = 'com.docker.volume.anonymous';

/** The persisted record of one volume. */
export interface VolumeRecord {
  name: string;
  /** Always `local` for now. */
  driver: string;
  /** RFC 3339, seconds precision, as docker prints it. */
  createdAt: string;
  labels: Record<string, string>;
  /** The local driver's `type`, `device`, `o`. */
  options: Record<string, string>;
}

/** A volume plus where its data lives on the host. */
export interface Volume extends VolumeRecord {
  /** `<root>/volumes/<name>/_data`. */
  mountpoint: string;
}

/** What a caller asks for when creating a volume. */
export interface CreateVolumeRequest {
  /** Empty or undefined: a random 64-hex name. */
  name?: string;
  /** Empty or undefined: `local`. */
  driver?: string;
  driverOpts?: Record<string, string>;
  labels?: Record<string, string>;
}
