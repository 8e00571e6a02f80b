/**
 * Drops the frames of unwanted streams from docker's multiplexed stream (attach with
 * `stdout=0` or `stderr=0`), whatever the chunk boundaries of its input.
 */
import { Transform, type TransformCallback } from 'node:stream';

const HEADER_BYTES = 8;

/**
 * A Transform over multiplexed frames: a frame whose stream type is in `keep` passes
 * unchanged, any other is dropped whole. Input may split or join frames anywhere; output
 * is only whole frames (or only their payloads with `payloadOnly`, for the websocket attach,
 * which docker sends unframed). A trailing partial frame at end of input is dropped.
 */
export class FrameStreamFilter extends Transform {
  readonly #keep: ReadonlySet<number>;
  readonly #payloadOnly: boolean;
  #pending: Buffer = Buffer.alloc(0);

  constructor(keep: Iterable<number>, options: { payloadOnly?: boolean } = {}) {
    super();
    this.#keep = new Set(keep);
    this.#payloadOnly = options.payloadOnly ?? false;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    let buffer = this.#pending.length > 0 ? Buffer.concat([this.#pending, chunk]) : chunk;
    while (buffer.length >= HEADER_BYTES) {
      const size = HEADER_BYTES + buffer.readUInt32BE(4);
      if (buffer.length < size) break;
      if (this.#keep.has(buffer[0]!) && size > HEADER_BYTES) this.push(buffer.subarray(this.#payloadOnly ? HEADER_BYTES : 0, size));
      else if (this.#keep.has(buffer[0]!) && !this.#payloadOnly) this.push(buffer.subarray(0, size));
      buffer = buffer.subarray(size);
    }
    this.#pending = Buffer.from(buffer);
    callback();
  }
}
