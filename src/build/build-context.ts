/**
 * The build context: the tar a client sends with `POST /build`, read once as it streams in
 * into a tree in memory (context-tree.ts) for the length of one build. Each regular file's
 * sha256 is taken on the way, so the cache checksum of a COPY needs no file read; small files
 * stay in memory, large ones are spilled to numbered files of a private directory (never to
 * the context's own paths, so nothing a hostile tar names is ever created on the host).
 * Entries are checked as docker's untar checks them: a name, symlink or hardlink leaving the
 * context refuses the whole archive.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, open, readFile, rm } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { BerthError, DockerignoreMatcher, errnoOf, InvalidArgumentError, messageOf, parseDockerignore } from '../common/index.js';
import { archiveRelativeName, decompressed, leavesDestination, tarEntries, UnsafeArchiveError, type ParsedTarEntry } from '../snapshot/index.js';
import { ContextTree, type ContextNode, type ContextNodeKind, type FileContent, type ResolvedContextPath } from './context-tree.js';

/** The name docker-py gives a Dockerfile from outside the context when it adds it to the tar. */
export const DEFAULT_DOCKERFILE = 'Dockerfile';

/** A file up to this size is kept in memory... */
const MAX_KEPT_FILE_BYTES = 1024 * 1024;
/** ...while the context's kept files stay under this; the rest is spilled to disk. */
const MAX_KEPT_TOTAL_BYTES = 128 * 1024 * 1024;

/** A failure to read the Dockerfile from the context (docker's message, a 400). */
export class DockerfileNotFoundError extends InvalidArgumentError {}

const KIND_OF_TAR_TYPE: Partial<Record<string, ContextNodeKind>> = {
  'file': 'file',
  'contiguous-file': 'file',
  'directory': 'directory',
  'symlink': 'symlink',
  'character-device': 'character-device',
  'block-device': 'block-device',
  'fifo': 'fifo',
};

/** A received build context; close() removes what it spilled. */
export class BuildContext {
  readonly tree = new ContextTree();
  readonly #spillDir: string;
  #keptBytes = 0;
  #spilled = 0;

  private constructor(spillDir: string) {
    this.#spillDir = spillDir;
  }

  /**
   * Read the context tar (plain or gzip) from `source`; large files go to a new directory
   * below `parentDir`. A refused archive is an UnsafeArchiveError (or InvalidArgumentError for
   * a body that is no tar) and leaves nothing behind.
   */
  static async receive(source: AsyncIterable<Uint8Array>, parentDir: string): Promise<BuildContext> {
    await mkdir(parentDir, { recursive: true, mode: 0o700 });
    const context = new BuildContext(await mkdtemp(join(parentDir, 'ctx-')));
    try {
      const { stream } = await decompressed(source);
      for await (const entry of tarEntries(() => stream)) await context.#add(entry);
      return context;
    } catch (err) {
      await context.close();
      if (err instanceof BerthError) throw err;
      // A body that is no tar (or a broken gzip) is the client's error, as docker answers it.
      if (errnoOf(err) === undefined || errnoOf(err)!.startsWith('Z_')) throw new InvalidArgumentError(`failed to read the build context: ${messageOf(err)}`, { cause: err });
      throw err;
    }
  }

