/**
 * COPY and ADD sources from the build context, as the classic builder takes them: paths cleaned
 * inside the context (never outside it), Go-style globs (`*`, `?`, `[...]` within one path
 * element), a source symlink followed inside the context, a directory's contents copied
 * rather than the directory itself, and every entry owned by the `--chown` ids (root by
 * default). The result is a tar whose names are the destination paths (relative to `/`), and
 * a checksum of the same entries for the build cache, made from the context's own per-file
 * hashes without reading any file.
 */
import { createHash } from 'node:crypto';
import { posix } from 'node:path';
import { TarWriter } from '../snapshot/index.js';
import { CopyFailedError, globRegex, hasWildcard } from './copy-globs.js';

export { CopyFailedError };
import type { BuildContext } from './build-context.js';
import type { ContextNode, FileContent } from './context-tree.js';

/** One source matched in the context. */
export interface CopySource {
  /** Path relative to the context root, as given (cleaned). */
  path: string;
  node: ContextNode;
}

/** A file a COPY/ADD here-document makes (`COPY <<name /dest`): 0644, its time the step's. */
export interface InlineSource {
  /** The heredoc's name: the file's name under a directory destination. */
  name: string;
  data: Buffer;
}


/** Every path of the context (relative, `/`-separated), directories included. */
function allPaths(context: BuildContext): string[] {
  const out: string[] = [];
  context.tree.walk(context.tree.top, (entry) => {
    out.push(entry.rel);
    return true;
  });
  return out;
}

/** Resolve the sources of one COPY/ADD. `command` names the instruction in messages. */
export function matchSources(context: BuildContext, sources: readonly string[], command: string): CopySource[] {
  const out: CopySource[] = [];
  let paths: string[] | undefined;
  for (const source of sources) {
    const clean = posix.normalize(`/${source}`).slice(1);
    const cleanRel = posix.normalize(source);
    if (cleanRel === '..' || cleanRel.startsWith('../')) {
      throw new CopyFailedError(`${command} failed: forbidden path outside the build context: ${source} ()`);
    }
    if (hasWildcard(clean)) {
      paths ??= allPaths(context);
      const regex = globRegex(clean);
      const matched = paths.filter((p) => regex.test(p));
      for (const path of matched) {
        const found = context.resolve(path);
        if (found?.node) out.push({ path, node: found.node });
      }
      if (matched.length === 0) throw new CopyFailedError(`${command} failed: no source files were specified`);
      continue;
    }
    const found = context.resolve(clean);
    if (found?.node === undefined) {
      throw new CopyFailedError(`${command} failed: file not found in build context or excluded by .dockerignore: stat ${clean === '' ? '.' : clean}: file does not exist`);
    }
    out.push({ path: clean, node: found.node });
  }
  return out;
}

/** Where each source lands: a file at `dest` (or `dest/<name>` for a directory destination), a directory's contents into `dest`. */
export interface CopyPlan {
  /** Absolute destination, cleaned, without a trailing slash ('/' for the root). */
  dest: string;
  destIsDir: boolean;
  owner: { uid: number; gid: number };
  /** Parent directories to add as entries (for a layer built without a container: FROM scratch). */
  withParents?: boolean;
}

/** One entry of a COPY's tar: its header and, for a regular file, where its bytes are. */
interface PlannedEntry {
  header: {
    name: string;
    type: 'directory' | 'file' | 'link' | 'symlink' | 'character-device' | 'block-device' | 'fifo';
    mode: number;
    uid: number;
    gid: number;
    mtime: Date;
    size?: number;
    linkname?: string;
    devmajor?: number;
    devminor?: number;
  };
  content?: FileContent;
}

