/**
 * Docker's multiplexed stdout/stderr framing (attach and logs without a tty): each frame is
 * an 8-byte header `{type, 0, 0, 0, size(uint32 big-endian)}` then `size` payload bytes.
 */
import type { Readable, Writable } from 'node:stream';

/** Stream types in the first header byte. 3 carries an error from the daemon. */
export const STREAM_STDIN = 0;
export const STREAM_STDOUT = 1;
export const STREAM_STDERR = 2;
export const STREAM_SYSTEM_ERROR = 3;

/** One decoded frame. */
export interface Frame {
  stream: number;
  payload: Buffer;
}

/** Encode one frame; used by tests and by anything that must speak the format. */
export function encodeFrame(stream: number, payload: Buffer | string): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload) : payload;
  const header = Buffer.alloc(8);
  header[0] = stream;
  header.writeUInt32BE(body.length, 4);
  return Buffer.concat([header, body]);
}

/**
 * Incremental decoder: feed arbitrary chunks, get whole frames back. Frames split across
 * chunks are held until complete; `pending` tells whether a partial frame is left.
 */
export class FrameDecoder {
  private buffered: Buffer = Buffer.alloc(0);

  /** Add a chunk and return every frame it completes, in order. */
  push(chunk: Buffer): Frame[] {
    this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
    const frames: Frame[] = [];
    while (this.buffered.length >= 8) {
      const size = this.buffered.readUInt32BE(4);
      if (this.buffered.length < 8 + size) break;
      frames.push({ stream: this.buffered[0]!, payload: this.buffered.subarray(8, 8 + size) });
      this.buffered = this.buffered.subarray(8 + size);
    }
    return frames;
  }

  /** Bytes of an incomplete frame still held. */
  get pending(): number {
    return this.buffered.length;
  }
}

/** Where demultiplexed output goes. */
export interface DemuxSinks {
  stdout: Writable;
  stderr: Writable;
}

/** An error the daemon sent in-band as a type-3 frame. */
export class StreamSystemError extends Error {}

/**
 * Copy a multiplexed stream to stdout/stderr until it ends, honouring backpressure.
 * Stdin frames go to stdout as docker's StdCopy does. Rejects with StreamSystemError when
 * the daemon sends a type-3 frame, and with the source's own error if it fails.
 */
export async function demuxStream(source: Readable, sinks: DemuxSinks): Promise<void> {
  const decoder = new FrameDecoder();
  for await (const chunk of source) {
    for (const frame of decoder.push(chunk as Buffer)) {
      if (frame.stream === STREAM_SYSTEM_ERROR) throw new StreamSystemError(frame.payload.toString('utf8').trim());
      const sink = frame.stream === STREAM_STDERR ? sinks.stderr : sinks.stdout;
      if (!sink.write(frame.payload)) await new Promise<void>((resolve) => sink.once('drain', resolve));
    }
  }
}