  async #add({ header, rel, body }: ParsedTarEntry): Promise<void> {
    if (leavesDestination(rel)) throw new UnsafeArchiveError(`${JSON.stringify(header.name)} is outside of "/"`);
    const linkname = header.linkname ?? '';
    // docker's rule: a relative symlink target, taken from the link's own directory, must stay in the context.
    if (header.type === 'symlink' && !linkname.startsWith('/') && leavesDestination(posix.normalize(posix.join(posix.dirname(`./${rel}`), linkname)))) {
      throw new UnsafeArchiveError(`invalid symlink ${JSON.stringify(`/${rel}`)} -> ${JSON.stringify(linkname)}`);
    }
    if (rel === '') return;
    const base = { mode: (header.mode ?? 0o644) & 0o7777, uid: header.uid ?? 0, gid: header.gid ?? 0, mtime: header.mtime ?? new Date(0) };
    if (header.type === 'link') {
      const target = leavesDestination(archiveRelativeName(linkname)) ? undefined : this.tree.linkTarget(archiveRelativeName(linkname));
      if (target === undefined || target.kind === 'directory') throw new UnsafeArchiveError(`invalid hardlink ${JSON.stringify(`/${rel}`)} -> ${JSON.stringify(linkname)}`);
      this.tree.add(rel, { ...target, ...base });
      return;
    }
    const kind = KIND_OF_TAR_TYPE[header.type ?? 'file'];
    // Other types (GNU sparse, extended headers tar-stream already applied) are skipped, as docker skips them.
    if (kind === undefined) return;
    const fields: Omit<ContextNode, 'children'> = { kind, ...base };
    if (kind === 'symlink') fields.linkname = linkname;
    if (kind === 'character-device' || kind === 'block-device') {
      fields.devmajor = header.devmajor ?? 0;
      fields.devminor = header.devminor ?? 0;
    }
    if (kind === 'file') fields.content = await this.#takeContent(body, header.size ?? 0);
    this.tree.add(rel, fields);
  }

  async #takeContent(body: AsyncIterable<Uint8Array>, sizeBytes: number): Promise<FileContent> {
    const hash = createHash('sha256');
    if (sizeBytes <= MAX_KEPT_FILE_BYTES && this.#keptBytes + sizeBytes <= MAX_KEPT_TOTAL_BYTES) {
      const chunks: Buffer[] = [];
      for await (const chunk of body) {
        hash.update(chunk);
        chunks.push(Buffer.from(chunk));
      }
      const data = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
      this.#keptBytes += data.length;
      return { sizeBytes: data.length, sha256: hash.digest('hex'), data };
    }
    const spillPath = join(this.#spillDir, String(this.#spilled++));
    const handle = await open(spillPath, 'wx', 0o600);
    let written = 0;
    try {
      for await (const chunk of body) {
        hash.update(chunk);
        await handle.write(chunk);
        written += chunk.length;
      }
    } finally {
      await handle.close();
    }
    return { sizeBytes: written, sha256: hash.digest('hex'), spillPath };
  }

  /** Resolve a context path (following symlinks inside the context only); undefined when missing. */
  resolve(path: string): ResolvedContextPath | undefined {
    const found = this.tree.resolve(path, true);
    return found?.node === undefined ? undefined : found;
  }

  /** A regular file's content, or undefined when it is missing or not a file. */
  async readFile(path: string): Promise<Buffer | undefined> {
    const content = this.resolve(path)?.node?.content;
    return content === undefined ? undefined : BuildContext.read(content);
  }

  /** A regular file's bytes (from memory or its spilled copy). */
  static async read(content: FileContent): Promise<Buffer> {
    return content.data ?? readFile(content.spillPath!);
  }

  /** A regular file's bytes as a stream (from memory or its spilled copy). */
  static contentStream(content: FileContent): AsyncIterable<Uint8Array> {
    const { data, spillPath } = content;
    if (data === undefined) return createReadStream(spillPath!);
    return (async function* () {
      yield data;
    })();
  }

  /**
   * The Dockerfile's text. As docker's classic builder: the path is taken inside the context,
   * and an excluded Dockerfile or `.dockerignore` is dropped from the context afterwards.
   */
  async takeDockerfile(path: string): Promise<string> {
    const name = path === '' ? DEFAULT_DOCKERFILE : path.replace(/^\.?\/+/, '');
    let text = await this.readFile(name);
    if (text === undefined && path === '') text = await this.readFile(DEFAULT_DOCKERFILE.toLowerCase());
    if (text === undefined) {
      throw new DockerfileNotFoundError(`Cannot locate specified Dockerfile: ${path === '' ? DEFAULT_DOCKERFILE : path}`);
    }
    const ignore = await this.readFile('.dockerignore');
    if (ignore !== undefined) {
      const matcher = new DockerignoreMatcher(parseDockerignore(ignore.toString('utf8')));
      for (const file of [name, '.dockerignore']) {
        if (matcher.isIgnored(file)) this.tree.remove(file);
      }
    }
    return text.toString('utf8');
  }

  async close(): Promise<void> {
    await rm(this.#spillDir, { recursive: true, force: true });
  }
}
