/**
 * berthd's life: claim the pid file, prepare the host, open the stores, reconcile containers
 * that ran or exited while no daemon was up, serve the API, and on SIGTERM stop serving
 * (containers keep running under conmon).
 */
import { mkdir, readFile } from 'node:fs/promises';
import type { Server } from 'node:http';
import { join } from 'node:path';
import { createLogger, messageOf, type Logger } from '../common/index.js';
import { buildRouter, closeApiServer, createApiServer, listenOnTcp, listenOnUnixSocket } from '../api/index.js';
import type { DaemonConfig } from './config.js';
import { startCri, type CriServer } from '../cri/index.js';
import { buildServices, type Services } from './builtins.js';
import { claimPidFile, releasePidFile } from './pid-file.js';
import { grantSocketsToGroup, resolveGroupId } from './socket-group.js';
import { berthHome, berthVersion } from './version.js';

export interface RunningDaemon {
  services: Services;
  /** One per listener: each unix socket, then each TCP address. */
  servers: Server[];
  logger: Logger;
  stop(): Promise<void>;
}

/** Start berthd with `config`; resolves once the API answers. */
export async function startDaemon(config: DaemonConfig): Promise<RunningDaemon> {
  const logger = createLogger(config.logLevel);
  const version = berthVersion();
  await mkdir(config.root, { recursive: true, mode: 0o700 });
  await mkdir(config.execRoot, { recursive: true, mode: 0o700 });
  const socketGid = config.socketGroup !== undefined ? await resolveGroupId(config.socketGroup) : undefined;
  await claimPidFile(config.pidFile);
  let services: Services | undefined;
  const servers: Server[] = [];
  try {
    services = await buildServices(config, version, logger);
    const router = buildRouter(services.engine);
    for (const path of config.unixSockets) {
      const server = createApiServer({ router, logger, serverVersion: version });
      servers.push(server);
      await listenOnUnixSocket(server, path);
    }
    if (socketGid !== undefined) await grantSocketsToGroup(config.unixSockets, socketGid);
    if (config.tls) {
      const tls = { ca: await readFile(config.tls.caPath), cert: await readFile(config.tls.certPath), key: await readFile(config.tls.keyPath) };
      for (const address of config.tcpAddresses) {
        const server = createApiServer({ router, logger, serverVersion: version, tls });
        servers.push(server);
        await listenOnTcp(server, address.host, address.port);
      }
    }
    logger.info('berthd is serving', {
      socket: config.unixSockets.join(' '),
      ...(config.tcpAddresses.length > 0 ? { tcp: config.tcpAddresses.map((a) => `${a.host}:${a.port}`).join(' ') } : {}),
      ...(config.socketGroup !== undefined ? { group: config.socketGroup } : {}),
      root: config.root,
      version,
    });
    const running = services;
    // The CRI's gRPC stack takes a few hundred milliseconds to load: the Docker API does not wait for it.
    const runningCri: Promise<CriServer | undefined> = startCri({ engine: running.engine, networks: running.networks, socketPath: config.criSocket, logger, portRelayPath: join(berthHome(), 'build', 'berth-port-relay') }).then(
      (server) => {
        logger.info('serving the CRI', { socket: config.criSocket });
        return server;
      },
      (err: unknown) => {
        logger.error('the CRI could not be served', { socket: config.criSocket, error: messageOf(err) });
        return undefined;
      },
    );
    return {
      services: running,
      servers,
      logger,
      async stop() {
        await closeServers(servers);
        await (await runningCri)?.close();
        await running.close();
        await releasePidFile(config.pidFile);
      },
    };
  } catch (err) {
    await closeServers(servers);
    await services?.close().catch(() => {});
    await releasePidFile(config.pidFile);
    throw err;
  }
}

/** Run until SIGTERM or SIGINT. */
export async function runDaemon(config: DaemonConfig): Promise<void> {
  let daemon: RunningDaemon;
  try {
    daemon = await startDaemon(config);
  } catch (err) {
    process.stderr.write(`berthd: ${messageOf(err)}\n`);
    process.exit(1);
  }
  const shutdown = (signal: string): void => {
    daemon.logger.info('shutting down; containers keep running', { signal });
    void daemon.stop().finally(() => process.exit(0));
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

/** Stop listening and end every connection, hijacked streams included. */
async function closeServers(servers: readonly Server[]): Promise<void> {
  await Promise.all(servers.map((server) => closeApiServer(server)));
}
