/**
 * Which daemon socket the client talks to: `-H/--host`, then `BERTH_HOST`, then
 * `DOCKER_HOST`, then /run/berth/berth.sock. Only `unix://` hosts are supported.
 */
import { InvalidArgumentError } from '../common/index.js';

/** The socket berthd listens on by default. */
export const DEFAULT_SOCKET_PATH = '/run/berth/berth.sock';

/** A resolved daemon address. */
export interface DaemonHost {
  /** As the user would write it: `unix:///run/berth/berth.sock`. */
  url: string;
  socketPath: string;
}

/** Resolve the daemon host; throws InvalidArgumentError for a non-unix host. */
export function resolveHost(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): DaemonHost {
  const raw = flag || env['BERTH_HOST'] || env['DOCKER_HOST'] || `unix://${DEFAULT_SOCKET_PATH}`;
  if (raw.startsWith('unix://')) {
    const socketPath = raw.slice('unix://'.length);
    if (socketPath === '') throw new InvalidArgumentError(`invalid host: ${raw}`);
    return { url: raw, socketPath };
  }
  if (raw.startsWith('/')) return { url: `unix://${raw}`, socketPath: raw };
  throw new InvalidArgumentError(`unsupported host ${raw}: only unix:// sockets are supported`);
}
