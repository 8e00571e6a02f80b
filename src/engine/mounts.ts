/**
 * A container's mounts: docker's `-v`, `--mount`, `--tmpfs`, `--volumes-from`, `--volume-driver`
 * and the image's VOLUMEs, resolved at create into records (volumes created, anonymous ones
 * named). Validation and wording follow moby's linux mount parser, so errors read as docker's.
 * The records are made ready on the host at each start by mounts-at-start.ts.
 */
import { lstat } from 'node:fs/promises';
import { posix } from 'node:path';
import { BerthError, InvalidArgumentError, messageOf } from '../common/index.js';
import { VolumesUnavailableError } from './errors.js';
import type { VolumePort } from './ports.js';

/** One `--mount` entry as the user gave it (docker's `Mount`, camelCase). */
export interface MountRequest {
  type: string;
  source: string;
  target: string;
  readOnly: boolean;
  bindOptions?: { propagation?: string; createMountpoint?: boolean; nonRecursive?: boolean };
  volumeOptions?: {
    noCopy?: boolean;
    labels?: Record<string, string>;
    driverName?: string;
    driverOptions?: Record<string, string>;
    subpath?: string;
  };
  tmpfsOptions?: { sizeBytes?: number; mode?: number; options?: string[][] };
}

/** A mount as the container record keeps it; inspect's `Mounts` is made from these. */
export interface ContainerMountRecord {
  type: 'bind' | 'volume' | 'tmpfs';
  destination: string;
  /** Binds: the host path. Volumes: the volume's data directory. Tmpfs: ''. */
  source: string;
  /** Volumes only. */
  name?: string;
  driver?: string;
  /** The mode as docker shows it (`ro`, `z`, `rw,rprivate`...). */
  mode: string;
  isReadOnly: boolean;
  /** Binds: `rprivate` unless asked otherwise; '' for volumes and tmpfs. */
  propagation: string;
  /** A volume Berth named (`-v /path`, an image VOLUME); `rm -v` and `--rm` remove it. */
  isAnonymous?: boolean;
  /** Copy the image's content at the destination into the volume at the next start, once. */
  copyUp?: boolean;
  /** `-v` binds: make the host directory when it is missing, as docker does. */
  createHostPath?: boolean;
  /** Volumes: a path inside the volume to mount instead of its root. */
  subpath?: string;
  /** tmpfs: mount options (`size=64m`, `mode=1777`). */
  tmpfsOptions?: string[];
}

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

/** A mount specification docker would refuse (HTTP 400). */
export class InvalidMountError extends InvalidArgumentError {
  constructor(message: string) {
    super(message, { code: 'BERTH_INVALID_MOUNT' });
  }
}

/** The label docker puts on anonymous volumes. */
export const ANONYMOUS_LABEL = 'com.docker.volume.anonymous';

const PROPAGATIONS = new Set(['private', 'rprivate', 'slave', 'rslave', 'shared', 'rshared']);
const MODE_GROUPS: ReadonlyArray<ReadonlySet<string>> = [
  new Set(['ro', 'rw']),
  new Set(['z', 'Z']),
  PROPAGATIONS,
  new Set(['nocopy']),
  new Set(['consistent', 'cached', 'delegated']),
];

/** moby's rule: every comma-separated word is known, and at most one of each group. */
export function isValidMountMode(mode: string): boolean {
  if (mode === '') return true;
  const counts = MODE_GROUPS.map(() => 0);
  for (const word of mode.split(',')) {
    const group = MODE_GROUPS.findIndex((g) => g.has(word));
    if (group < 0) return false;
    counts[group]!++;
  }
  return counts.every((c) => c <= 1);
}

function modeWords(mode: string): string[] {
  return mode === '' ? [] : mode.split(',');
}

export function mountConfigError(type: string, reason: string): InvalidMountError {
  return new InvalidMountError(`invalid mount config for type "${type}": ${reason}`);
}

/** Check a container path; returns it cleaned. `reason` wraps the failure as the caller's context needs. */
function checkTarget(target: string, wrap: (reason: string) => InvalidMountError): string {
  if (target === '') throw wrap('field Target must not be empty');
  if (!target.startsWith('/')) throw wrap(`invalid mount path: '${target}' mount path must be absolute`);
  const clean = posix.normalize(target).replace(/(.)\/$/, '$1');
  if (clean === '/') throw wrap("invalid specification: destination can't be '/'");
  return clean;
}

