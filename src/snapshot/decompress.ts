/**
 * Tar streams that may or may not be gzip'd (layers, `docker load` archives, `docker import`
 * sources): the first chunk decides, and is replayed in front of the rest.
 */
import { Readable, pipeline } from 'node:stream';
import { createGunzip } from 'node:zlib';

const GZIP_MAGIC = [0x1f, 0x8b];

/**
 * The uncompressed bytes of `source` (gunzipped when its first bytes are gzip's magic), and
 * the source's first chunk as read, so callers can tell an empty source. Errors of the source
 * surface in whoever reads the returned stream.
 */
export async function decompressed(source: Readable | AsyncIterable<Uint8Array>): Promise<{ stream: Readable; head: Buffer }> {
  const iterator = source[Symbol.asyncIterator]();
  const first = await iterator.next();
  const head = first.done ? Buffer.alloc(0) : Buffer.from(first.value as Uint8Array);
  async function* replay(): AsyncGenerator<Uint8Array> {
    if (head.length > 0) yield head;
    for (;;) {
      const next = await iterator.next();
      if (next.done) return;
      yield next.value as Uint8Array;
    }
  }
  const raw = Readable.from(replay());
  if (!(head.length >= 2 && head[0] === GZIP_MAGIC[0] && head[1] === GZIP_MAGIC[1])) return { stream: raw, head };
  const gunzip = createGunzip();
  pipeline(raw, gunzip, () => {});
  return { stream: gunzip, head };
}
