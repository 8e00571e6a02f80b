/**
 * A container's mounts: docker's `-v`, `--mount`, `--tmpfs`, `--volumes-from`, `--volume-driver`
 * and the image's VOLUMEs, resolved at create into records (volumes created, anonymous ones
 * named). Validation and wording follow moby's linux mount parser, so errors read as docker's.
 * The records are made ready on the host at each start by mounts-at-start.ts.
 */
import { VolumesUnavailableError } from './errors.js';
import type { VolumePort } from './ports.js';
import {
  ANONYMOUS_LABEL, checkTarget, checkTmpfsOptions, InvalidMountError, isValidMountMode, modeWords, parseBind, parseMountRequest, PROPAGATIONS,
  type ContainerMountRecord, type MountRequest, type PendingVolume,
} from './mount-syntax.js';

export { ANONYMOUS_LABEL, exists, InvalidMountError, isValidMountMode, mountConfigError, type ContainerMountRecord, type MountRequest } from './mount-syntax.js';

/** What the user asked for, in the engine's words. */
export interface MountInput {
  binds: string[];
  mountRequests: MountRequest[];
  tmpfs: Record<string, string>;
  volumesFrom: string[];
  volumeDriver: string;
  /** `Config.Volumes` merged with the image's VOLUMEs: each gets an anonymous volume unless mounted. */
  anonymousPaths: string[];
}

/** What resolveMounts needs from the engine. */
export interface ResolveDeps {
  volumes: VolumePort | undefined;
  /** The mounts of another container (`--volumes-from`); throws NoSuchContainer when unknown. */
  mountsOf(ref: string): ContainerMountRecord[];
}

/**
 * Resolve the user's mount flags into records. Everything is checked before anything is
 * made; then volumes are created (or found), and if that fails, the ones this call created
 * are removed again. Returns the records and the names of the volumes it created.
 */
export async function resolveMounts(input: MountInput, deps: ResolveDeps): Promise<{ mounts: ContainerMountRecord[]; createdVolumes: string[] }> {
  const byDestination = new Map<string, { record: ContainerMountRecord; volume?: PendingVolume; origin: 'from' | 'user' }>();
  for (const spec of input.volumesFrom) {
    if (spec === '') throw new InvalidMountError('volumes-from specification cannot be an empty string');
    const colon = spec.indexOf(':');
    const ref = colon < 0 ? spec : spec.slice(0, colon);
    const mode = colon < 0 ? '' : spec.slice(colon + 1);
    if (mode !== '' && (!isValidMountMode(mode) || modeWords(mode).some((w) => PROPAGATIONS.has(w) || w === 'nocopy'))) {
      throw new InvalidMountError(`invalid mode: ${mode}`);
    }
    for (const mount of deps.mountsOf(ref)) {
      if (mount.type === 'tmpfs') continue;
      const { copyUp: _copyUp, createHostPath: _create, ...rest } = mount;
      byDestination.set(mount.destination, { record: { ...rest, isReadOnly: mount.isReadOnly || modeWords(mode).includes('ro') }, origin: 'from' });
    }
  }
  const addUser = (parsed: { record: ContainerMountRecord; volume?: PendingVolume }): void => {
    const existing = byDestination.get(parsed.record.destination);
    if (existing?.origin === 'user') throw new InvalidMountError(`Duplicate mount point: ${parsed.record.destination}`);
    byDestination.set(parsed.record.destination, { ...parsed, origin: 'user' });
  };
  for (const bind of input.binds) addUser(parseBind(bind, input.volumeDriver));
  for (const request of input.mountRequests) addUser(await parseMountRequest(request));
  const tmpfsTargets = new Set<string>();
  for (const [target, options] of Object.entries(input.tmpfs)) {
    const destination = checkTarget(target, (reason) => new InvalidMountError(reason));
    if (byDestination.get(destination)?.origin === 'user' || tmpfsTargets.has(destination)) throw new InvalidMountError(`Duplicate mount point: ${destination}`);
    tmpfsTargets.add(destination);
    byDestination.set(destination, {
      record: { type: 'tmpfs', destination, source: '', mode: '', isReadOnly: false, propagation: '', tmpfsOptions: checkTmpfsOptions(destination, options.split(',').filter((o) => o !== '')) },
      origin: 'user',
    });
  }
  for (const path of input.anonymousPaths) {
    const destination = checkTarget(path, (reason) => new InvalidMountError(`invalid volume specification: '${path}': ${reason}`));
    if (byDestination.has(destination)) continue;
    const record: ContainerMountRecord = { type: 'volume', destination, source: '', mode: '', isReadOnly: false, propagation: '', copyUp: true, isAnonymous: true };
    byDestination.set(destination, {
      record,
      volume: { record, request: { labels: { [ANONYMOUS_LABEL]: '' }, ...(input.volumeDriver ? { driver: input.volumeDriver } : {}) } },
      origin: 'user',
    });
  }

  const pending = [...byDestination.values()].flatMap((entry) => (entry.volume ? [entry.volume] : []));
  for (const { request } of pending) {
    // Only the local driver exists. Refused here as bad input (400): a 404 would send the CLI off to pull the image.
    if (request.driver && request.driver !== 'local') {
      const operation = request.name ? `create ${request.name}: ` : '';
      throw new InvalidMountError(`${operation}error looking up volume plugin ${request.driver}: plugin "${request.driver}" not found`);
    }
  }
  const createdVolumes: string[] = [];
  if (pending.length > 0 && !deps.volumes) throw new VolumesUnavailableError();
  try {
    for (const { record, request } of pending) {
      const { volume, isNew } = await deps.volumes!.create(request);
      if (isNew) createdVolumes.push(volume.name);
      record.name = volume.name;
      record.driver = volume.driver;
      record.source = volume.mountpoint;
    }
  } catch (err) {
    for (const name of createdVolumes.reverse()) await deps.volumes!.remove(name).catch(() => {});
    throw err;
  }
  const mounts = [...byDestination.values()].map((entry) => entry.record);
  return { mounts, createdVolumes };
}

/** Names of the volumes a container's record uses. */
export function volumeNamesOf(mounts: readonly ContainerMountRecord[] | undefined): string[] {
  return (mounts ?? []).flatMap((m) => (m.type === 'volume' && m.name !== undefined ? [m.name] : []));
}

/** The mount flags of a create request, with the container paths that want anonymous volumes. */
export function mountInputOf(
  host: { binds: string[]; mountRequests?: MountRequest[]; tmpfs?: Record<string, string>; volumesFrom?: string[]; volumeDriver?: string },
  volumes: Record<string, unknown>,
): MountInput {
  return {
    binds: host.binds,
    mountRequests: host.mountRequests ?? [],
    tmpfs: host.tmpfs ?? {},
    volumesFrom: host.volumesFrom ?? [],
    volumeDriver: host.volumeDriver ?? '',
    anonymousPaths: Object.keys(volumes),
  };
}