/** A volume a mount needs, created in the second phase of resolve. */
interface PendingVolume {
  record: ContainerMountRecord;
  request: { name?: string; driver?: string; driverOpts?: Record<string, string>; labels?: Record<string, string> };
}

/** One `-v`/Binds entry, moby's ParseMountRaw. */
function parseBind(raw: string, volumeDriver: string): { record: ContainerMountRecord; volume?: PendingVolume } {
  const parts = raw.split(':');
  const arr = parts.length > 4 ? [...parts.slice(0, 3), parts.slice(3).join(':')] : parts;
  const invalidSpec = (): InvalidMountError => new InvalidMountError(`invalid volume specification: '${raw}'`);
  if (arr[0] === '') throw invalidSpec();
  let source = '';
  let target: string;
  let mode = '';
  if (arr.length === 1) {
    target = arr[0]!;
  } else if (arr.length === 2) {
    if (isValidMountMode(arr[1]!)) throw invalidSpec();
    source = arr[0]!;
    target = arr[1]!;
  } else if (arr.length === 3) {
    source = arr[0]!;
    target = arr[1]!;
    mode = arr[2]!;
  } else {
    throw invalidSpec();
  }
  if (!isValidMountMode(mode)) throw new InvalidMountError(`invalid mode: ${mode}`);
  const words = modeWords(mode);
  const isBind = source.startsWith('/');
  const type = isBind ? 'bind' : 'volume';
  const destination = checkTarget(target, (reason) => new InvalidMountError(`invalid volume specification: '${raw}': invalid mount config for type "${type}": ${reason}`));
  const isReadOnly = words.includes('ro');
  if (isBind) {
    return {
      record: {
        type: 'bind',
        destination,
        source: posix.normalize(source).replace(/(.)\/$/, '$1'),
        mode,
        isReadOnly,
        propagation: words.find((w) => PROPAGATIONS.has(w)) ?? 'rprivate',
        createHostPath: true,
      },
    };
  }
  const isAnonymous = source === '';
  const record: ContainerMountRecord = {
    type: 'volume',
    destination,
    source: '',
    mode: mode === '' && !isAnonymous ? 'z' : mode,
    isReadOnly,
    propagation: '',
    copyUp: !words.includes('nocopy'),
    ...(isAnonymous ? { isAnonymous: true } : {}),
  };
  return {
    record,
    volume: {
      record,
      request: {
        ...(isAnonymous ? { labels: { [ANONYMOUS_LABEL]: '' } } : { name: source }),
        ...(volumeDriver ? { driver: volumeDriver } : {}),
      },
    },
  };
}

