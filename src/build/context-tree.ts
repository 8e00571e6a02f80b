/**
 * The build context as a tree in memory: what the context tar holds, entry by entry, with each
 * regular file's content (small ones in memory, large ones spilled to a private file) and its
 * sha256, taken while the tar streams in. Nothing of the context is ever written to the host
 * at its own path, so a hostile tar has nothing to escape from; paths are resolved here as a
 * process chrooted at the context's top would resolve them (symlinks followed inside the tree,
 * `..` stopping at the top), and the checks docker's untar makes (names, symlinks and
 * hardlinks leaving the context) still refuse the archive.
 */
import { posix } from 'node:path';
import { UnsafeArchiveError } from '../snapshot/index.js';

/** A regular file's bytes; hardlinked nodes share one. */
export interface FileContent {
  sizeBytes: number;
  /** sha256 (hex) of the bytes. */
  sha256: string;
  /** The bytes, when kept in memory. */
  data?: Buffer;
  /** Where the bytes were spilled, when they were not kept in memory. */
  spillPath?: string;
}

/** The kinds of entries a context holds (other tar types are skipped, as docker's untar skips them). */
export type ContextNodeKind = 'directory' | 'file' | 'symlink' | 'character-device' | 'block-device' | 'fifo';

/** One entry of the context. */
export interface ContextNode {
  kind: ContextNodeKind;
  /** Permission bits (with setuid, setgid, sticky). */
  mode: number;
  uid: number;
  gid: number;
  mtime: Date;
  /** A symlink's target. */
  linkname?: string;
  devmajor?: number;
  devminor?: number;
  /** A regular file's content. */
  content?: FileContent;
  /** A directory's entries by name. */
  children?: Map<string, ContextNode>;
}

/** Where a path led: the node (undefined when only the last component is missing), its parent and name. */
export interface ResolvedContextPath {
  /** The resolved path from the top, without a leading slash ('' for the top). */
  path: string;
  parent: ContextNode;
  /** The last component ('.' for the top). */
  name: string;
  node: ContextNode | undefined;
}

/** One entry met by walk(). */
export interface ContextWalkEntry {
  /** Path relative to where the walk started. */
  rel: string;
  node: ContextNode;
}

const MAX_SYMLINKS = 40;

/** What an archive entry adds: the node's fields apart from children. */
export type ContextEntryFields = Omit<ContextNode, 'children'>;

/** A context's tree; every method is synchronous (it lives in memory). */
export class ContextTree {
  readonly top: ContextNode = newDirectory(0o755, new Date());

  /**
   * Resolve `path` (relative to the top; a leading `/` means the top too). Symlinks on the way
   * are followed inside the tree, the last one only with `followLast` (or a trailing slash).
   * Returns undefined when a directory on the way is missing or is not a directory.
   */
  resolve(path: string, followLast: boolean): ResolvedContextPath | undefined {
    const pending = splitPath(path);
    if (/\/\.?$/.test(path)) followLast = true;
    const stack: Array<{ name: string; node: ContextNode }> = [];
    let budget = MAX_SYMLINKS;
    const current = (): ContextNode => stack.at(-1)?.node ?? this.top;
    while (pending.length > 0) {
      const name = pending.shift()!;
      if (name === '..') {
        stack.pop();
        continue;
      }
      const dir = current();
      if (dir.children === undefined) return undefined;
      const node = dir.children.get(name);
      const isLast = pending.length === 0;
      if (node === undefined) {
        if (!isLast) return undefined;
        return { path: [...stack.map((s) => s.name), name].join('/'), parent: dir, name, node: undefined };
      }
      if (node.kind === 'symlink' && (!isLast || followLast)) {
        if (--budget < 0) return undefined;
        const target = node.linkname ?? '';
        if (target.startsWith('/')) stack.length = 0;
        pending.unshift(...splitPath(target));
        continue;
      }
      if (isLast) return { path: [...stack.map((s) => s.name), name].join('/'), parent: dir, name, node };
      stack.push({ name, node });
    }
    // The path named a directory reached through its components (or the top itself).
    const last = stack.pop();
    if (last === undefined) return { path: '', parent: this.top, name: '.', node: this.top };
    return { path: [...stack.map((s) => s.name), last.name].join('/'), parent: current(), name: last.name, node: last.node };
  }

  /**
   * Add one archive entry at `rel` (cleaned, relative, not empty), as untar would write it:
   * missing parent directories are made, a directory over a directory keeps its entries,
   * anything else replaces what was there. Throws UnsafeArchiveError when the parent is not a directory.
   */
  add(rel: string, fields: ContextEntryFields): void {
    const parentPath = posix.dirname(rel);
    const parent = parentPath === '.' ? this.top : this.#makeDirectories(parentPath, rel);
    const name = posix.basename(rel);
    const existing = parent.children!.get(name);
    if (existing?.kind === 'directory' && fields.kind === 'directory') {
      Object.assign(existing, fields);
      return;
    }
    parent.children!.set(name, fields.kind === 'directory' ? { ...fields, children: new Map() } : { ...fields });
  }

  /** The node a hardlink's target names (not followed when it is a symlink); undefined when missing. */
  linkTarget(rel: string): ContextNode | undefined {
    return this.resolve(rel, false)?.node;
  }

  /** Remove what `path` resolves to (following symlinks, as the classic builder's removal does). */
  remove(path: string): void {
    const found = this.resolve(path, true);
    if (found?.node !== undefined && found.node !== this.top) found.parent.children!.delete(found.name);
  }

  /** Every entry below `start`, depth first, names in bytewise order (Go's filepath.Walk); `visit` says whether to descend. */
  walk(start: ContextNode, visit: (entry: ContextWalkEntry) => boolean, rel = ''): void {
    if (start.children === undefined) return;
    const names = [...start.children.keys()].sort(compareNames);
    for (const name of names) {
      const node = start.children.get(name)!;
      const entry = { rel: rel === '' ? name : `${rel}/${name}`, node };
      if (visit(entry) && node.kind === 'directory') this.walk(node, visit, entry.rel);
    }
  }

  #makeDirectories(path: string, forEntry: string): ContextNode {
    const found = this.resolve(path, true);
    if (found?.node !== undefined) {
      if (found.node.kind !== 'directory') throw new UnsafeArchiveError(`cannot extract ${JSON.stringify(forEntry)}: ${JSON.stringify(found.path)} is not a directory`);
      return found.node;
    }
    if (found === undefined) {
      // A directory further up is missing too: make the parents first.
      const parent = this.#makeDirectories(posix.dirname(path) === '.' ? '' : posix.dirname(path), forEntry);
      // What stands there resolves nowhere (a symlink loop): never replace it silently.
      if (parent.children!.has(posix.basename(path))) throw new UnsafeArchiveError(`cannot extract ${JSON.stringify(forEntry)}: ${JSON.stringify(path)} is not a directory`);
      const made = newDirectory(0o755, new Date());
      parent.children!.set(posix.basename(path), made);
      return made;
    }
    const made = newDirectory(0o755, new Date());
    found.parent.children!.set(found.name, made);
    return made;
  }
}

function newDirectory(mode: number, mtime: Date): ContextNode {
  return { kind: 'directory', mode, uid: 0, gid: 0, mtime, children: new Map() };
}

function splitPath(path: string): string[] {
  return path.split('/').filter((part) => part !== '' && part !== '.');
}

// Go sorts names bytewise; localeCompare would not.
function compareNames(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}
