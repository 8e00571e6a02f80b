/**
 * The kubelet's stream protocols over SPDY/3.1, as its streaming server serves them to an API
 * server: the upgrade with protocol negotiation (`X-Stream-Protocol-Version`), then streams the
 * client opens, each named by its `streamType` header. Exec and attach (v4.channel.k8s.io): one
 * each of error, stdin, stdout, stderr and resize as the request asks, the final status as
 * metav1.Status JSON on the error stream. Port-forward (portforward.k8s.io): a data and an
 * error stream per connection, paired by their `requestID` header, the port in `port`.
 */
import { EventEmitter } from 'node:events';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { SpdySession, type SpdyStream } from './spdy.js';

export const SPDY_STREAM_PROTOCOLS = ['v4.channel.k8s.io'] as const;
export const SPDY_PORT_FORWARD_PROTOCOLS = ['portforward.k8s.io'] as const;
/** How long the client may take to open its streams (the kubelet's streamCreationTimeout). */
export const STREAM_CREATION_TIMEOUT_MS = 30_000;

/** Whether the request asks for SPDY/3.1 (rather than a websocket). */
export function isSpdyUpgrade(request: IncomingMessage): boolean {
  return String(request.headers['upgrade'] ?? '').toLowerCase().includes('spdy/3.1');
}

/**
 * Answer the upgrade with the client's first protocol that is served (as the kubelet's
 * handshake does), or refuse it: 400 without the upgrade headers or a protocol, 403 when no
 * protocol is shared (naming the served ones). Undefined when refused.
 */
