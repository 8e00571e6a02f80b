/**
 * docker's mount syntax: `-v`/Binds entries, `--mount` specs and `--tmpfs` options parsed into
 * the records a container keeps, checked and worded as moby's linux mount parser does (its
 * ParseMountRaw and ParseMountSpec). mounts.ts resolves them for a create.
 */
import { lstat } from 'node:fs/promises';
import { posix } from 'node:path';
import { InvalidArgumentError } from '../common/index.js';

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

/** A mount specification docker would refuse (HTTP 400). */
export class InvalidMountError extends InvalidArgumentError {
  constructor(message: string) {
    super(message, { code: 'BERTH_INVALID_MOUNT' });
  }
}

/** The label docker puts on anonymous volumes. */
export const ANONYMOUS_LABEL = 'com.docker.volume.anonymous';

export const PROPAGATIONS = new Set(['private', 'rprivate', 'slave', 'rslave', 'shared', 'rshared']);
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

export function modeWords(mode: string): string[] {
  return mode === '' ? [] : mode.split(',');
}

export function mountConfigError(type: string, reason: string): InvalidMountError {
  return new InvalidMountError(`invalid mount config for type "${type}": ${reason}`);
}

/** Check a container path; returns it cleaned. `reason` wraps the failure as the caller's context needs. */
export function checkTarget(target: string, wrap: (reason: string) => InvalidMountError): string {
  if (target === '') throw wrap('field Target must not be empty');
  if (!target.startsWith('/')) throw wrap(`invalid mount path: '${target}' mount path must be absolute`);
  const clean = posix.normalize(target).replace(/(.)\/$/, '$1');
  if (clean === '/') throw wrap("invalid specification: destination can't be '/'");
  return clean;
}

/** A volume a mount needs, created in the second phase of resolve. */
export interface PendingVolume {
  record: ContainerMountRecord;
  request: { name?: string; driver?: string; driverOpts?: Record<string, string>; labels?: Record<string, string> };
}

/** One `-v`/Binds entry, moby's ParseMountRaw. */
export function parseBind(raw: string, volumeDriver: string): { record: ContainerMountRecord; volume?: PendingVolume } {
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
export async function parseMountRequest(request: MountRequest): Promise<{ record: ContainerMountRecord; volume?: PendingVolume }> {
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
