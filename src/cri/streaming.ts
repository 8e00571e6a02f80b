/**
 * The CRI streaming server for Exec: an HTTP server on 127.0.0.1 whose single-use URLs the Exec
 * RPC hands out. It speaks the Kubernetes websocket channel protocols v5.channel.k8s.io and
 * v4.channel.k8s.io (each binary message's first byte is its channel: 0 stdin, 1 stdout,
 * 2 stderr, 3 the final status, 4 resize; v5's 255 closes a channel), not SPDY.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { messageOf, type Logger } from '../common/index.js';
import type { Engine } from '../engine/index.js';
import { acceptWebSocket, type WebSocketConnection } from './websocket.js';

export const STREAM_PROTOCOLS = ['v5.channel.k8s.io', 'v4.channel.k8s.io'] as const;
/** How long an Exec URL may wait for its connection. */
const URL_LIFETIME_MS = 60_000;

export interface ExecStreamRequest {
  containerId: string;
  cmd: string[];
  tty: boolean;
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
}

/** The status message (channel 3) for an exit code, as the kubelet's streaming server words it. */
export function exitStatus(exitCode: number): object {
  if (exitCode === 0) return { metadata: {}, status: 'Success' };
  return {
    metadata: {},
    status: 'Failure',
    message: `command terminated with non-zero exit code: exit status ${exitCode}`,
    reason: 'NonZeroExitCode',
    details: { causes: [{ reason: 'ExitCode', message: String(exitCode) }] },
  };
}

/** Splits docker's multiplexed frames as they arrive, across chunk boundaries. */
export class FrameSplitter {
  #pending = Buffer.alloc(0);

  push(chunk: Buffer, emit: (stream: number, payload: Buffer) => void): void {
    this.#pending = Buffer.concat([this.#pending, chunk]);
    while (this.#pending.length >= 8) {
      const size = this.#pending.readUInt32BE(4);
      if (this.#pending.length < 8 + size) return;
      emit(this.#pending[0]!, this.#pending.subarray(8, 8 + size));
      this.#pending = this.#pending.subarray(8 + size);
    }
  }
}

export class StreamingServer {
  readonly #engine: Engine;
  readonly #logger: Logger;
  readonly #server: Server;
  readonly #pending = new Map<string, { request: ExecStreamRequest; timer: NodeJS.Timeout }>();
  readonly #connections = new Set<WebSocketConnection>();
  #port = 0;

  constructor(engine: Engine, logger: Logger) {
    this.#engine = engine;
    this.#logger = logger;
    this.#server = createServer((_req, res) => {
      res.writeHead(400, { 'Content-Type': 'text/plain' });
      res.end('a websocket upgrade (v5.channel.k8s.io or v4.channel.k8s.io) is required\n');
    });
    this.#server.on('upgrade', (req, socket) => {
      const token = /^\/exec\/([0-9a-f]{32})$/.exec(req.url ?? '')?.[1];
      const entry = token !== undefined ? this.#pending.get(token) : undefined;
      if (!entry || token === undefined) {
        socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
        return;
      }
      const ws = acceptWebSocket(req, socket, STREAM_PROTOCOLS);
      if (!ws) return;
      this.#pending.delete(token);
      clearTimeout(entry.timer);
      this.#connections.add(ws);
      ws.on('close', () => this.#connections.delete(ws));
      void this.#exec(ws, entry.request);
    });
  }

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    this.#port = (this.#server.address() as AddressInfo).port;
  }

  /** A single-use URL for an exec session. */
  execUrl(request: ExecStreamRequest): string {
    const token = randomBytes(16).toString('hex');
    const timer = setTimeout(() => this.#pending.delete(token), URL_LIFETIME_MS);
    timer.unref();
    this.#pending.set(token, { request, timer });
    return `http://127.0.0.1:${this.#port}/exec/${token}`;
  }

  async #exec(ws: WebSocketConnection, request: ExecStreamRequest): Promise<void> {
    const send = (channel: number, payload: Buffer): void => ws.send(Buffer.concat([Buffer.from([channel]), payload]));
    // Messages can come before the process runs: they wait for it.
    const early: Buffer[] = [];
    let onMessage: (message: Buffer) => void = (message) => early.push(message);
    let onClose: () => void = () => {};
    ws.on('message', (message: Buffer) => onMessage(message));
    ws.on('close', () => onClose());
    try {
      const { execs } = this.#engine;
      const id = execs.create(request.containerId, {
        cmd: request.cmd, env: [], workingDir: '', user: '', tty: request.tty,
        attachStdin: request.stdin, attachStdout: request.stdout, attachStderr: request.stderr,
        privileged: false, detachKeys: '', consoleSize: undefined,
      });
      const handle = await execs.start(id, {});
      const input = handle.input;
      let inputEnded = false;
      const endInput = (): void => {
        if (input && !inputEnded) {
          inputEnded = true;
          input.end();
        }
      };
      onMessage = (message) => {
        const channel = message[0];
        const payload = message.subarray(1);
        if (channel === 0 && input && !inputEnded) input.write(payload);
        else if (channel === 4) {
          try {
            const size = JSON.parse(payload.toString('utf8')) as { Width?: number; Height?: number };
            if (size.Width && size.Height) void handle.resize(size.Height, size.Width).catch(() => {});
          } catch {
            // A malformed resize changes nothing.
          }
        } else if (channel === 255 && payload[0] === 0) endInput();
      };
      // The client went away: its process is not left waiting on stdin.
      onClose = endInput;
      for (const message of early.splice(0)) onMessage(message);
      const splitter = new FrameSplitter();
      handle.output.on('data', (chunk: Buffer) => {
        if (request.tty) send(1, chunk);
        else splitter.push(chunk, (stream, payload) => send(stream === 2 ? 2 : 1, payload));
      });
      const outputEnded = new Promise<void>((resolve) => {
        handle.output.once('end', resolve);
        handle.output.once('close', resolve);
        handle.output.once('error', () => resolve());
      });
      const [exitCode] = await Promise.all([handle.exited, outputEnded]);
      send(3, Buffer.from(JSON.stringify(exitStatus(exitCode))));
    } catch (err) {
      this.#logger.debug('CRI exec stream failed', { error: messageOf(err) });
      send(3, Buffer.from(JSON.stringify({ metadata: {}, status: 'Failure', message: messageOf(err), reason: 'InternalError' })));
    }
    ws.close();
  }

  async close(): Promise<void> {
    for (const ws of this.#connections) ws.close();
    for (const { timer } of this.#pending.values()) clearTimeout(timer);
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}
