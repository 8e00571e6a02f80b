/**
 * `GET /containers/{id}/attach/ws`: attach over a websocket (RFC 6455). Node has no websocket
 * server, and this endpoint needs only the handshake and plain frames: client messages are the
 * container's stdin, its output goes out unframed by stream (as docker's), in binary messages
 * (API 1.42 and later) or text ones (earlier).
 */
import { createHash } from 'node:crypto';
import type { Duplex } from 'node:stream';
import { InvalidArgumentError, STREAM_STDERR, STREAM_STDOUT } from '../../common/index.js';
import type { AttachSession, Engine } from '../../engine/index.js';
import type { ApiRequest } from '../request.js';
import { compareApiVersions } from '../version.js';
import { FrameStreamFilter } from './frame-stream-filter.js';

const WEBSOCKET_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
const OPCODE_CONTINUATION = 0x0;
const OPCODE_TEXT = 0x1;
const OPCODE_BINARY = 0x2;
const OPCODE_CLOSE = 0x8;
const OPCODE_PING = 0x9;

/** One unmasked server frame (FIN set) carrying `payload` with `opcode`. */
export function encodeWebSocketFrame(opcode: number, payload: Buffer): Buffer {
  const length = payload.length;
  const header = length < 126 ? Buffer.alloc(2) : length < 65536 ? Buffer.alloc(4) : Buffer.alloc(10);
  header[0] = 0x80 | opcode;
  if (length < 126) header[1] = length;
  else if (length < 65536) {
    header[1] = 126;
    header.writeUInt16BE(length, 2);
  } else {
    header[1] = 127;
    header.writeBigUInt64BE(BigInt(length), 2);
  }
  return Buffer.concat([header, payload]);
}

/**
 * Parses client frames from the front of `buffer`: each whole frame (unmasked here) is handed
 * to `onFrame`; returns the bytes not yet making a whole frame.
 */
export function decodeWebSocketFrames(buffer: Buffer, onFrame: (opcode: number, payload: Buffer) => void): Buffer {
  for (;;) {
    if (buffer.length < 2) return buffer;
    const opcode = buffer[0]! & 0x0f;
    const masked = (buffer[1]! & 0x80) !== 0;
    let length = buffer[1]! & 0x7f;
    let offset = 2;
    if (length === 126) {
      if (buffer.length < 4) return buffer;
      length = buffer.readUInt16BE(2);
      offset = 4;
    } else if (length === 127) {
      if (buffer.length < 10) return buffer;
      length = Number(buffer.readBigUInt64BE(2));
      offset = 10;
    }
    const maskOffset = offset;
    if (masked) offset += 4;
    if (buffer.length < offset + length) return buffer;
    const payload = Buffer.from(buffer.subarray(offset, offset + length));
    if (masked) for (let i = 0; i < payload.length; i++) payload[i]! ^= buffer[maskOffset + (i % 4)]!;
    onFrame(opcode, payload);
    buffer = buffer.subarray(offset + length);
  }
}

/** Serve one websocket attach on the hijacked connection of `req`. */
export async function attachWebSocket(engine: Engine, req: ApiRequest): Promise<undefined> {
  const containers = engine.containers;
  const record = containers.get(req.param('id'));
  const key = req.raw.headers['sec-websocket-key'];
  if (!req.hijack || typeof key !== 'string' || String(req.raw.headers.upgrade).toLowerCase() !== 'websocket') {
    throw new InvalidArgumentError('attach/ws needs a websocket upgrade');
  }
  const socket: Duplex = req.hijack.socket;
  const accept = createHash('sha1').update(key + WEBSOCKET_GUID).digest('base64');
  socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
  const messageOpcode = compareApiVersions(req.version, '1.42') >= 0 ? OPCODE_BINARY : OPCODE_TEXT;
  const tty = record.settings.tty;
  const wantsStdin = req.bool('stdin');
  const keep = [...(req.bool('stdout') ? [STREAM_STDOUT] : []), ...(req.bool('stderr') ? [STREAM_STDERR] : [])];
  let session: AttachSession | undefined;
  try {
    const request = { stdin: wantsStdin, client: socket };
    const running = record.state.status === 'running' || record.state.status === 'paused';
    if (running) session = (await containers.attach(record.id, request)).session;
    else if (req.bool('stream')) session = await containers.attachAtStart(record.id, request, req.signal);
  } catch {
    session = undefined;
  }
  if (!session) {
    socket.end(encodeWebSocketFrame(OPCODE_CLOSE, Buffer.alloc(0)));
    return undefined;
  }
  const active = session;
  await new Promise<void>((resolve) => {
    let pending = req.hijack?.head ?? Buffer.alloc(0);
    const onFrame = (opcode: number, payload: Buffer): void => {
      if (opcode === OPCODE_CLOSE) {
        // The client's stdin ends here, after every byte before it; the output goes on until the
        // container's ends or the client closes the connection.
        active.input?.end();
      } else if (opcode === OPCODE_PING) {
        if (!socket.destroyed) socket.write(encodeWebSocketFrame(0xa, payload));
      } else if ((opcode === OPCODE_TEXT || opcode === OPCODE_BINARY || opcode === OPCODE_CONTINUATION) && wantsStdin && active.input) {
        // A container slower than the client holds the client back instead of berthd buffering.
        if (!active.input.write(payload)) {
          socket.pause();
          active.input.once('drain', () => socket.resume());
        }
      }
    };
    pending = decodeWebSocketFrames(pending, onFrame);
    socket.on('data', (chunk: Buffer) => {
      pending = decodeWebSocketFrames(Buffer.concat([pending, chunk]), onFrame);
    });
    // The HTTP server paused the upgraded socket; a 'data' listener alone does not restart it.
    socket.resume();
    const output: NodeJS.ReadableStream = tty ? active.output : active.output.pipe(new FrameStreamFilter(keep, { payloadOnly: true }));
    output.on('data', (chunk: Buffer) => {
      if (socket.destroyed || (tty && !keep.includes(STREAM_STDOUT))) return;
      // A slow client pauses the container's output instead of making berthd buffer it.
      if (!socket.write(encodeWebSocketFrame(messageOpcode, chunk))) {
        output.pause();
        socket.once('drain', () => output.resume());
      }
    });
    output.on('end', resolve);
    active.output.on('error', () => resolve());
    req.signal.addEventListener('abort', () => resolve(), { once: true });
  });
  active.close();
  if (!socket.destroyed) socket.end(encodeWebSocketFrame(OPCODE_CLOSE, Buffer.alloc(0)));
  return undefined;
}
