/**
 * `docker diff` (`GET /containers/{id}/changes`): the container's own changes, read from its
 * overlay upper dir against its image's layers, without the runtime's mount-point placeholders.
 */
import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { overlayChanges, RootedDir, type FilesystemChange } from '../../snapshot/index.js';
import { isRuntimePlaceholder, type ArchiveDeps } from './container-fs.js';

/**
 * The changed paths in docker's order and kinds. A directory listed only because its mtime
 * moved when the runtime made a placeholder in it (and nothing of the user's below it
 * changed) is left out, as docker's init layer would have kept it out.
 */
export async function containerChanges(deps: ArchiveDeps, ref: string): Promise<FilesystemChange[]> {
  const record = deps.containers.get(ref);
  const paths = deps.containers.pathsOf(record.id);
  const lowerDirs = await deps.images.lowerDirs(record.imageId);
  const upper = await RootedDir.open(paths.upper);
  let changes: FilesystemChange[];
  try {
    changes = await overlayChanges(upper, paths.upper, lowerDirs, isRuntimePlaceholder);
  } finally {
    await upper.close();
  }
  const kept: FilesystemChange[] = [];
  for (const [index, change] of changes.entries()) {
    if (change.kind === 0 && !changes.slice(index + 1).some((later) => later.path.startsWith(`${change.path}/`))) {
      const stats = await lstat(join(paths.upper, change.path)).catch(() => undefined);
      if (stats?.isDirectory() && (await onlyPlaceholdersChanged(paths.upper, change.path))) continue;
    }
    kept.push(change);
  }
  return kept;
}

// A copied-up directory whose only upper-dir content is runtime placeholders.
async function onlyPlaceholdersChanged(upperDir: string, path: string): Promise<boolean> {
  const names = await readdir(join(upperDir, path)).catch(() => [] as string[]);
  for (const name of names) {
    const child = path === '/' ? `/${name}` : `${path}/${name}`;
    const stats = await lstat(join(upperDir, child)).catch(() => undefined);
    if (stats === undefined || !isRuntimePlaceholder(child, stats)) return false;
  }
  return true;
}