export function acceptSpdy(request: IncomingMessage, socket: Duplex, head: Buffer, protocols: readonly string[]): { session: SpdySession; protocol: string } | undefined {
  const refuse = (statusLine: string, message: string, extra = ''): undefined => {
    const body = `${message}\n`;
    socket.end(`HTTP/1.1 ${statusLine}\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\n${extra}Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
    return undefined;
  };
  if (!String(request.headers['connection'] ?? '').toLowerCase().includes('upgrade')) {
    return refuse('400 Bad Request', 'unable to upgrade: missing upgrade headers in request');
  }
  const offered = request.headersDistinct['x-stream-protocol-version']?.flatMap((value) => value.split(',')).map((p) => p.trim()).filter((p) => p !== '') ?? [];
  if (offered.length === 0) return refuse('400 Bad Request', 'unable to upgrade: X-Stream-Protocol-Version is required');
  const protocol = offered.find((p) => protocols.includes(p));
  if (protocol === undefined) {
    return refuse('403 Forbidden', `unable to upgrade: unable to negotiate protocol: client supports [${offered.join(' ')}], server accepts [${protocols.join(' ')}]`,
      protocols.map((p) => `X-Accepted-Stream-Protocol-Versions: ${p}\r\n`).join(''));
  }
  socket.write(`HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: ${protocol}\r\n\r\n`);
  return { session: new SpdySession(socket, head), protocol };
}

/** Which streams an exec or attach expects besides the error stream. */
export interface ExpectedStreams {
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  tty: boolean;
}

/**
 * The streams of an exec or attach, seen as the websocket channel protocol's messages so that
 * one relay serves both: 'message' with channel 0 (stdin), 255+0 (stdin ended), 4 (a resize);
 * send() routes channel 1, 2 and 3 (the status) to stdout, stderr and error; 'close' when the
 * client is gone.
 */
export class SpdyChannelConnection extends EventEmitter {
  readonly #session: SpdySession;
  readonly #streams: Map<string, SpdyStream>;

  constructor(session: SpdySession, streams: Map<string, SpdyStream>) {
    super();
    this.#session = session;
    this.#streams = streams;
    const stdin = streams.get('stdin');
    stdin?.on('data', (chunk: Buffer) => this.emit('message', Buffer.concat([Buffer.from([0]), chunk])));
    stdin?.on('end', () => this.emit('message', Buffer.from([255, 0])));
    if (stdin?.isRemoteEnded) queueMicrotask(() => this.emit('message', Buffer.from([255, 0])));
    // Each resize is a JSON object; Go's encoder ends each with a newline.
    let pending = '';
    streams.get('resize')?.on('data', (chunk: Buffer) => {
      pending += chunk.toString('utf8');
      let newline: number;
      while ((newline = pending.indexOf('\n')) >= 0) {
        const line = pending.slice(0, newline).trim();
        pending = pending.slice(newline + 1);
        if (line !== '') this.emit('message', Buffer.concat([Buffer.from([4]), Buffer.from(line, 'utf8')]));
      }
    });
    session.once('close', () => this.emit('close'));
  }

  send(message: Buffer): void {
    const name = ({ 1: 'stdout', 2: 'stderr', 3: 'error' } as Record<number, string>)[message[0] ?? -1];
    const stream = name ? this.#streams.get(name) : undefined;
    if (!stream) return;
    stream.write(message.subarray(1));
    // The status is the error stream's only message: the client reads it to EOF.
    if (name === 'error') stream.end();
  }

  close(): void {
    this.#session.close();
  }
}

/**
 * Wait for the client to open the streams an exec or attach expects (error always; stdin,
 * stdout and stderr as asked; resize with a tty), as the kubelet does. Rejects on a timeout or
 * when the client goes first; a stream of another type is reset.
 */
export function waitForStreams(session: SpdySession, expected: ExpectedStreams, timeoutMs = STREAM_CREATION_TIMEOUT_MS): Promise<Map<string, SpdyStream>> {
  const wanted = new Set(['error']);
  if (expected.stdin) wanted.add('stdin');
  if (expected.stdout) wanted.add('stdout');
  if (expected.stderr) wanted.add('stderr');
  if (expected.tty) wanted.add('resize');
  const streams = new Map<string, SpdyStream>();
  return new Promise((resolve, reject) => {
    const done = (err?: Error): void => {
      clearTimeout(timer);
      session.off('stream', onStream);
      session.off('close', onClose);
      if (err) reject(err);
      else resolve(streams);
    };
    const onStream = (stream: SpdyStream): void => {
      const type = (stream.header('streamtype') ?? '').toLowerCase();
      if (!wanted.has(type) || streams.has(type)) {
        stream.reset();
        return;
      }
      streams.set(type, stream);
      if (streams.size === wanted.size) done();
    };
    const onClose = (): void => done(new Error('the client closed the connection before opening its streams'));
    const timer = setTimeout(() => done(new Error('timed out waiting for client to create streams')), timeoutMs);
    timer.unref();
    session.on('stream', onStream);
    session.once('close', onClose);
  });
}

/** One forwarded connection: the port the client asked for and its two streams. */
export interface PortForwardPair {
  port: string;
  data: SpdyStream;
  error: SpdyStream;
}

/**
 * Pair the client's port-forward streams (data and error) by their `requestID` header and hand
 * each complete pair to onPair. Clients too old to send the header get the kubelet's guess
 * (an error stream's ID, or a data stream's less 2). A pair that stays incomplete is reset.
 */
export function acceptPortForwardPairs(session: SpdySession, onPair: (pair: PortForwardPair) => void, timeoutMs = STREAM_CREATION_TIMEOUT_MS): void {
  const waiting = new Map<string, { data?: SpdyStream; error?: SpdyStream; timer: NodeJS.Timeout }>();
  session.on('stream', (stream: SpdyStream) => {
    const type = (stream.header('streamtype') ?? '').toLowerCase();
    if (type !== 'data' && type !== 'error') {
      stream.reset();
      return;
    }
    const requestId = stream.header('requestid') ?? String(type === 'error' ? stream.id : stream.id - 2);
    let entry = waiting.get(requestId);
    if (!entry) {
      const timer = setTimeout(() => {
        waiting.delete(requestId);
        entry?.data?.reset();
        entry?.error?.reset();
      }, timeoutMs);
      timer.unref();
      entry = { timer };
      waiting.set(requestId, entry);
    }
    if (entry[type]) {
      stream.reset();
      return;
    }
    entry[type] = stream;
    if (entry.data && entry.error) {
      clearTimeout(entry.timer);
      waiting.delete(requestId);
      onPair({ port: entry.data.header('port') ?? '', data: entry.data, error: entry.error });
    }
  });
  session.once('close', () => {
    for (const { timer } of waiting.values()) clearTimeout(timer);
    waiting.clear();
  });
}
