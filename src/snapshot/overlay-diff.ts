/**
 * What a container changed, read from its overlay upper dir: the list `docker diff` prints and
 * the layer tar `docker commit` stores. Overlay whiteouts (0/0 character devices) are
 * deletions and become `.wh.<name>` entries; opaque directories (`trusted.overlay.opaque=y`)
 * become a `.wh..wh..opq` entry after the directory, as in docker's layers. The upper dir is
 * walked through descriptors (a running container may be changing it); the lower dirs are
 * ours and only looked at.
 */
import type { Stats } from 'node:fs';
import { lstat } from 'node:fs/promises';
import { join } from 'node:path';
import { InternalError, errnoOf } from '../common/index.js';
import { runCommand } from '../sys/index.js';
import type { RootedDir } from './rooted-dir.js';
import { TarWriter, walkTree, type WalkEntry } from './tree-packer.js';

/** docker's change kinds (the numbers `/containers/{id}/changes` sends). */
export const ChangeKind = { modify: 0, add: 1, delete: 2 } as const;

/** One changed path. */
export interface FilesystemChange {
  /** `/`-rooted path in the container. */
  path: string;
  kind: (typeof ChangeKind)[keyof typeof ChangeKind];
}

/** Decides which upper-dir entries are not the user's changes (the runtime's mount points). */
export type IgnoreEntry = (path: string, stats: Stats) => boolean;

const OPAQUE_ATTR = 'trusted.overlay.opaque';

function isWhiteout(stats: Stats): boolean {
  return stats.isCharacterDevice() && stats.rdev === 0;
}

/**
 * Paths (relative to `upperDir`, `/`-rooted) of the opaque directories in it. One getfattr run
 * over the tree; it never follows symlinks (-P).
 */
export async function readOpaqueDirs(upperDir: string): Promise<Set<string>> {
  const result = await runCommand('getfattr', ['-R', '-P', '--absolute-names', '-d', '-m', `^${OPAQUE_ATTR.replace(/\./g, '\\.')}$`, '-e', 'text', upperDir]).catch((err: unknown) => {
    throw new InternalError(`getfattr is needed to read overlay directories (install the attr package): ${(err as Error).message}`);
  });
  const opaque = new Set<string>();
  let file: string | undefined;
  for (const line of result.stdout.split('\n')) {
    if (line.startsWith('# file: ')) file = unescapeAttrPath(line.slice('# file: '.length));
    else if (file !== undefined && line === `${OPAQUE_ATTR}="y"`) {
      const rel = file.slice(upperDir.replace(/\/$/, '').length);
      opaque.add(rel === '' ? '/' : rel);
    }
  }
  return opaque;
}

// getfattr escapes unprintable bytes, backslashes and some punctuation as \ooo.
function unescapeAttrPath(text: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const match = /^\\([0-7]{3})/.exec(text.slice(i, i + 4));
    if (match) {
      bytes.push(parseInt(match[1]!, 8));
      i += 3;
    } else {
      bytes.push(...Buffer.from(text[i]!));
    }
  }
  return Buffer.from(bytes).toString();
}

/**
 * The changes in `upper` against `lowerDirs` (top layer first), in docker's order and with
 * its rules: a whiteout or opaque directory is a deletion; an entry that exists in a lower
 * layer is a modification (a directory whose size, mode and mtime are the lower's is not
 * listed); anything else is an addition; the parent of an addition or deletion is listed as
 * modified.
 */
export async function overlayChanges(upper: RootedDir, upperDir: string, lowerDirs: readonly string[], ignore: IgnoreEntry): Promise<FilesystemChange[]> {
  const opaque = await readOpaqueDirs(upperDir);
  const changes: FilesystemChange[] = [];
  const changedDirs = new Set<string>();
  await walkTree(upper, upper.top, async (entry) => {
    const { path, stats } = entry;
    if (ignore(path, stats)) return false;
    let kind: FilesystemChange['kind'];
    if (isWhiteout(stats) || (stats.isDirectory() && opaque.has(path))) {
      kind = ChangeKind.delete;
    } else {
      const lower = await lowerStats(lowerDirs, path);
      if (lower === undefined) kind = ChangeKind.add;
      else if (stats.isDirectory() && lower.isDirectory() && stats.size === lower.size && stats.mode === lower.mode && stats.mtimeMs === lower.mtimeMs) return true;
      else kind = ChangeKind.modify;
    }
    if (stats.isDirectory()) changedDirs.add(path);
    if (kind !== ChangeKind.modify) {
      const parent = path.slice(0, path.lastIndexOf('/')) || '/';
      if (parent !== '/' && !changedDirs.has(parent)) {
        changes.push({ path: parent, kind: ChangeKind.modify });
        changedDirs.add(parent);
      }
    }
    changes.push({ path, kind });
    return true;
  });
  return changes;
}

/** lstat of `path` in the topmost lower layer that has it, without following symlinks on the way. */
async function lowerStats(lowerDirs: readonly string[], path: string): Promise<Stats | undefined> {
  const parts = path.split('/').filter((p) => p !== '');
  for (const lower of lowerDirs) {
    let dir = lower;
    let found: Stats | undefined;
    for (const [index, part] of parts.entries()) {
      const stats = await lstat(join(dir, part)).catch((err: unknown) => {
        if (errnoOf(err) === 'ENOENT' || errnoOf(err) === 'ENOTDIR') return undefined;
        throw err;
      });
      if (stats === undefined || isWhiteout(stats)) break;
      if (index === parts.length - 1) found = stats;
      else if (!stats.isDirectory()) break;
      dir = join(dir, part);
    }
    if (found !== undefined) return found;
  }
  return undefined;
}

/**
 * The upper dir as a docker layer tar (uncompressed): whiteouts as `.wh.` files, opaque
 * directories followed by `.wh..wh..opq`, ignored entries left out.
 */
export function packOverlayDiff(upper: RootedDir, upperDir: string, ignore: IgnoreEntry): AsyncIterable<Buffer> {
  return TarWriter.run(async (writer) => {
    const opaque = await readOpaqueDirs(upperDir);
    await walkTree(upper, upper.top, async (entry: WalkEntry) => {
      const { rel, path, stats } = entry;
      if (ignore(path, stats)) return false;
      if (isWhiteout(stats)) {
        const slash = rel.lastIndexOf('/');
        await writer.addEmptyFile(`${rel.slice(0, slash + 1)}.wh.${rel.slice(slash + 1)}`, { mode: 0o644, uid: 0, gid: 0, mtime: stats.mtime });
        return false;
      }
      await writer.add(rel, stats, entry);
      if (stats.isDirectory() && opaque.has(path)) await writer.addEmptyFile(`${rel}/.wh..wh..opq`, { mode: 0o644, uid: 0, gid: 0, mtime: stats.mtime });
      return true;
    });
  });
}
