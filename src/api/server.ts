/**
 * The HTTP server on berthd's unix socket: version prefixes, routing, docker's headers, and
 * connection upgrades (the hijacked streams of attach and exec) handed to their handlers.
 */
import { createServer, ServerResponse, type IncomingMessage, type Server } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import { chmod, unlink } from 'node:fs/promises';
import type { Duplex } from 'node:stream';
import { BerthError, errnoOf, type Logger } from '../common/index.js';
import { acceptsConnections } from '../sys/index.js';
import { sendError } from './errors.js';
import { ApiRequest, type Hijack } from './request.js';
import type { Router } from './router.js';
import { splitVersion, MAX_API_VERSION } from './version.js';

export interface ApiServerOptions {
  router: Router;
  logger: Logger;
  serverVersion: string;
  /** PEM contents for a TLS server that requires client certificates signed by `ca`. */
  tls?: { ca: Buffer; cert: Buffer; key: Buffer };
}

class NotFoundRouteError extends BerthError {
  constructor(method: string, path: string) {
    super('not-found', 'BERTH_NO_ROUTE', `page not found: ${method} ${path}`);
  }
}

class MethodNotAllowedError extends BerthError {
  constructor() {
    super('invalid-argument', 'BERTH_METHOD_NOT_ALLOWED', 'method not allowed');
  }
}

/** Upgraded (hijacked) connections by server: the HTTP server no longer tracks them, yet they keep it from closing. */
const hijackedSockets = new WeakMap<Server, Set<Duplex>>();

/**
 * Stop listening and end every connection, hijacked attach and exec streams included (left
 * open, they would keep the server, and so berthd's SIGTERM shutdown, waiting for ever).
 */
export function closeApiServer(server: Server): Promise<void> {
  return new Promise<void>((resolve) => {
    if (!server.listening) return resolve();
    server.close(() => resolve());
    server.closeAllConnections();
    for (const socket of hijackedSockets.get(server) ?? []) socket.destroy();
  });
}

/** Build the HTTP server; `listen` puts it on a socket. */
export function createApiServer(options: ApiServerOptions): Server {
  const httpOptions = { keepAliveTimeout: 60_000, requestTimeout: 0, headersTimeout: 60_000 };
  // With TLS every client must present a certificate the CA signed: the API is root on the host.
  // allowHalfOpen keeps a hijacked stream writable after the client half-closes its stdin.
  const server: Server = options.tls
    ? createTlsServer({ ...httpOptions, ...options.tls, requestCert: true, rejectUnauthorized: true, allowHalfOpen: true })
    : createServer(httpOptions);
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    void dispatch(options, req, res, undefined);
  });
  const hijacked = new Set<Duplex>();
  hijackedSockets.set(server, hijacked);
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    hijacked.add(socket);
    socket.once('close', () => hijacked.delete(socket));
    // Hijack-aware handlers write to the socket themselves; every other route still
    // answers through a normal response bound to the same socket.
    const res = new ServerResponse(req);
    res.assignSocket(socket as import('node:net').Socket);
    socket.on('error', () => {});
    void dispatch(options, req, res, { socket, head });
  });
  server.on('clientError', (_err, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\n\r\n');
  });
  return server;
}

async function dispatch(options: ApiServerOptions, req: IncomingMessage, res: ServerResponse, hijack: Hijack | undefined): Promise<void> {
  const { router, logger, serverVersion } = options;
  const controller = new AbortController();
  const onClose = (): void => controller.abort();
  res.on('close', onClose);
  if (hijack) hijack.socket.on('close', onClose);
  res.setHeader('Server', `Berth/${serverVersion} (linux)`);
  res.setHeader('Api-Version', MAX_API_VERSION);
  res.setHeader('Ostype', 'linux');
  try {
    const url = new URL(req.url ?? '/', 'http://berth');
    const { version, path } = splitVersion(url.pathname);
    const method = req.method ?? 'GET';
    logger.debug('request', { method, path: url.pathname + url.search });
    const route = router.match(method, path);
    if (!route) throw new NotFoundRouteError(method, path);
    if ('methodNotAllowed' in route) throw new MethodNotAllowedError();
    const request = new ApiRequest({ raw: req, params: route.params, query: url.searchParams, version, hijack, signal: controller.signal });
    const result = await route.handler(request, res);
    if (result === undefined) return;
    if ('body' in result) {
      const body = JSON.stringify(result.body) + '\n';
      res.writeHead(result.status ?? 200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
      res.end(method === 'HEAD' ? undefined : body);
    } else {
      res.writeHead(result.status).end();
    }
  } catch (err) {
    sendError(res, err, logger);
  }
}

/**
 * Listen on a unix socket readable and writable by root only. A stale socket file is
 * replaced; a live one (another daemon answering) is an error.
 */
export async function listenOnUnixSocket(server: Server, path: string): Promise<void> {
  if (await acceptsConnections(path)) {
    throw new BerthError('conflict', 'BERTH_SOCKET_IN_USE', `another daemon is already listening on ${path}`);
  }
  await unlink(path).catch((err: unknown) => {
    if (errnoOf(err) !== 'ENOENT') throw err;
  });
  // Create the socket with no access for others from the first instant, then set 0660.
  const previousUmask = process.umask(0o177);
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(path, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } finally {
    process.umask(previousUmask);
  }
  await chmod(path, 0o660);
}

/** Listen on a TCP address (a TLS server from createApiServer: berthd never serves plain TCP). */
export async function listenOnTcp(server: Server, host: string, port: number): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}
