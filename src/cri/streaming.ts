/**
 * The CRI streaming server for Exec, Attach and PortForward: an HTTP server on 127.0.0.1 whose
 * single-use URLs those RPCs hand out. Exec and Attach speak the Kubernetes websocket channel
 * protocols v5.channel.k8s.io and v4.channel.k8s.io (each binary message's first byte is its
 * channel: 0 stdin, 1 stdout, 2 stderr, 3 the final status, 4 resize; v5's 255 closes a
 * channel); PortForward speaks v4.channel.k8s.io with two channels per port (data 2i, error
 * 2i+1), each opened by the port as two little-endian bytes, as the kubelet's server does.
 * The same URLs serve SPDY/3.1 (what API servers send kubelets): see spdy-streams.ts.
 */
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Readable, Writable } from 'node:stream';
import { messageOf, type Logger } from '../common/index.js';
import type { AttachSession, Engine, ExecProcess } from '../engine/index.js';
import { acceptPortForwardPairs, acceptSpdy, isSpdyUpgrade, SpdyChannelConnection, SPDY_PORT_FORWARD_PROTOCOLS, SPDY_STREAM_PROTOCOLS, waitForStreams, type PortForwardPair } from './spdy-streams.js';
import type { SpdySession } from './spdy.js';
import { acceptWebSocket, type WebSocketConnection } from './websocket.js';

export const STREAM_PROTOCOLS = ['v5.channel.k8s.io', 'v4.channel.k8s.io'] as const;
export const PORT_FORWARD_PROTOCOLS = ['v4.channel.k8s.io'] as const;
/** How long a streaming URL may wait for its connection. */
const URL_LIFETIME_MS = 60_000;

export interface ExecStreamRequest {
  containerId: string;
  cmd: string[];
  tty: boolean;
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
}

/** An Attach: the container's own stdio (stdin only when the container keeps it open). */
export type AttachStreamRequest = Omit<ExecStreamRequest, 'cmd'>;

/**
 * A PortForward: connections to these ports on the localhost of the namespace at netnsPath.
 * Empty (what a kubelet asks when kubectl forwards over SPDY): any port a SPDY client names;
 * a websocket needs the ports.
 */
export interface PortForwardStreamRequest {
  podId: string;
  netnsPath: string;
  ports: number[];
}

type StreamRequest =
  | { kind: 'exec'; request: ExecStreamRequest }
  | { kind: 'attach'; request: AttachStreamRequest }
  | { kind: 'portforward'; request: PortForwardStreamRequest };

/** A connection that speaks the channel protocol's messages (a websocket, or SPDY streams seen as one). */
interface ChannelConnection {
  on(event: 'message', listener: (message: Buffer) => void): unknown;
  on(event: 'close', listener: () => void): unknown;
  send(message: Buffer): void;
  close(): void;
}

/** A running exec's or attach's streams, as the channel protocol relays them. */
interface Streams {
  input: NodeJS.WritableStream | null;
  output: NodeJS.ReadableStream;
  resize(height: number, width: number): Promise<void>;
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
  readonly #portRelayPath: string;
  readonly #server: Server;
  readonly #pending = new Map<string, { stream: StreamRequest; timer: NodeJS.Timeout }>();
  readonly #connections = new Set<WebSocketConnection | SpdySession>();
  #port = 0;

