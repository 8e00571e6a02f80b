/**
 * berthd's life: claim the pid file, prepare the host, open the stores, reconcile containers
 * that ran or exited while no daemon was up, serve the API, and on SIGTERM stop serving
 * (containers keep running under conmon).
 */
import { mkdir } from 'node:fs/promises';
import type { Server } from 'node:http';
import { createLogger, messageOf, type Logger } from '../common/index.js';
import { buildRouter, createApiServer, listenOnUnixSocket } from '../api/index.js';
import type { DaemonConfig } from './config.js';
import { buildServices, type Services } from './builtins.js';
import { claimPidFile, releasePidFile } from './pid-file.js';
import { berthVersion } from './version.js';

export interface RunningDaemon {
  services: Services;
  server: Server;
  logger: Logger;
  stop(): Promise<void>;
}

/** Start berthd with `config`; resolves once the API answers. */
export async function startDaemon(config: DaemonConfig): Promise<RunningDaemon> {
  const logger = createLogger(config.logLevel);
  const version = berthVersion();
  await mkdir(config.root, { recursive: true, mode: 0o700 });
  await mkdir(config.execRoot, { recursive: true, mode: 0o700 });
  await claimPidFile(config.pidFile);
  let services: Services | undefined;
  try {
    services = await buildServices(config, version, logger);
    const server = createApiServer({ router: buildRouter(services.engine), logger, serverVersion: version });
    await listenOnUnixSocket(server, config.socketPath);
    logger.info('berthd is serving', { socket: config.socketPath, root: config.root, version });
    const running = services;
    return {
      services: running,
      server,
      logger,
      async stop() {
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        });
        await running.close();
        await releasePidFile(config.pidFile);
      },
    };
  } catch (err) {
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
