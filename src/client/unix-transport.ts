/**
 * HTTP over berthd's unix socket with node:http: plain requests and the hijacked
 * `Upgrade: tcp` connections of attach and exec. Built on node:http rather than undici
 * because `berth` starts once per command and importing undici costs about 115 ms there
 * (measured on Node 24), more than a whole `berth ps`.
 */
import { createRequire } from 'node:module';
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import type { Duplex, Readable } from 'node:stream';

// Loaded through require: an ESM import of node:http builds its facade, whose getters load
// Node's bundled undici (about 10 ms) for exports we never use.
const { Agent, request: httpRequest } = createRequire(import.meta.url)('node:http') as typeof import('node:http');

export interface TransportRequest {
  method: string;
  path: string;
  headers?: Record<string, string>;
  body?: string | Buffer | Readable | null;
}

export interface TransportResponse {
  statusCode: number;
  headers: IncomingHttpHeaders;
  body: IncomingMessage;
}

/** A non-101 answer to an upgrade request, with its body for docker's error message. */
export class UpgradeRefusedError extends Error {
  readonly statusCode: number;
  readonly body: string;
  constructor(statusCode: number, body: string) {
    super(`unable to upgrade to tcp, received ${statusCode}`);
    this.statusCode = statusCode;
    this.body = body;
  }
}

export class UnixTransport {
  readonly #socketPath: string;
  // Keep-alive with no socket limit: docker run holds attach and wait open while it starts.
  readonly #agent = new Agent({ keepAlive: true, maxSockets: Infinity });

  constructor(socketPath: string) {
    this.#socketPath = socketPath;
  }

  request(options: TransportRequest): Promise<TransportResponse> {
    return new Promise((resolve, reject) => {
      const req = httpRequest(
        { socketPath: this.#socketPath, agent: this.#agent, method: options.method, path: options.path, headers: options.headers ?? {} },
        (res) => resolve({ statusCode: res.statusCode ?? 0, headers: res.headers, body: res }),
      );
      req.on('error', reject);
      const body = options.body;
      if (body === undefined || body === null) req.end();
      else if (typeof body === 'string' || Buffer.isBuffer(body)) req.end(body);
      else body.pipe(req);
    });
  }

  /** Send `method path` asking to upgrade to a raw stream; resolves with the socket on 101. */
  upgrade(options: { method: string; path: string; headers?: Record<string, string>; body?: string }): Promise<{ headers: IncomingHttpHeaders; socket: Duplex }> {
    return new Promise((resolve, reject) => {
      const req = httpRequest({
        socketPath: this.#socketPath,
        method: options.method,
        path: options.path,
        headers: { ...options.headers, Connection: 'Upgrade', Upgrade: 'tcp' },
      });
      req.on('upgrade', (res, socket, head) => {
        if (head.length > 0) socket.unshift(head);
        resolve({ headers: res.headers, socket });
      });
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => reject(new UpgradeRefusedError(res.statusCode ?? 0, Buffer.concat(chunks).toString('utf8'))));
      });
      req.on('error', reject);
      req.end(options.body);
    });
  }

  /** Drop idle keep-alive connections so the process can exit. */
  close(): void {
    this.#agent.destroy();
  }
}
