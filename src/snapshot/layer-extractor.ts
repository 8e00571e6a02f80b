/**
 * A hardened layer tar extractor for overlay snapshots. It writes only inside an empty target
 * directory: names with `..` or a leading `/`, entries under a symlink or a non-directory, and
 * hardlinks to anything not already extracted from the same layer fail the whole layer. OCI
 * whiteouts become overlay whiteouts (`.wh.name` a 0/0 character device, `.wh..wh..opq` the
 * `trusted.overlay.opaque` xattr). Ownership, modes and mtimes are kept; device nodes and
 * ownership only when privileged. Callers must discard the target when this throws.
 */
import { constants as fsConstants } from 'node:fs';
import { chmod, lchown, link, lutimes, mkdir, open, rm, symlink, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { decompressed } from './decompress.js';
import tar from 'tar-stream';
import { BerthError, errnoOf, InternalError, NoSpaceError } from '../common/index.js';
import { type Digest } from '../oci/index.js';
import { runCommand } from '../sys/index.js';

/** A layer that tries to write outside its directory or is otherwise malformed. */
export class UnsafeLayerError extends BerthError {
  constructor(message: string) {
    super('invalid-argument', 'BERTH_UNSAFE_LAYER', `unsafe layer: ${message}`);
  }
}

/** How extractLayer may touch the host. */
export interface ExtractOptions {
  /** Create device nodes, whiteouts and opaque xattrs, and keep ownership. Defaults to running as root. */
  isPrivileged?: boolean;
}

/** What an extraction produced. */
export interface ExtractResult {
  /** sha256 of the uncompressed tar: the layer's diff id. */
  diffId: Digest;
  /** Bytes of regular files written (hardlinks counted once). */
  sizeBytes: number;
}

type Kind = 'dir' | 'file' | 'symlink' | 'other';

interface DeferredDir {
  path: string;
  mode: number;
  mtime: Date | undefined;
}

const WHITEOUT_PREFIX = '.wh.';
const OPAQUE_MARKER = '.wh..wh..opq';

/**
 * Extract a layer (plain tar or gzip, detected from its first bytes) into `targetDir`, which must
 * exist and be empty. Throws UnsafeLayerError for a hostile entry; anything already written is
 * then the caller's to remove.
 */
export async function extractLayer(source: Readable | AsyncIterable<Uint8Array>, targetDir: string, options: ExtractOptions = {}): Promise<ExtractResult> {
  const isPrivileged = options.isPrivileged ?? process.getuid?.() === 0;
  const hash = createHash('sha256');
  const extract = tar.extract();
  const { stream: tarBytes } = await decompressed(source);
  // Feed the tar parser by hand: it is a streamx stream, and this keeps hashing, backpressure
  // and error paths explicit.
  let streamError: Error | undefined;
  extract.on('error', (err: Error) => {
    streamError ??= err;
  });
  const feeding = (async () => {
    for await (const chunk of tarBytes) {
      hash.update(chunk);
      if (!extract.write(chunk)) await drained(extract);
    }
    extract.end(null);
  })();
  // A source or gunzip failure must also stop the parser, or the entry loop waits forever.
  feeding.catch((err: Error) => {
    streamError ??= err;
    extract.destroy(err);
  });
  const state = new ExtractionState(targetDir, isPrivileged);
  try {
    for await (const entry of extract) {
      // streamx entries yield Buffers; its types say unknown.
      await state.apply(entry.header, entry as AsyncIterable<Uint8Array>);
      // Whatever an entry did not read (skipped types) must still be consumed.
      entry.resume();
    }
    await feeding;
  } catch (err) {
    extract.destroy();
    await feeding.catch(() => {});
    if (err instanceof BerthError) throw err;
    // A full disk makes the parser close too: say what happened, not what followed from it.
    if (errnoOf(err) === 'ENOSPC' || errnoOf(streamError) === 'ENOSPC') {
      throw new NoSpaceError(`no space left on device while unpacking a layer into ${targetDir}; nothing of the layer is kept`, { cause: err });
    }
    throw new UnsafeLayerError(`cannot read layer: ${(streamError ?? (err as Error)).message}`);
  }
  await state.finish();
  return { diffId: `sha256:${hash.digest('hex')}`, sizeBytes: state.sizeBytes };
}

function drained(stream: tar.Extract): Promise<void> {
  return new Promise((resolve, reject) => {
    const onDrain = (): void => {
      stream.off('close', onClose);
      resolve();
    };
    const onClose = (): void => {
      stream.off('drain', onDrain);
      reject(new Error('tar parser closed'));
    };
    stream.once('drain', onDrain);
    stream.once('close', onClose);
  });
}

/** Split a tar name into safe components, or throw for an absolute or escaping name. */
function components(name: string, what: string): string[] {
  if (name.startsWith('/')) throw new UnsafeLayerError(`absolute ${what} ${JSON.stringify(name)}`);
  const parts = name.split('/').filter((part) => part !== '' && part !== '.');
  if (parts.includes('..')) throw new UnsafeLayerError(`${what} ${JSON.stringify(name)} leaves the layer`);
  return parts;
}

class ExtractionState {
  sizeBytes = 0;
  readonly #root: string;
  readonly #isPrivileged: boolean;
  // What this layer has created so far, by relative path. The target starts empty and only we
  // write to it, so this is the truth and no lstat is needed to detect symlinked parents.
  readonly #kinds = new Map<string, Kind>([['', 'dir']]);
  readonly #dirs = new Map<string, DeferredDir>();
  readonly #opaque = new Set<string>();

  constructor(root: string, isPrivileged: boolean) {
    this.#root = root;
    this.#isPrivileged = isPrivileged;
  }

  async apply(header: tar.Header, body: AsyncIterable<Uint8Array>): Promise<void> {
    const parts = components(header.name, 'path');
    const base = parts[parts.length - 1];
    if (base !== undefined && base.startsWith(WHITEOUT_PREFIX)) {
      await this.#whiteout(parts, base);
      return;
    }
    const rel = parts.join('/');
    if (rel === '') {
      if (header.type !== 'directory') throw new UnsafeLayerError(`the layer root is a ${header.type ?? 'file'}`);
      this.#dirs.set('', { path: this.#root, mode: header.mode ?? 0o755, mtime: header.mtime });
      await this.#own(this.#root, header);
      return;
    }
    await this.#ensureParents(parts);
    const path = join(this.#root, rel);
    const existing = this.#kinds.get(rel);
    if (existing !== undefined && !(existing === 'dir' && header.type === 'directory')) await this.#remove(rel);
    switch (header.type) {
      case 'file':
      case 'contiguous-file':
        await this.#writeFile(path, body);
        this.sizeBytes += header.size ?? 0;
        this.#kinds.set(rel, 'file');
        await this.#own(path, header);
        await chmod(path, (header.mode ?? 0o644) & 0o7777);
        if (header.mtime) await utimes(path, header.mtime, header.mtime);
        return;
      case 'directory':
        if (existing !== 'dir') await mkdir(path, { mode: 0o700 });
        this.#kinds.set(rel, 'dir');
        this.#dirs.set(rel, { path, mode: header.mode ?? 0o755, mtime: header.mtime });
        await this.#own(path, header);
        return;
      case 'symlink':
        await symlink(header.linkname ?? '', path);
        this.#kinds.set(rel, 'symlink');
        await this.#own(path, header);
        if (header.mtime) await lutimes(path, header.mtime, header.mtime);
        return;
      case 'link':
        await this.#hardlink(rel, path, header.linkname ?? '');
        return;
      case 'character-device':
      case 'block-device':
      case 'fifo':
        await this.#special(rel, path, header);
        return;
      default:
        // pax and GNU long-name headers are consumed by tar-stream; anything else is ignored as docker does.
        return;
    }
  }

  async #ensureParents(parts: string[]): Promise<void> {
    for (let i = 1; i < parts.length; i++) {
      const rel = parts.slice(0, i).join('/');
      const kind = this.#kinds.get(rel);
      if (kind === 'dir') continue;
      if (kind === 'symlink') throw new UnsafeLayerError(`${JSON.stringify(parts.join('/'))} is under the symlink ${JSON.stringify(rel)}`);
      if (kind !== undefined) throw new UnsafeLayerError(`${JSON.stringify(parts.join('/'))} is under the non-directory ${JSON.stringify(rel)}`);
      await mkdir(join(this.#root, rel), { mode: 0o755 });
      this.#kinds.set(rel, 'dir');
    }
  }

  async #remove(rel: string): Promise<void> {
    await rm(join(this.#root, rel), { recursive: true, force: true });
    const prefix = `${rel}/`;
    for (const key of [...this.#kinds.keys()]) if (key === rel || key.startsWith(prefix)) this.#kinds.delete(key);
    for (const key of [...this.#dirs.keys()]) if (key === rel || key.startsWith(prefix)) this.#dirs.delete(key);
    for (const key of [...this.#opaque]) if (key === rel || key.startsWith(prefix)) this.#opaque.delete(key);
  }

  async #writeFile(path: string, body: AsyncIterable<Uint8Array>): Promise<void> {
    // O_EXCL|O_NOFOLLOW: never write through something that appeared at this path.
    const handle = await open(path, fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL | fsConstants.O_NOFOLLOW, 0o600);
    try {
      for await (const chunk of body) await handle.write(chunk);
    } finally {
      await handle.close();
    }
  }

  async #hardlink(rel: string, path: string, linkname: string): Promise<void> {
    const targetParts = components(linkname, 'hardlink target');
    const targetRel = targetParts.join('/');
    const targetKind = this.#kinds.get(targetRel);
    if (targetKind === undefined || targetKind === 'dir') {
      throw new UnsafeLayerError(`hardlink ${JSON.stringify(rel)} points at ${JSON.stringify(linkname)}, which is not a file of this layer`);
    }
    await link(join(this.#root, targetRel), path);
    this.#kinds.set(rel, targetKind);
  }

  async #special(rel: string, path: string, header: tar.Header): Promise<void> {
    if (header.type !== 'fifo' && !this.#isPrivileged) return;
    const args = header.type === 'fifo'
      ? [path, 'p']
      : [path, header.type === 'block-device' ? 'b' : 'c', String(header.devmajor ?? 0), String(header.devminor ?? 0)];
    await mknod(args);
    this.#kinds.set(rel, 'other');
    await this.#own(path, header);
    await chmod(path, (header.mode ?? 0o644) & 0o7777);
    if (header.mtime) await utimes(path, header.mtime, header.mtime);
  }

  async #whiteout(parts: string[], base: string): Promise<void> {
    const parentParts = parts.slice(0, -1);
    await this.#ensureParents(parts);
    const parentRel = parentParts.join('/');
    if (base === OPAQUE_MARKER) {
      this.#opaque.add(parentRel);
      return;
    }
    // Other `.wh..wh.` names are AUFS bookkeeping (hardlink dirs); docker skips them too.
    if (base.startsWith(`${WHITEOUT_PREFIX}${WHITEOUT_PREFIX}`)) return;
    const name = base.slice(WHITEOUT_PREFIX.length);
    if (name === '' || name === '.' || name === '..') throw new UnsafeLayerError(`bad whiteout ${JSON.stringify(parts.join('/'))}`);
    if (!this.#isPrivileged) throw new UnsafeLayerError(`whiteout ${JSON.stringify(parts.join('/'))} needs root to unpack`);
    const rel = [...parentParts, name].join('/');
    if (this.#kinds.has(rel)) await this.#remove(rel);
    await mknod([join(this.#root, rel), 'c', '0', '0']);
    this.#kinds.set(rel, 'other');
  }

  async #own(path: string, header: tar.Header): Promise<void> {
    if (this.#isPrivileged) await lchown(path, header.uid ?? 0, header.gid ?? 0);
  }

  /** Opaque markers, then directory modes and mtimes deepest first (children change a dir's mtime). */
  async finish(): Promise<void> {
    if (this.#opaque.size > 0) {
      if (!this.#isPrivileged) throw new UnsafeLayerError('opaque directories need root to unpack');
      let dump = '';
      for (const rel of this.#opaque) dump += `# file: ${escapeAttrPath(join(this.#root, rel))}\ntrusted.overlay.opaque="y"\n\n`;
      const result = await runCommand('setfattr', ['--restore=-'], { input: dump }).catch((err: unknown) => {
        throw new InternalError(`setfattr is needed to unpack opaque directories (install the attr package): ${(err as Error).message}`);
      });
      if (result.exitCode !== 0) throw new InternalError(`setfattr: ${result.stderr.trim().split('\n').pop() ?? ''}`);
    }
    const dirs = [...this.#dirs.entries()].sort(([a], [b]) => b.split('/').length - a.split('/').length || (a < b ? 1 : -1));
    for (const [, dir] of dirs) {
      await chmod(dir.path, dir.mode & 0o7777);
      if (dir.mtime) await utimes(dir.path, dir.mtime, dir.mtime);
    }
  }
}

async function mknod(args: string[]): Promise<void> {
  const result = await runCommand('mknod', args);
  if (result.exitCode !== 0) throw new InternalError(`mknod ${args.join(' ')}: ${result.stderr.trim()}`);
}

// getfattr's dump format escapes unprintable bytes and backslashes as three octal digits.
function escapeAttrPath(path: string): string {
  let out = '';
  for (const byte of Buffer.from(path)) {
    out += byte <= 0x20 || byte >= 0x7f || byte === 0x5c || byte === 0x3d || byte === 0x22 ? `\\${byte.toString(8).padStart(3, '0')}` : String.fromCharCode(byte);
  }
  return out;
}
