/**
 * The server side of RFC 6455 that the CRI streaming server needs: the opening handshake with
 * a subprotocol, binary messages in and out (fragmented or not, masked from the client as the
 * RFC requires), ping, and close. Small enough to keep here instead of a dependency.
 */
import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';

const HANDSHAKE_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
/** A message larger than this from a client ends the connection (stdin arrives in small pieces). */
const MAX_MESSAGE_BYTES = 16 * 1024 * 1024;

/** Answer the upgrade with one of `protocols` (the client's first that is offered); undefined when the request is not one. */
export function acceptWebSocket(request: IncomingMessage, socket: Duplex, protocols: readonly string[]): WebSocketConnection | undefined {
  const key = request.headers['sec-websocket-key'];
  const offered = String(request.headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim());
  const protocol = offered.find((p) => protocols.includes(p));
  if (String(request.headers['upgrade'] ?? '').toLowerCase() !== 'websocket' || typeof key !== 'string' || protocol === undefined) {
    socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    return undefined;
  }
  const accept = createHash('sha1').update(key + HANDSHAKE_GUID).digest('base64');
  socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\nSec-WebSocket-Protocol: ${protocol}\r\n\r\n`);
  return new WebSocketConnection(socket, protocol);
}

/** An accepted connection: 'message' (Buffer) and 'close' events; send() and close(). */
export class WebSocketConnection extends EventEmitter {
  readonly protocol: string;
  readonly #socket: Duplex;
  #pending = Buffer.alloc(0);
  #fragments: Buffer[] = [];
  #closed = false;

  constructor(socket: Duplex, protocol: string) {
    super();
    this.protocol = protocol;
    this.#socket = socket;
    socket.on('data', (chunk: Buffer) => this.#read(chunk));
    socket.on('close', () => this.#finish());
    socket.on('error', () => this.#finish());
  }

  #finish(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.emit('close');
  }

  #read(chunk: Buffer): void {
    this.#pending = Buffer.concat([this.#pending, chunk]);
    for (;;) {
      const data = this.#pending;
      if (data.length < 2) return;
      const fin = (data[0]! & 0x80) !== 0;
      const opcode = data[0]! & 0x0f;
      const masked = (data[1]! & 0x80) !== 0;
      let length = data[1]! & 0x7f;
      let at = 2;
      if (length === 126) {
        if (data.length < 4) return;
        length = data.readUInt16BE(2);
        at = 4;
      } else if (length === 127) {
        if (data.length < 10) return;
        const big = data.readBigUInt64BE(2);
        if (big > BigInt(MAX_MESSAGE_BYTES)) return this.#fail();
        length = Number(big);
        at = 10;
      }
      if (!masked || length > MAX_MESSAGE_BYTES) return this.#fail();
      if (data.length < at + 4 + length) return;
      const mask = data.subarray(at, at + 4);
      const payload = Buffer.from(data.subarray(at + 4, at + 4 + length));
      for (let i = 0; i < payload.length; i++) payload[i]! ^= mask[i % 4]!;
      this.#pending = data.subarray(at + 4 + length);
      if (opcode === 0x8) {
        this.close();
        return;
      }
      if (opcode === 0x9) {
        this.#frame(0xa, payload);
        continue;
      }
      if (opcode === 0xa) continue;
      this.#fragments.push(payload);
      if (!fin) continue;
      const message = Buffer.concat(this.#fragments);
      this.#fragments = [];
      this.emit('message', message);
    }
  }

  #fail(): void {
    this.#socket.destroy();
    this.#finish();
  }

  #frame(opcode: number, payload: Buffer): void {
    if (this.#closed || this.#socket.destroyed) return;
    let header: Buffer;
    if (payload.length < 126) {
      header = Buffer.from([0x80 | opcode, payload.length]);
    } else if (payload.length < 65536) {
      header = Buffer.alloc(4);
      header[0] = 0x80 | opcode;
      header[1] = 126;
      header.writeUInt16BE(payload.length, 2);
    } else {
      header = Buffer.alloc(10);
      header[0] = 0x80 | opcode;
      header[1] = 127;
      header.writeBigUInt64BE(BigInt(payload.length), 2);
    }
    this.#socket.write(Buffer.concat([header, payload]));
  }

  /** Send one binary message. */
  send(payload: Buffer): void {
    this.#frame(0x2, payload);
  }

  /** Send a normal close and end the connection. */
  close(): void {
    if (this.#closed) return;
    this.#frame(0x8, Buffer.from([0x03, 0xe8]));
    this.#socket.end();
    this.#finish();
  }
}
