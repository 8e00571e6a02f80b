/**
 * The server side of SPDY/3.1 that a kubelet's streams need (what API servers still send
 * kubelets for `kubectl exec`, `attach` and `port-forward`): frames in and out, streams the
 * client opens (SYN_STREAM, answered with SYN_REPLY), data both ways with half-close (FIN),
 * RST_STREAM, PING, GOAWAY, and WINDOW_UPDATE for what was read. Berth never opens streams.
 * Header blocks: spdy-headers.ts. The frame layout is SPDY/3's draft, section 2.
 */
import { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import { HeaderBlockReader, HeaderBlockWriter, uint32, type SpdyHeaders } from './spdy-headers.js';

export const SPDY_VERSION = 3;
export const FLAG_FIN = 0x01;
const FLAG_UNIDIRECTIONAL = 0x02;

export const enum FrameType {
  SynStream = 1,
  SynReply = 2,
  RstStream = 3,
  Settings = 4,
  Ping = 6,
  GoAway = 7,
  Headers = 8,
  WindowUpdate = 9,
}

/** RST_STREAM status codes (SPDY/3 section 2.6.3) Berth sends. */
export const RST_PROTOCOL_ERROR = 1;
export const RST_INVALID_STREAM = 2;
export const RST_REFUSED_STREAM = 3;

/** A frame as read off the wire: a control frame's type, or a data frame's stream. */
export type Frame =
  | { control: true; type: number; flags: number; payload: Buffer }
  | { control: false; streamId: number; flags: number; payload: Buffer };

/** Bigger frames end the session: a kubelet's client sends small ones. */
const MAX_FRAME_BYTES = 16 * 1024 * 1024 - 1;

/** A control frame's bytes. */
export function controlFrame(type: number, flags: number, payload: Buffer): Buffer {
  const header = Buffer.alloc(8);
  header.writeUInt16BE(0x8000 | SPDY_VERSION, 0);
  header.writeUInt16BE(type, 2);
  header.writeUInt32BE(((flags & 0xff) << 24 | payload.length) >>> 0, 4);
  return Buffer.concat([header, payload]);
}

/** A data frame's bytes. */
export function dataFrame(streamId: number, flags: number, payload: Buffer): Buffer {
  const header = Buffer.alloc(8);
  header.writeUInt32BE(streamId & 0x7fffffff, 0);
  header.writeUInt32BE(((flags & 0xff) << 24 | payload.length) >>> 0, 4);
  return Buffer.concat([header, payload]);
}

/** Cuts frames out of the bytes as they arrive, across chunk boundaries. */
export class FrameReader {
  #pending: Buffer = Buffer.alloc(0);

  /** The whole frames in pending and chunk; throws on a frame too large to be a kubelet's. */
  push(chunk: Buffer): Frame[] {
    this.#pending = this.#pending.length === 0 ? chunk : Buffer.concat([this.#pending, chunk]);
    const frames: Frame[] = [];
    while (this.#pending.length >= 8) {
      const word = this.#pending.readUInt32BE(4);
      const length = word & 0xffffff;
      if (length > MAX_FRAME_BYTES) throw new Error(`a SPDY frame of ${length} bytes`);
      if (this.#pending.length < 8 + length) break;
      const flags = word >>> 24;
      const payload = this.#pending.subarray(8, 8 + length);
      const first = this.#pending.readUInt32BE(0);
      if (first & 0x80000000) {
        const version = (first >>> 16) & 0x7fff;
        if (version !== SPDY_VERSION) throw new Error(`SPDY version ${version}, not 3`);
        frames.push({ control: true, type: first & 0xffff, flags, payload });
      } else {
        frames.push({ control: false, streamId: first & 0x7fffffff, flags, payload });
      }
      this.#pending = this.#pending.subarray(8 + length);
    }
    return frames;
  }
}

/**
 * One stream the client opened: its headers, 'data' (Buffer) and 'end' (the client's FIN)
 * from the client, 'close' when it is over both ways or reset. write() and end() send.
 */
export class SpdyStream extends EventEmitter {
  readonly id: number;
  readonly headers: SpdyHeaders;
  readonly #session: SpdySession;
  #isLocalEnded = false;
  #isRemoteEnded = false;
  #isClosed = false;

  constructor(session: SpdySession, id: number, headers: SpdyHeaders, isRemoteEnded: boolean) {
    super();
    this.#session = session;
    this.id = id;
    this.headers = headers;
    this.#isRemoteEnded = isRemoteEnded;
  }

  /** The first value of a header (names are case-insensitive). */
  header(name: string): string | undefined {
    return this.headers.get(name.toLowerCase())?.[0];
  }

  get isRemoteEnded(): boolean {
    return this.#isRemoteEnded;
  }

  /** Send data to the client; nothing once this side ended. */
  write(payload: Buffer): void {
    if (this.#isLocalEnded || this.#isClosed) return;
    // A DATA frame carries at most 16 MiB - 1; kubelets' clients take any size below.
    for (let at = 0; at < payload.length; at += 64 * 1024) this.#session.send(dataFrame(this.id, 0, payload.subarray(at, at + 64 * 1024)));
  }

  /** Half-close: the client reads EOF. */
  end(): void {
    if (this.#isLocalEnded || this.#isClosed) return;
    this.#isLocalEnded = true;
    this.#session.send(dataFrame(this.id, FLAG_FIN, Buffer.alloc(0)));
    this.#settle();
  }

  /** Abort the stream with a RST_STREAM status. */
  reset(statusCode = RST_REFUSED_STREAM): void {
    if (this.#isClosed) return;
    this.#session.send(controlFrame(FrameType.RstStream, 0, Buffer.concat([uint32(this.id), uint32(statusCode)])));
    this.closeAbruptly();
  }

  /** @internal the session's: data from the client. */
  receive(payload: Buffer, isFin: boolean): void {
    if (this.#isClosed) return;
    if (payload.length > 0 && !this.#isRemoteEnded) this.emit('data', payload);
    if (isFin && !this.#isRemoteEnded) {
      this.#isRemoteEnded = true;
      this.emit('end');
      this.#settle();
    }
  }

  /** @internal the session's: the stream or the session is gone without a goodbye. */
  closeAbruptly(): void {
    if (this.#isClosed) return;
    this.#isLocalEnded = true;
    if (!this.#isRemoteEnded) {
      this.#isRemoteEnded = true;
      this.emit('end');
    }
    this.#isClosed = true;
    this.emit('close');
  }

  #settle(): void {
    if (this.#isLocalEnded && this.#isRemoteEnded && !this.#isClosed) {
      this.#isClosed = true;
      this.emit('close');
    }
  }
}

/**
 * A server's SPDY/3.1 session over an upgraded connection: 'stream' (SpdyStream) once the
 * SYN_REPLY is sent, 'close' once the connection is gone. Streams are odd-numbered and
 * increasing (the client's); anything else is refused or ends the session.
 */
export class SpdySession extends EventEmitter {
  readonly #socket: Duplex;
  readonly #reader = new FrameReader();
  readonly #headerReader = new HeaderBlockReader();
  readonly #headerWriter = new HeaderBlockWriter();
  readonly #streams = new Map<number, SpdyStream>();
  #lastStreamId = 0;
  #isClosed = false;

  constructor(socket: Duplex, head: Buffer = Buffer.alloc(0)) {
    super();
    this.#socket = socket;
    socket.on('data', (chunk: Buffer) => this.#read(chunk));
    socket.on('end', () => this.#finish());
    socket.on('close', () => this.#finish());
    socket.on('error', () => this.#finish());
    if (head.length > 0) queueMicrotask(() => this.#read(head));
  }

  /** @internal a stream's: bytes out, unless the connection is gone. */
  send(bytes: Buffer): void {
    if (this.#isClosed || this.#socket.destroyed || this.#socket.writableEnded) return;
    this.#socket.write(bytes);
  }

  /** Say goodbye (GOAWAY), end every stream's sending side and the connection. */
  close(): void {
    if (this.#isClosed) return;
    for (const stream of this.#streams.values()) stream.end();
    this.send(controlFrame(FrameType.GoAway, 0, Buffer.concat([uint32(this.#lastStreamId), uint32(0)])));
    this.#socket.end();
    this.#finish();
  }

  #finish(): void {
    if (this.#isClosed) return;
    this.#isClosed = true;
    for (const stream of this.#streams.values()) stream.closeAbruptly();
    this.#streams.clear();
    if (!this.#socket.destroyed && !this.#socket.writableEnded) this.#socket.end();
    this.emit('close');
  }

  #fail(): void {
    this.#socket.destroy();
    this.#finish();
  }

  #read(chunk: Buffer): void {
    if (this.#isClosed) return;
    try {
      for (const frame of this.#reader.push(chunk)) {
        if (this.#isClosed) return;
        if (frame.control) this.#control(frame.type, frame.flags, frame.payload);
        else this.#data(frame.streamId, frame.flags, frame.payload);
      }
    } catch {
      // A frame Berth cannot read leaves the session in an unknown state (the header zlib stream above all).
      this.#fail();
    }
  }

  #data(streamId: number, flags: number, payload: Buffer): void {
    const stream = this.#streams.get(streamId);
    if (!stream) {
      this.send(controlFrame(FrameType.RstStream, 0, Buffer.concat([uint32(streamId), uint32(RST_INVALID_STREAM)])));
      return;
    }
    if (payload.length > 0) {
      // Give the window back at once: the relay's pipes hold what is not yet consumed.
      this.send(controlFrame(FrameType.WindowUpdate, 0, Buffer.concat([uint32(streamId), uint32(payload.length)])));
      this.send(controlFrame(FrameType.WindowUpdate, 0, Buffer.concat([uint32(0), uint32(payload.length)])));
    }
    stream.receive(payload, (flags & FLAG_FIN) !== 0);
  }

  #control(type: number, flags: number, payload: Buffer): void {
    switch (type) {
      case FrameType.SynStream: {
        if (payload.length < 10) throw new Error('a short SYN_STREAM');
        const streamId = payload.readUInt32BE(0) & 0x7fffffff;
        // Decoded even for a stream refused below: the header zlib stream must stay in step.
        const headers = this.#headerReader.decode(payload.subarray(10));
        if (streamId % 2 === 0 || streamId <= this.#lastStreamId) {
          this.send(controlFrame(FrameType.RstStream, 0, Buffer.concat([uint32(streamId), uint32(RST_PROTOCOL_ERROR)])));
          return;
        }
        this.#lastStreamId = streamId;
        const isRemoteEnded = (flags & FLAG_FIN) !== 0;
        const stream = new SpdyStream(this, streamId, headers, isRemoteEnded);
        this.#streams.set(streamId, stream);
        stream.once('close', () => this.#streams.delete(streamId));
        const replyFlags = (flags & FLAG_UNIDIRECTIONAL) !== 0 ? FLAG_FIN : 0;
        this.send(controlFrame(FrameType.SynReply, replyFlags, Buffer.concat([uint32(streamId), this.#headerWriter.encode(new Map())])));
        if (replyFlags & FLAG_FIN) stream.end();
        this.emit('stream', stream);
        return;
      }
      case FrameType.SynReply:
        // Berth opens no streams, so nothing to answer: the client's SYN_REPLY is a protocol error.
        throw new Error('a SYN_REPLY to a server that opened no stream');
      case FrameType.RstStream: {
        if (payload.length < 8) throw new Error('a short RST_STREAM');
        this.#streams.get(payload.readUInt32BE(0) & 0x7fffffff)?.closeAbruptly();
        return;
      }
      case FrameType.Headers: {
        // More headers for a stream: decoded to keep the zlib stream in step; none matter here.
        if (payload.length < 4) throw new Error('a short HEADERS');
        this.#headerReader.decode(payload.subarray(4));
        const stream = this.#streams.get(payload.readUInt32BE(0) & 0x7fffffff);
        if (stream && flags & FLAG_FIN) stream.receive(Buffer.alloc(0), true);
        return;
      }
      case FrameType.Ping: {
        if (payload.length !== 4) throw new Error('a PING that is not 4 bytes');
        // The client's pings are odd; an even one would be an answer to a ping Berth never sent.
        if (payload.readUInt32BE(0) % 2 === 1) this.send(controlFrame(FrameType.Ping, 0, payload));
        return;
      }
      case FrameType.GoAway:
        this.close();
        return;
      default:
        // SETTINGS, WINDOW_UPDATE (Berth's writes follow the relay's pace, not the window) and unknown types are ignored, as the draft says.
        return;
    }
  }
}
