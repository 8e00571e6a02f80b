/**
 * The host side of the guest agent's wire format (guest/agent/PROTOCOL.md): frame types,
 * an encoder, an incremental decoder and the process-spec payload.
 */

/** Frame types; the numbers are the wire's. */
export const FrameType = {
  ready: 1,
  start: 2,
  stdin: 3,
  stdout: 4,
  stderr: 5,
  stdinClose: 6,
  signal: 7,
  resize: 8,
  exit: 9,
  error: 10,
  exec: 11,
  powerOff: 12,
  started: 13,
  ps: 14,
  psList: 15,
} as const;

/** One decoded frame. */
export interface Frame {
  type: number;
  sessionId: number;
  payload: Buffer;
}

/** Bytes before the payload: type, three reserved zero bytes, session id, length. */
export const FRAME_HEADER_BYTES = 12;
/** The largest payload either side sends or accepts. */
export const MAX_FRAME_PAYLOAD_BYTES = 65536;

/** Encode one frame; payloads above the limit must be split by the caller (see encodeData). */
export function encodeFrame(type: number, sessionId: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  if (payload.length > MAX_FRAME_PAYLOAD_BYTES) throw new RangeError(`frame payload of ${payload.length} bytes exceeds ${MAX_FRAME_PAYLOAD_BYTES}`);
  const header = Buffer.alloc(FRAME_HEADER_BYTES);
  header.writeUInt8(type, 0);
  header.writeUInt32BE(sessionId, 4);
  header.writeUInt32BE(payload.length, 8);
  return Buffer.concat([header, payload]);
}

/** Encode a data stream chunk of any size as as many frames as it needs. */
export function encodeData(type: number, sessionId: number, data: Buffer): Buffer {
  const frames: Buffer[] = [];
  for (let at = 0; at < data.length; at += MAX_FRAME_PAYLOAD_BYTES) {
    frames.push(encodeFrame(type, sessionId, data.subarray(at, at + MAX_FRAME_PAYLOAD_BYTES)));
  }
  return Buffer.concat(frames);
}

/** A 4-byte big-endian unsigned payload (SIGNAL, EXIT). */
export function u32Payload(value: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(value >>> 0, 0);
  return b;
}

/** A RESIZE payload: rows then columns, 2 bytes each, big-endian. */
export function resizePayload(rows: number, columns: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt16BE(Math.max(0, Math.min(0xffff, Math.floor(rows))), 0);
  b.writeUInt16BE(Math.max(0, Math.min(0xffff, Math.floor(columns))), 2);
  return b;
}

/** Thrown by FrameDecoder when the peer breaks the format; the channel must be closed. */
export class FrameFormatError extends Error {}

/**
 * Splits a byte stream into frames. push() may be given any slicing of the stream and returns
 * every frame completed so far, in order.
 */
export class FrameDecoder {
  #pending: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): Frame[] {
    this.#pending = this.#pending.length === 0 ? chunk : Buffer.concat([this.#pending, chunk]);
    const frames: Frame[] = [];
    let at = 0;
    while (this.#pending.length - at >= FRAME_HEADER_BYTES) {
      const length = this.#pending.readUInt32BE(at + 8);
      if (length > MAX_FRAME_PAYLOAD_BYTES) throw new FrameFormatError(`frame payload of ${length} bytes exceeds ${MAX_FRAME_PAYLOAD_BYTES}`);
      if (this.#pending.length - at < FRAME_HEADER_BYTES + length) break;
      frames.push({
        type: this.#pending.readUInt8(at),
        sessionId: this.#pending.readUInt32BE(at + 4),
        payload: Buffer.from(this.#pending.subarray(at + FRAME_HEADER_BYTES, at + FRAME_HEADER_BYTES + length)),
      });
      at += FRAME_HEADER_BYTES + length;
    }
    this.#pending = this.#pending.subarray(at);
    return frames;
  }
}

/** What the agent runs for START and EXEC. */
export interface GuestProcessSpec {
  args: string[];
  env: string[];
  cwd: string;
  uid: number;
  gid: number;
  additionalGids: number[];
  isTty: boolean;
  /** START only. */
  hostname?: string;
  /**
   * Whole `key=value` fields the host prepared, sent in this order (PROTOCOL.md): START's
   * `mount`, `tmpfs`, `iface`, `addr`, `route`, `masked`, `rdonly`, `readonly`, and for START
   * and EXEC alike `caps` and `nnp`.
   */
  startFields?: string[];
}

/** Encode a process spec as NUL-terminated `key=value` fields. */
export function encodeProcessSpec(spec: GuestProcessSpec): Buffer {
  if (spec.args.length === 0) throw new RangeError('a process spec needs at least one argument');
  const fields: string[] = [
    ...spec.args.map((a) => `arg=${a}`),
    ...spec.env.map((e) => `env=${e}`),
    `cwd=${spec.cwd || '/'}`,
    `uid=${spec.uid}`,
    `gid=${spec.gid}`,
  ];
  if (spec.additionalGids.length > 0) fields.push(`groups=${spec.additionalGids.join(',')}`);
  if (spec.hostname) fields.push(`host=${spec.hostname}`);
  if (spec.isTty) fields.push('tty=1');
  fields.push(...(spec.startFields ?? []));
  for (const field of fields) {
    if (field.includes('\0')) throw new RangeError('process spec fields cannot contain NUL bytes');
  }
  return Buffer.from(fields.map((f) => `${f}\0`).join(''), 'utf8');
}
