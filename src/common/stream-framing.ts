/**
 * docker's multiplexed stream framing: an 8-byte header (stream type, three zero bytes, the
 * payload length big-endian) before each payload. Used for logs and non-tty attach in the API,
 * and for a foreground exec's output in the runtime layer.
 */

export const STREAM_STDIN = 0;
export const STREAM_STDOUT = 1;
export const STREAM_STDERR = 2;
export const STREAM_SYSTEM_ERROR = 3;

/** One frame: header and payload in a single buffer, so a write is never split. */
export function frame(stream: number, payload: Buffer): Buffer {
  const out = Buffer.allocUnsafe(8 + payload.length);
  out[0] = stream;
  out[1] = 0;
  out[2] = 0;
  out[3] = 0;
  out.writeUInt32BE(payload.length, 4);
  payload.copy(out, 8);
  return out;
}
