/**
 * Reading a small file of an image without mounting it: the image's unpacked layers are overlay
 * lower directories (top first), so the file is the one in the topmost layer that has it,
 * unless a layer above deletes it (an overlay whiteout: a 0/0 character device at its path or
 * at one of its parent directories). Opaque directories (an xattr Node cannot read) are not
 * seen; the files read here (/etc/passwd, /etc/group) are not under one in practice.
 */
import { lstat, readFile, readlink } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { errnoOf } from '../common/index.js';

const MAX_SYMLINKS = 8;
const MAX_BYTES = 4 << 20;

type Found = { kind: 'file'; hostPath: string } | { kind: 'symlink'; target: string } | { kind: 'deleted' } | { kind: 'absent' };

async function lookIn(layer: string, parts: string[]): Promise<Found> {
  for (let depth = 1; depth <= parts.length; depth++) {
    const hostPath = join(layer, ...parts.slice(0, depth));
    let info;
    try {
      info = await lstat(hostPath);
    } catch (err) {
      if (errnoOf(err) === 'ENOENT' || errnoOf(err) === 'ENOTDIR') return { kind: 'absent' };
      throw err;
    }
    if (info.isCharacterDevice() && info.rdev === 0) return { kind: 'deleted' };
    if (depth < parts.length) {
      if (!info.isDirectory()) return { kind: 'absent' };
      continue;
    }
    if (info.isSymbolicLink()) return { kind: 'symlink', target: await readlink(hostPath) };
    if (info.isFile() && info.size <= MAX_BYTES) return { kind: 'file', hostPath };
    return { kind: 'absent' };
  }
  return { kind: 'absent' };
}

/** The text of `path` (absolute, inside the image) in the layers `lowerDirs` (top first); undefined when it is not there. */
export async function readImageFile(lowerDirs: readonly string[], path: string): Promise<string | undefined> {
  let wanted = posix.normalize(path);
  for (let hops = 0; hops <= MAX_SYMLINKS; hops++) {
    const parts = wanted.split('/').filter((part) => part !== '' && part !== '.' && part !== '..');
    let next: string | undefined;
    for (const layer of lowerDirs) {
      const found = await lookIn(layer, parts);
      if (found.kind === 'absent') continue;
      if (found.kind === 'deleted') return undefined;
      if (found.kind === 'file') return readFile(found.hostPath, 'utf8');
      // A symlink is followed inside the image, never on the host.
      next = posix.resolve(posix.dirname(`/${parts.join('/')}`), found.target);
      break;
    }
    if (next === undefined) return undefined;
    wanted = next;
  }
  return undefined;
}