  constructor(engine: Engine, logger: Logger, portRelayPath: string) {
    this.#engine = engine;
    this.#logger = logger;
    this.#portRelayPath = portRelayPath;
    this.#server = createServer((_req, res) => {
      res.writeHead(400, { 'Content-Type': 'text/plain' });
      res.end('a websocket upgrade (v5.channel.k8s.io or v4.channel.k8s.io) is required\n');
    });
    this.#server.on('upgrade', (req, socket, head: Buffer) => {
      const match = /^\/(exec|attach|portforward)\/([0-9a-f]{32})$/.exec(req.url ?? '');
      const entry = match ? this.#pending.get(match[2]!) : undefined;
      if (!match || !entry || entry.stream.kind !== match[1]) {
        socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
        return;
      }
      if (isSpdyUpgrade(req)) {
        const accepted = acceptSpdy(req, socket, head, entry.stream.kind === 'portforward' ? SPDY_PORT_FORWARD_PROTOCOLS : SPDY_STREAM_PROTOCOLS);
        if (!accepted) return;
        this.#pending.delete(match[2]!);
        clearTimeout(entry.timer);
        const { session } = accepted;
        this.#connections.add(session);
        session.on('close', () => this.#connections.delete(session));
        const { stream } = entry;
        if (stream.kind === 'portforward') this.#portForwardSpdy(session, stream.request);
        else void this.#spdyChannels(session, stream.request).then((channels) => {
          if (!channels) return;
          if (stream.kind === 'exec') void this.#exec(channels, stream.request);
          else void this.#attach(channels, stream.request);
        });
        return;
      }
      if (entry.stream.kind === 'portforward' && entry.stream.request.ports.length === 0) {
        const body = 'a websocket port-forward needs the ports named in the PortForward request\n';
        socket.end(`HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
        return;
      }
      const ws = acceptWebSocket(req, socket, entry.stream.kind === 'portforward' ? PORT_FORWARD_PROTOCOLS : STREAM_PROTOCOLS);
      if (!ws) return;
      this.#pending.delete(match[2]!);
      clearTimeout(entry.timer);
      this.#connections.add(ws);
      ws.on('close', () => this.#connections.delete(ws));
      const { stream } = entry;
      if (stream.kind === 'exec') void this.#exec(ws, stream.request);
      else if (stream.kind === 'attach') void this.#attach(ws, stream.request);
      else this.#portForward(ws, stream.request);
    });
  }

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    this.#port = (this.#server.address() as AddressInfo).port;
  }

  /** A single-use URL for an exec session. */
  execUrl(request: ExecStreamRequest): string {
    return this.#url({ kind: 'exec', request });
  }

  /** A single-use URL for an attach to a container's stdio. */
  attachUrl(request: AttachStreamRequest): string {
    return this.#url({ kind: 'attach', request });
  }

  /** A single-use URL for forwarding a pod's ports. */
  portForwardUrl(request: PortForwardStreamRequest): string {
    return this.#url({ kind: 'portforward', request });
  }

  #url(stream: StreamRequest): string {
    const token = randomBytes(16).toString('hex');
    const timer = setTimeout(() => this.#pending.delete(token), URL_LIFETIME_MS);
    timer.unref();
    this.#pending.set(token, { stream, timer });
    return `http://127.0.0.1:${this.#port}/${stream.kind}/${token}`;
  }

  /** The SPDY streams an exec or attach needs, once the client opened them; undefined (and the session closed) if it did not. */
  async #spdyChannels(session: SpdySession, request: AttachStreamRequest): Promise<SpdyChannelConnection | undefined> {
    try {
      return new SpdyChannelConnection(session, await waitForStreams(session, request));
    } catch (err) {
      this.#logger.debug('CRI SPDY stream not set up', { error: messageOf(err) });
      session.close();
      return undefined;
    }
  }

  async #exec(ws: ChannelConnection, request: ExecStreamRequest): Promise<void> {
    await this.#relay(ws, request.tty, async () => {
      const { execs } = this.#engine;
      const id = execs.create(request.containerId, {
        cmd: request.cmd, env: [], workingDir: '', user: '', tty: request.tty,
        attachStdin: request.stdin, attachStdout: request.stdout, attachStderr: request.stderr,
        privileged: false, detachKeys: '', consoleSize: undefined,
      });
      const handle: ExecProcess = await execs.start(id, {});
      return { streams: { input: handle.input, output: handle.output, resize: (h, w) => handle.resize(h, w) }, exited: handle.exited, close: () => {} };
    });
  }

  /** The container's stdio until its output ends (it exited) or the client goes; the status is Success, as the kubelet's. */
  async #attach(ws: ChannelConnection, request: AttachStreamRequest): Promise<void> {
    await this.#relay(ws, request.tty, async () => {
      const { containers } = this.#engine;
      const { session }: { session: AttachSession } = await containers.attach(request.containerId, { stdin: request.stdin });
      return { streams: { input: session.input, output: session.output, resize: (h, w) => containers.resize(request.containerId, h, w) }, exited: Promise.resolve(0), close: () => session.close() };
    });
  }

  /**
   * Relay one exec or attach over the channel protocol: messages can come before the streams
   * exist (they wait for them), and the final status goes on channel 3 once the output ends.
   */
  async #relay(ws: ChannelConnection, tty: boolean, open: () => Promise<{ streams: Streams; exited: Promise<number>; close: () => void }>): Promise<void> {
    const send = (channel: number, payload: Buffer): void => ws.send(Buffer.concat([Buffer.from([channel]), payload]));
    const early: Buffer[] = [];
    let onMessage: (message: Buffer) => void = (message) => early.push(message);
    let onClose: () => void = () => {};
    let isClosed = false;
    ws.on('message', (message: Buffer) => onMessage(message));
    ws.on('close', () => {
      isClosed = true;
      onClose();
    });
    try {
      const { streams, exited, close } = await open();
      const input = streams.input;
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
            if (size.Width && size.Height) void streams.resize(size.Height, size.Width).catch(() => {});
          } catch {
            // A malformed resize changes nothing.
          }
        } else if (channel === 255 && payload[0] === 0) endInput();
      };
      // The client went away: the process is not left waiting on stdin, an attach lets go.
      onClose = () => {
        endInput();
        close();
      };
      if (isClosed) onClose();
      for (const message of early.splice(0)) onMessage(message);
      const splitter = new FrameSplitter();
      streams.output.on('data', (chunk: Buffer) => {
        if (tty) send(1, chunk);
        else splitter.push(chunk, (stream, payload) => send(stream === 2 ? 2 : 1, payload));
      });
      const outputEnded = new Promise<void>((resolve) => {
        streams.output.once('end', resolve);
        streams.output.once('close', resolve);
        streams.output.once('error', () => resolve());
      });
      const [exitCode] = await Promise.all([exited, outputEnded]);
      send(3, Buffer.from(JSON.stringify(exitStatus(exitCode))));
      close();
    } catch (err) {
      this.#logger.debug('CRI stream failed', { error: messageOf(err) });
      send(3, Buffer.from(JSON.stringify({ metadata: {}, status: 'Failure', message: messageOf(err), reason: 'InternalError' })));
    }
    ws.close();
  }

  /**
   * One connection to port on the localhost of the namespace at netnsPath, made by
   * berth-port-relay: its stdin goes to the connection (ended: half-closed) and the connection
   * to its stdout. ended resolves with why the connection failed, or undefined.
   */
  #openRelay(netnsPath: string, port: number, onData: (chunk: Buffer) => void): { relay: ChildProcessByStdio<Writable, Readable, Readable>; ended: Promise<string | undefined> } {
    const relay = spawn(this.#portRelayPath, [netnsPath, String(port)], { stdio: ['pipe', 'pipe', 'pipe'] });
    relay.stdin.on('error', () => {});
    let errorText = '';
    relay.stdout.on('data', onData);
    relay.stderr.on('data', (chunk: Buffer) => (errorText += chunk.toString('utf8')));
    const ended = new Promise<string | undefined>((resolve) => {
      relay.once('error', (err) => {
        errorText ||= messageOf(err);
        resolve(errorText);
      });
      relay.once('close', (code) => resolve(code === 0 ? undefined : errorText.trim() || `exit ${code}`));
    });
    return { relay, ended };
  }

  /**
   * One connection per port, made inside the pod's network namespace by berth-port-relay; data
   * on channel 2i goes to port i's connection and back. A connection that fails says why on its
   * error channel. The websocket closes once every connection has ended, and ending it ends them.
   */
  #portForward(ws: WebSocketConnection, request: PortForwardStreamRequest): void {
    const send = (channel: number, payload: Buffer): void => ws.send(Buffer.concat([Buffer.from([channel]), payload]));
    const relays = request.ports.map((port, index) => {
      const portBytes = Buffer.alloc(2);
      portBytes.writeUInt16LE(port);
      send(2 * index, portBytes);
      send(2 * index + 1, portBytes);
      const { relay, ended } = this.#openRelay(request.netnsPath, port, (chunk) => send(2 * index, chunk));
      const reported = ended.then((failure) => {
        if (failure !== undefined && !isClosed) send(2 * index + 1, Buffer.from(`error forwarding port ${port} to pod ${request.podId}: ${failure}`));
      });
      return { relay, ended: reported };
    });
    let isClosed = false;
    ws.on('message', (message: Buffer) => {
      const channel = message[0] ?? -1;
      const target = channel % 2 === 0 ? relays[channel / 2] : undefined;
      if (target && target.relay.exitCode === null) target.relay.stdin.write(message.subarray(1));
    });
    ws.on('close', () => {
      isClosed = true;
      for (const { relay } of relays) if (relay.exitCode === null && relay.signalCode === null) relay.kill('SIGTERM');
    });
    void Promise.all(relays.map((r) => r.ended)).then(() => ws.close());
  }

  /**
   * Over SPDY each connection the client makes is a pair of streams naming its port; each gets
   * its own relay. The data stream ends when the connection does; a failure is written on the
   * error stream before it ends (empty when all went well), as the kubelet does. The session
   * lasts as long as the client keeps it.
   */
  #portForwardSpdy(session: SpdySession, request: PortForwardStreamRequest): void {
    acceptPortForwardPairs(session, ({ port: portHeader, data, error }: PortForwardPair) => {
      const port = Number(portHeader);
      const fail = (why: string): void => {
        error.write(Buffer.from(`error forwarding port ${portHeader} to pod ${request.podId}: ${why}`));
        error.end();
        data.end();
      };
      if (!/^\d+$/.test(portHeader) || port < 1 || port > 65535) return fail('the port header is not a port between 1 and 65535');
      if (request.ports.length > 0 && !request.ports.includes(port)) return fail(`port ${port} is not one of the ports the PortForward request named (${request.ports.join(', ')})`);
      const { relay, ended } = this.#openRelay(request.netnsPath, port, (chunk) => data.write(chunk));
      data.on('data', (chunk: Buffer) => {
        if (relay.exitCode === null) relay.stdin.write(chunk);
      });
      data.on('end', () => relay.stdin.end());
      const stopRelay = (): void => {
        if (relay.exitCode === null && relay.signalCode === null) relay.kill('SIGTERM');
      };
      data.on('close', stopRelay);
      session.once('close', stopRelay);
      void ended.then((failure) => {
        session.off('close', stopRelay);
        if (failure !== undefined) error.write(Buffer.from(`error forwarding port ${port} to pod ${request.podId}: ${failure}`));
        error.end();
        data.end();
      });
    });
  }

  async close(): Promise<void> {
    for (const ws of this.#connections) ws.close();
    for (const { timer } of this.#pending.values()) clearTimeout(timer);
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}
