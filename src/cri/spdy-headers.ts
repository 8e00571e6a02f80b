/**
 * SPDY/3 header blocks (draft section 2.6.10): name/value pairs, zlib-compressed with SPDY/3's
 * dictionary in one zlib stream per direction for the whole session. Reading: the client's
 * blocks each end in a sync flush, so each is whole deflate blocks that inflate alone given the
 * last 32 KiB of what came before as the dictionary. Writing: stored (uncompressed) deflate
 * blocks, which any zlib reader takes, so no compressor state is kept.
 */
import { constants as zlibConstants, inflateRawSync } from 'node:zlib';

/** A header block that inflates past this ends the session (a zlib bomb, not headers). */
const MAX_HEADER_BYTES = 256 * 1024;
/** Deflate's window: how far back a block may refer. */
const WINDOW_BYTES = 32 * 1024;

// SPDY/3's header dictionary (draft section 2.6.10.1): these words, each after its length as
// four big-endian bytes, then the text that follows them.
const DICTIONARY_WORDS = [
  'options', 'head', 'post', 'put', 'delete', 'trace', 'accept', 'accept-charset', 'accept-encoding',
  'accept-language', 'accept-ranges', 'age', 'allow', 'authorization', 'cache-control', 'connection',
  'content-base', 'content-encoding', 'content-language', 'content-length', 'content-location',
  'content-md5', 'content-range', 'content-type', 'date', 'etag', 'expect', 'expires', 'from', 'host',
  'if-match', 'if-modified-since', 'if-none-match', 'if-range', 'if-unmodified-since', 'last-modified',
  'location', 'max-forwards', 'pragma', 'proxy-authenticate', 'proxy-authorization', 'range', 'referer',
  'retry-after', 'server', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'user-agent', 'vary', 'via',
  'warning', 'www-authenticate', 'method', 'get', 'status', '200 OK', 'version', 'HTTP/1.1', 'url',
  'public', 'set-cookie', 'keep-alive', 'origin',
];
const DICTIONARY_TAIL =
  '100101201202205206300302303304305306307402405406407408409410411412413414415416417502504505' +
  '203 Non-Authoritative Information204 No Content301 Moved Permanently400 Bad Request401 Unauthorized' +
  '403 Forbidden404 Not Found500 Internal Server Error501 Not Implemented503 Service Unavailable' +
  'Jan Feb Mar Apr May Jun Jul Aug Sept Oct Nov Dec 00:00:00 Mon, Tue, Wed, Thu, Fri, Sat, Sun, GMT' +
  'chunked,text/html,image/png,image/jpg,image/gif,application/xml,application/xhtml+xml,text/plain,' +
  'text/javascript,publicprivatemax-age=gzip,deflate,sdchcharset=utf-8charset=iso-8859-1,utf-,*,enq=0.';

export const SPDY_DICTIONARY: Buffer = Buffer.concat([
  ...DICTIONARY_WORDS.flatMap((word) => [uint32(word.length), Buffer.from(word, 'latin1')]),
  Buffer.from(DICTIONARY_TAIL, 'latin1'),
]);

export function uint32(value: number): Buffer {
  const bytes = Buffer.alloc(4);
  bytes.writeUInt32BE(value >>> 0);
  return bytes;
}

/** zlib's Adler-32 (RFC 1950 section 8), which names the dictionary in a zlib header. */
export function adler32(bytes: Buffer): number {
  let a = 1;
  let b = 0;
  for (let i = 0; i < bytes.length; i++) {
    a = (a + bytes[i]!) % 65521;
    b = (b + a) % 65521;
  }
  return ((b << 16) | a) >>> 0;
}

/** Header names are lower case on the wire (SPDY/3 section 2.6.10); a name may carry several values, NUL-separated. */
export type SpdyHeaders = Map<string, string[]>;