/** The entries of the sources (then the inline ones) placed as the plan says, names relative to `/`, in tar order. */
function planEntries(context: BuildContext, sources: readonly CopySource[], plan: CopyPlan, inline: readonly InlineSource[], now: Date): PlannedEntry[] {
  const rel = (abs: string): string => abs.replace(/^\/+/, '');
  const out: PlannedEntry[] = [];
  const { uid, gid } = plan.owner;
  // Hardlinked files (one content) become tar links to the first name written, as docker's archiver writes them.
  const firstNames = new Map<FileContent, string>();
  const madeDir = (name: string): void => {
    out.push({ header: { name: `${name}/`, type: 'directory', mode: 0o755, uid: 0, gid: 0, mtime: now } });
  };
  const madeParents = new Set<string>();
  const parentsOf = (abs: string): void => {
    if (!plan.withParents) return;
    const parts = rel(abs).split('/').filter((p) => p !== '');
    for (let i = 1; i < parts.length; i++) {
      const dir = parts.slice(0, i).join('/');
      if (madeParents.has(dir)) continue;
      madeParents.add(dir);
      madeDir(dir);
    }
  };
  const add = (name: string, node: ContextNode): void => {
    const base = { mode: node.mode, uid, gid, mtime: node.mtime };
    switch (node.kind) {
      case 'directory':
        out.push({ header: { ...base, name: name.endsWith('/') ? name : `${name}/`, type: 'directory' } });
        return;
      case 'symlink':
        out.push({ header: { ...base, name, type: 'symlink', linkname: node.linkname ?? '' } });
        return;
      case 'file': {
        const content = node.content!;
        const first = firstNames.get(content);
        if (first !== undefined) {
          out.push({ header: { ...base, name, type: 'link', linkname: first } });
          return;
        }
        firstNames.set(content, name);
        out.push({ header: { ...base, name, type: 'file', size: content.sizeBytes }, content });
        return;
      }
      default:
        out.push({ header: { ...base, name, type: node.kind, devmajor: node.devmajor ?? 0, devminor: node.devminor ?? 0 } });
    }
  };
  for (const source of sources) {
    if (source.node.kind === 'directory') {
      if (plan.dest !== '/') {
        parentsOf(plan.dest);
        if (plan.withParents && !madeParents.has(rel(plan.dest))) {
          madeParents.add(rel(plan.dest));
          madeDir(rel(plan.dest));
        }
      }
      context.tree.walk(source.node, (item) => {
        add(posix.join(rel(plan.dest), item.rel), item.node);
        return true;
      });
      continue;
    }
    const target = plan.destIsDir ? posix.join(plan.dest, posix.basename(source.path)) : plan.dest;
    parentsOf(target);
    add(rel(target), source.node);
  }
  for (const file of inline) {
    const target = plan.destIsDir ? posix.join(plan.dest, file.name) : plan.dest;
    parentsOf(target);
    const data = file.data;
    const content: FileContent = { sizeBytes: data.length, sha256: createHash('sha256').update(data).digest('hex'), data };
    out.push({ header: { name: rel(target), type: 'file', mode: 0o644, uid, gid, mtime: now, size: data.length }, content });
  }
  return out;
}

/** The tar of the sources (then the inline ones) placed as the plan says, names relative to `/`. */
export function packSources(context: BuildContext, sources: readonly CopySource[], plan: CopyPlan, inline: readonly InlineSource[] = []): AsyncIterable<Buffer> {
  const entries = planEntries(context, sources, plan, inline, new Date());
  return TarWriter.run(async (writer) => {
    for (const { header, content } of entries) {
      await writer.addHeader(header, content === undefined ? undefined : content.data ?? { hostPath: content.spillPath! });
    }
  });
}

/**
 * The sources' checksum for the build cache: a sha256 over each entry's name, type, mode,
 * owner, size, link and content hash, in tar order (times left out, as docker's checksum leaves them out).
 */
export function sourcesChecksum(context: BuildContext, sources: readonly CopySource[], plan: CopyPlan, inline: readonly InlineSource[] = []): string {
  const hash = createHash('sha256');
  for (const { header, content } of planEntries(context, sources, plan, inline, new Date(0))) {
    const { mtime: _mtime, ...fields } = header;
    hash.update(`${JSON.stringify({ ...fields, sha256: content?.sha256 ?? '' })}\n`);
  }
  return hash.digest('hex');
}

/** The checksum of a COPY --from's here-documents with the source image they come beside. */
export function inlineChecksum(sourceImage: string, inline: readonly InlineSource[]): string {
  const hash = createHash('sha256').update(`${sourceImage}\n`);
  for (const doc of inline) hash.update(`${JSON.stringify({ name: doc.name, sha256: createHash('sha256').update(doc.data).digest('hex') })}\n`);
  return hash.digest('hex');
}

/** A tar holding only directory `dir` (and its parents), root-owned 0755: WORKDIR and ADD destinations. */
export function dirTar(dir: string): AsyncIterable<Uint8Array> {
  const parts = dir.split('/').filter((p) => p !== '');
  return TarWriter.run(async (writer) => {
    const now = new Date();
    for (let n = 1; n <= parts.length; n++) await writer.addHeader({ name: `${parts.slice(0, n).join('/')}/`, type: 'directory', mode: 0o755, uid: 0, gid: 0, mtime: now });
  });
}
