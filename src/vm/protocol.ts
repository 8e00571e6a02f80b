/**
 * The host side of the guest agent's wire format (guest/agent/PROTOCOL.md): frame types,
 * an encoder, an incremental decoder and the process-spec payload. The numbers mirror
 * guest/agent/protocol.h, which the agent and the shim share; protocol.test.ts checks both agree.
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
  window: 16,
  hello: 17,
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
/** Per session and direction, the stdio bytes a sender may have in flight before a WINDOW. */
export const STREAM_WINDOW_BYTES = 262144;

/** A control payload (a process spec) that does not fit one frame: refused, never split. */
export class FrameTooLargeError extends RangeError {
  constructor(what: string, sizeBytes: number) {
    super(`${what} is ${sizeBytes} bytes, over the VM channel's limit of ${MAX_FRAME_PAYLOAD_BYTES} bytes for one message`);
  }
}

/** Encode one frame; a payload above the limit is a FrameTooLargeError (data: see encodeData). */
export function encodeFrame(type: number, sessionId: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  if (payload.length > MAX_FRAME_PAYLOAD_BYTES) throw new FrameTooLargeError(`a frame's payload`, payload.length);
  const header = Buffer.alloc(FRAME_HEADER_BYTES);
  header.writeUInt8(type, 0);
  header.writeUInt32BE(sessionId, 4);
  header.writeUInt32BE(payload.length, 8);
  return Buffer.concat([header, payload]);
}

/** Encode a data stream chunk (STDIN, STDOUT, STDERR) of any size as as many frames as it needs. */
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

  /**
   * Bytes of a frame not yet complete. Non-zero when the peer closes the channel means it
   * closed mid-frame: the partial frame is lost, and the caller must say so.
   */
  get pendingBytes(): number {
    return this.#pending.length;
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

/**
 * Encode a process spec as NUL-terminated `key=value` fields. Any number of arguments and
 * environment entries, as long as the whole fits one frame: a larger one is a
 * FrameTooLargeError naming its size (START and EXEC are never split).
 */
export function encodeProcessSpec(spec: GuestProcessSpec, what = 'the process spec (arguments, environment)'): Buffer {
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
  const payload = Buffer.from(fields.map((f) => `${f}\0`).join(''), 'utf8');
  if (payload.length > MAX_FRAME_PAYLOAD_BYTES) {
    throw new FrameTooLargeError(what, payload.length);
  }
  return payload;
}
