/**
 * A tar re-written with its top entry renamed: what `COPY --from` needs to place a path read
 * from another image (`docker cp`-style, named for its base name) at the destination it names.
 * Parent directory entries may be put in front (a layer built without a container), and an
 * owner may replace every entry's (`--chown`). Also several tars joined into one (joinTars). Both
 * re-pack entries through one loop (repack), file bodies streamed.
 */
import { posix } from 'node:path';
import tar from 'tar-stream';
import { InvalidArgumentError } from '../common/index.js';

export interface RenameOptions {
  /** The archive's top name (the source's base name, or '.' for a root). */
  from: string;
  /** The new top name, relative to `/`. */
  to: string;
  owner?: { uid: number; gid: number };
  /** Directory entries (relative to `/`) to emit first, root-owned 0755. */
  parents?: readonly string[];
}

/** A header as pack.entry takes it: the name, and what else the entry sets. */
type PackHeader = Partial<tar.Header> & Pick<tar.Header, 'name'>;

function renamed(name: string, from: string, to: string): string {
  const clean = name.replace(/^\.\//, '');
  if (from === '.' || from === '') return clean === '' || clean === '.' || clean === './' ? `${to}/` : `${to}/${clean}`;
  if (clean === from || clean === `${from}/`) return clean.endsWith('/') ? `${to}/` : to;
  if (clean.startsWith(`${from}/`)) return `${to}/${clean.slice(from.length + 1)}`;
  return `${to}/${clean}`;
}

function leavesArchive(name: string): boolean {
  const clean = posix.normalize(`./${name}`);
  return clean === '..' || clean.startsWith('../');
}

/** Stream `source` (a tar) with its names moved under `to`; a name that leaves the archive is refused. */
export function renameTar(source: AsyncIterable<Uint8Array>, options: RenameOptions): AsyncGenerator<Buffer> {
  const parents = (options.parents ?? []).map((dir): PackHeader => ({ name: `${dir}/`, type: 'directory', mode: 0o755, uid: 0, gid: 0, mtime: new Date() }));
  return repack([source], parents, (original) => {
    // A name (or hard link) that climbs out of the archive would leave the destination: refused
    // as docker's extraction refuses it, before anything is stored.
    for (const name of [original.name, ...(original.type === 'link' && original.linkname ? [original.linkname] : [])]) {
      if (leavesArchive(name)) throw new InvalidArgumentError(`"${name}" is outside of "/${options.to === '.' ? '' : options.to}"`);
    }
    const header = { ...original, name: renamed(original.name, options.from, options.to) };
    if (header.type === 'link' && header.linkname) header.linkname = renamed(header.linkname, options.from, options.to);
    if (options.owner) {
      header.uid = options.owner.uid;
      header.gid = options.owner.gid;
    }
    return header;
  });
}

/**
 * One tar of the entries of `parts` in order (each part a whole tar): a layer made of several
 * sources without a container (a stage FROM scratch). Directory entries may repeat; later wins.
 */
export function joinTars(parts: ReadonlyArray<AsyncIterable<Uint8Array>>): AsyncGenerator<Buffer> {
  return repack(parts, [], (header) => header);
}

/** One tar: the `leading` entries (directories), then every entry of each of `sources` with its header passed through `map`. */
async function* repack(sources: ReadonlyArray<AsyncIterable<Uint8Array>>, leading: readonly PackHeader[], map: (header: tar.Header) => PackHeader): AsyncGenerator<Buffer> {
  const pack = tar.pack();
  const packing = (async () => {
    for (const header of leading) {
      await new Promise<void>((resolve, reject) => pack.entry(header, (err) => (err ? reject(err) : resolve())));
    }
    for (const source of sources) await copyEntries(source, pack, map);
    pack.finalize();
  })();
  packing.catch((err: Error) => pack.destroy(err));
  try {
    for await (const chunk of pack) yield chunk as Buffer;
    await packing;
  } finally {
    pack.destroy();
    await Promise.allSettled([packing]);
  }
}

/** Feed `source` through an extractor and add each of its entries to `pack`, file bodies streamed. */
async function copyEntries(source: AsyncIterable<Uint8Array>, pack: tar.Pack, map: (header: tar.Header) => PackHeader): Promise<void> {
  const extract = tar.extract();
  const feeding = (async () => {
    for await (const chunk of source) {
      if (!extract.write(chunk)) await new Promise<void>((resolve) => extract.once('drain', () => resolve()));
    }
    extract.end(null);
  })();
  feeding.catch((err: Error) => extract.destroy(err));
  try {
    for await (const entry of extract) {
      const header = map(entry.header);
      await new Promise<void>((resolve, reject) => {
        const done = (err?: Error | null): void => (err ? reject(err) : resolve());
        if (header.type === 'file' || header.type === 'contiguous-file') {
          entry.pipe(pack.entry(header, done));
        } else {
          entry.resume();
          pack.entry(header, done);
        }
      });
    }
    await feeding;
  } finally {
    extract.destroy();
    await Promise.allSettled([feeding]);
  }
}