function encodeHeaderBlock(headers: SpdyHeaders): Buffer {
  const parts: Buffer[] = [uint32(headers.size)];
  for (const [name, values] of headers) {
    const nameBytes = Buffer.from(name.toLowerCase(), 'utf8');
    const valueBytes = Buffer.from(values.join('\0'), 'utf8');
    parts.push(uint32(nameBytes.length), nameBytes, uint32(valueBytes.length), valueBytes);
  }
  return Buffer.concat(parts);
}

function decodeHeaderBlock(block: Buffer): SpdyHeaders {
  const headers: SpdyHeaders = new Map();
  let at = 0;
  const take = (): Buffer => {
    if (at + 4 > block.length) throw new Error('a SPDY header block ends early');
    const length = block.readUInt32BE(at);
    at += 4;
    if (at + length > block.length) throw new Error('a SPDY header block ends early');
    const bytes = block.subarray(at, at + length);
    at += length;
    return bytes;
  };
  if (block.length < 4) throw new Error('a SPDY header block ends early');
  const count = block.readUInt32BE(0);
  at = 4;
  for (let i = 0; i < count; i++) {
    const name = take().toString('utf8').toLowerCase();
    const values = take().toString('utf8').split('\0');
    headers.set(name, [...(headers.get(name) ?? []), ...values]);
  }
  return headers;
}

/** Writes header blocks as one zlib stream of stored blocks, with SPDY/3's dictionary named in its header. */
export class HeaderBlockWriter {
  #started = false;

  encode(headers: SpdyHeaders): Buffer {
    const raw = encodeHeaderBlock(headers);
    const parts: Buffer[] = [];
    if (!this.#started) {
      this.#started = true;
      // CMF 0x78 (deflate, 32 KiB window); FLG with FDICT, its check bits making CMF*256+FLG a multiple of 31.
      const flagsWithoutCheck = 0x20;
      const check = 31 - ((0x78 * 256 + flagsWithoutCheck) % 31);
      parts.push(Buffer.from([0x78, flagsWithoutCheck | check]), uint32(adler32(SPDY_DICTIONARY)));
    }
    for (let at = 0; at < raw.length; at += 0xffff) {
      const piece = raw.subarray(at, at + 0xffff);
      const header = Buffer.alloc(5);
      header[0] = 0x00; // not the final block; stored
      header.writeUInt16LE(piece.length, 1);
      header.writeUInt16LE(~piece.length & 0xffff, 3);
      parts.push(header, piece);
    }
    // The empty stored block a sync flush ends with, as zlib writes it.
    parts.push(Buffer.from([0x00, 0x00, 0x00, 0xff, 0xff]));
    return Buffer.concat(parts);
  }
}

/** Reads the client's header blocks: one zlib stream, each block ended by a sync flush. */
export class HeaderBlockReader {
  #history: Buffer = SPDY_DICTIONARY;
  #started = false;

  decode(compressed: Buffer): SpdyHeaders {
    let deflate = compressed;
    if (!this.#started) {
      if (compressed.length < 2 || compressed[0]! >> 4 > 7 || (compressed[0]! & 0x0f) !== 8 || (compressed[0]! * 256 + compressed[1]!) % 31 !== 0) {
        throw new Error('a SPDY header block that is not zlib');
      }
      let at = 2;
      if (compressed[1]! & 0x20) {
        if (compressed.length < 6) throw new Error('a SPDY header block ends early');
        if (compressed.readUInt32BE(2) !== adler32(SPDY_DICTIONARY)) throw new Error('a SPDY header block compressed with another dictionary');
        at = 6;
      } else {
        this.#history = Buffer.alloc(0);
      }
      this.#started = true;
      deflate = compressed.subarray(at);
    }
    const block = inflateRawSync(deflate, {
      ...(this.#history.length > 0 ? { dictionary: this.#history } : {}),
      finishFlush: zlibConstants.Z_SYNC_FLUSH,
      maxOutputLength: MAX_HEADER_BYTES,
    });
    const history = Buffer.concat([this.#history, block]);
    this.#history = history.subarray(Math.max(0, history.length - WINDOW_BYTES));
    return decodeHeaderBlock(block);
  }
}
