/**
 * A container's mounts made ready on the host at each start: volume filesystems mounted by
 * their driver, missing `-v` sources made, the image's content copied into new volumes (without
 * letting an image's links point the copy at host files), in the order the runtime mounts them.
 */
import { lstat, mkdir, readdir, readlink } from 'node:fs/promises';
import { posix } from 'node:path';
import { BerthError, messageOf } from '../common/index.js';
import type { HostTools } from '../sys/index.js';
import { VolumesUnavailableError } from './errors.js';
import { exists, InvalidMountError, mountConfigError, type ContainerMountRecord } from './mounts.js';
import type { ContainerMount, VolumePort } from './ports.js';

/**
 * Make each mount ready on the host and return the runtime's list, parents before children.
 * Volumes are mounted by their driver and, once, filled from the image (docker's copy-up:
 * only into an empty volume, only where the image has a directory); records whose copy-up
 * happened get `copyUp` cleared, so the caller must save the record after.
 */
export async function prepareMounts(
  mounts: ContainerMountRecord[],
  deps: { volumes: VolumePort | undefined; rootfsDir: string; hostTools: HostTools },
): Promise<ContainerMount[]> {
  const ordered = [...mounts].sort((a, b) => depth(a.destination) - depth(b.destination));
  const result: ContainerMount[] = [];
  for (const mount of ordered) {
    switch (mount.type) {
      case 'bind': {
        if (!(await exists(mount.source))) {
          if (!mount.createHostPath) throw mountConfigError('bind', `bind source path does not exist: ${mount.source}`);
          await mkdir(mount.source, { recursive: true, mode: 0o755 });
        }
        result.push({ type: 'bind', destination: mount.destination, source: mount.source, isReadOnly: mount.isReadOnly, options: [mount.propagation || 'rprivate'] });
        break;
      }
      case 'volume': {
        if (!deps.volumes || mount.name === undefined) throw new VolumesUnavailableError();
        const dataDir = await deps.volumes.mount(mount.name);
        if (mount.copyUp) {
          await copyUp(deps.hostTools, deps.rootfsDir, mount.destination, dataDir);
          mount.copyUp = false;
        }
        let source = dataDir;
        if (mount.subpath) {
          source = posix.join(dataDir, mount.subpath);
          if (!(await exists(source))) throw new InvalidMountError(`cannot access path ${source}: no such file or directory`);
        }
        result.push({ type: 'bind', destination: mount.destination, source, isReadOnly: mount.isReadOnly, options: ['rprivate'] });
        break;
      }
      case 'tmpfs':
        result.push({ type: 'tmpfs', destination: mount.destination, options: [...(mount.isReadOnly && !(mount.tmpfsOptions ?? []).includes('ro') ? ['ro'] : []), ...(mount.tmpfsOptions ?? [])] });
        break;
    }
  }
  return result;
}

function depth(path: string): number {
  return path.split('/').filter((p) => p !== '').length;
}

/** Copy the image's directory at `destination` into an empty volume, keeping owners, modes and links. */
async function copyUp(hostTools: HostTools, rootfsDir: string, destination: string, dataDir: string): Promise<void> {
  const source = await resolveInRoot(rootfsDir, destination);
  if (source === undefined) return;
  const info = await lstat(source).catch(() => undefined);
  if (!info?.isDirectory()) return;
  if ((await readdir(dataDir)).length > 0) return;
  const result = await hostTools.copyTree(source, dataDir);
  if (result.exitCode !== 0) {
    throw new BerthError('internal', 'BERTH_VOLUME_COPY_FAILED', `copying image content into volume at ${destination}: ${result.stderr.trim().split('\n').pop() ?? ''}`);
  }
}

/**
 * The host path of `path` inside `root`, following symlinks as the container would see them
 * (an absolute link target starts again at `root`, `..` never leaves it), so an image cannot
 * point a copy-up at host files. Undefined when a component is missing.
 */
export async function resolveInRoot(root: string, path: string): Promise<string | undefined> {
  const pending = path.split('/').filter((p) => p !== '' && p !== '.');
  const resolved: string[] = [];
  let links = 0;
  while (pending.length > 0) {
    const part = pending.shift()!;
    if (part === '..') {
      resolved.pop();
      continue;
    }
    const candidate = posix.join(root, ...resolved, part);
    let info;
    try {
      info = await lstat(candidate);
    } catch {
      return undefined;
    }
    if (info.isSymbolicLink()) {
      if (++links > 40) return undefined;
      const target = await readlink(candidate).catch((err: unknown) => {
        throw new BerthError('internal', 'BERTH_INTERNAL', `reading link ${candidate}: ${messageOf(err)}`);
      });
      if (target.startsWith('/')) resolved.length = 0;
      pending.unshift(...target.split('/').filter((p) => p !== '' && p !== '.'));
      continue;
    }
    resolved.push(part);
  }
  return posix.join(root, ...resolved);
}