/** One `--mount`/HostConfig.Mounts entry, moby's ParseMountSpec (bind sources must exist). */
async function parseMountRequest(request: MountRequest): Promise<{ record: ContainerMountRecord; volume?: PendingVolume }> {
  const type = request.type;
  const wrap = (reason: string): InvalidMountError => mountConfigError(type, reason);
  const destination = checkTarget(request.target, wrap);
  switch (type) {
    case 'bind': {
      if (request.source === '') throw wrap('field Source must not be empty');
      if (request.volumeOptions) throw wrap('field VolumeOptions must not be specified');
      const propagation = request.bindOptions?.propagation ?? '';
      if (propagation !== '' && !PROPAGATIONS.has(propagation)) throw wrap(`invalid propagation mode: ${propagation}`);
      if (!request.source.startsWith('/')) throw wrap(`invalid mount path: '${request.source}' mount path must be absolute`);
      const source = posix.normalize(request.source).replace(/(.)\/$/, '$1');
      const createMountpoint = request.bindOptions?.createMountpoint === true;
      if (!createMountpoint && !(await exists(source))) throw wrap(`bind source path does not exist: ${source}`);
      return {
        record: {
          type: 'bind',
          destination,
          source,
          mode: '',
          isReadOnly: request.readOnly,
          propagation: propagation || 'rprivate',
          ...(createMountpoint ? { createHostPath: true } : {}),
        },
      };
    }
    case 'volume': {
      if (request.bindOptions) throw wrap('field BindOptions must not be specified');
      const isAnonymous = request.source === '';
      const options = request.volumeOptions ?? {};
      const subpath = options.subpath ?? '';
      if (subpath !== '') {
        if (isAnonymous) throw wrap('must not set Subpath when using anonymous volumes');
        if (subpath.startsWith('/') || posix.normalize(subpath).split('/').includes('..')) throw wrap('subpath must be a relative path within the volume');
      }
      if (request.readOnly && isAnonymous) throw wrap('must not set ReadOnly mode when using anonymous volumes');
      const record: ContainerMountRecord = {
        type: 'volume',
        destination,
        source: '',
        mode: 'z',
        isReadOnly: request.readOnly,
        propagation: '',
        copyUp: options.noCopy !== true,
        ...(isAnonymous ? { isAnonymous: true } : {}),
        ...(subpath !== '' ? { subpath: posix.normalize(subpath) } : {}),
      };
      const labels = { ...(options.labels ?? {}), ...(isAnonymous ? { [ANONYMOUS_LABEL]: '' } : {}) };
      return {
        record,
        volume: {
          record,
          request: {
            ...(isAnonymous ? {} : { name: request.source }),
            ...(options.driverName ? { driver: options.driverName } : {}),
            ...(options.driverOptions ? { driverOpts: options.driverOptions } : {}),
            labels,
          },
        },
      };
    }
    case 'tmpfs': {
      if (request.bindOptions) throw wrap('field BindOptions must not be specified');
      if (request.source !== '') throw wrap('field Source must not be specified');
      const opts = request.tmpfsOptions ?? {};
      const tmpfsOptions: string[] = [];
      if (request.readOnly) tmpfsOptions.push('ro');
      if (opts.mode) tmpfsOptions.push(`mode=${opts.mode.toString(8)}`);
      if (opts.sizeBytes !== undefined && opts.sizeBytes < 0) throw wrap(`invalid tmpfs size ${opts.sizeBytes}: it must not be negative`);
      if (opts.sizeBytes) tmpfsOptions.push(`size=${sizeWithSuffix(opts.sizeBytes)}`);
      for (const option of opts.options ?? []) {
        if (option.length < 1 || option.length > 2) throw wrap('invalid option array length');
        if (option[0] !== 'exec' && option[0] !== 'noexec') throw wrap(`invalid option: ${option[0]}`);
        tmpfsOptions.push(option.join('='));
      }
      return { record: { type: 'tmpfs', destination, source: '', mode: '', isReadOnly: request.readOnly, propagation: '', tmpfsOptions } };
    }
    case 'image':
    case 'npipe':
    case 'cluster':
      throw wrap(`mount type ${type} is not supported by Berth`);
    default:
      throw wrap('mount type unknown');
  }
}

// Mount flags a tmpfs takes (mount(8)), and tmpfs's own data options with their value forms.
const TMPFS_FLAGS = new Set([
  'ro', 'rw', 'suid', 'nosuid', 'dev', 'nodev', 'exec', 'noexec', 'sync', 'async', 'dirsync', 'mand', 'nomand',
  'atime', 'noatime', 'diratime', 'nodiratime', 'relatime', 'norelatime', 'strictatime', 'nostrictatime',
  'private', 'rprivate', 'shared', 'rshared', 'slave', 'rslave', 'unbindable', 'runbindable', 'tmpcopyup',
]);
const TMPFS_DATA: Record<string, RegExp> = {
  size: /^\d+[kmgtpe]?%?$/i,
  nr_blocks: /^\d+[kmgtpe]?$/i,
  nr_inodes: /^\d+[kmgtpe]?$/i,
  mode: /^[0-7]{1,4}$/,
  uid: /^\d+$/,
  gid: /^\d+$/,
  huge: /^(never|always|within_size|advise|deny|force)$/,
  mpol: /^(default|prefer|bind|interleave|local)(:[\d,-]+)?$/,
};

/** `--tmpfs` options as a tmpfs mount takes them; anything else is refused at create, not at start. */
export function checkTmpfsOptions(destination: string, options: string[]): string[] {
  for (const option of options) {
    const [key = '', value] = option.split('=', 2) as [string?, string?];
    const valid = value === undefined ? TMPFS_FLAGS.has(key) : TMPFS_DATA[key]?.test(value) === true;
    if (!valid) throw new InvalidMountError(`invalid tmpfs option "${option}" for ${destination}`);
  }
  return options;
}

/** Bytes as the largest unit that divides them evenly (moby writes tmpfs sizes so). */
function sizeWithSuffix(bytes: number): string {
  for (const [suffix, divisor] of [['g', 1 << 30], ['m', 1 << 20], ['k', 1 << 10]] as const) {
    if (bytes % divisor === 0) return `${bytes / divisor}${suffix}`;
  }
  return String(bytes);
}

/** Whether anything (a dangling link included) is at `path`. */
export async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch {
    return false;
  }
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
