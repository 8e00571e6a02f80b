/**
 * What every command gets: output streams and a lazily made API client (the client is loaded
 * only by commands that talk to the daemon, to keep `berth --help` fast).
 */
import type { Writable } from 'node:stream';
import type { EngineClient } from '../client/index.js';

/** The environment of one `berth` invocation. */
export interface CliContext {
  out: Writable;
  err: Writable;
  env: NodeJS.ProcessEnv;
  /** The client for the resolved daemon host, created on first use. */
  client(): Promise<EngineClient>;
  /** docker's command path for messages, e.g. `berth run`. */
  commandPath: string;
}

/** Build a context whose client talks to `hostFlag` (or the environment's host). */
export function createContext(options: { out: Writable; err: Writable; env: NodeJS.ProcessEnv; hostFlag?: string | undefined; commandPath: string }): CliContext & { close(): Promise<void> } {
  let client: EngineClient | undefined;
  return {
    out: options.out,
    err: options.err,
    env: options.env,
    commandPath: options.commandPath,
    async client() {
      if (!client) {
        const { EngineClient, resolveHost } = await import('../client/index.js');
        const host = resolveHost(options.hostFlag, options.env);
        client = new EngineClient({ socketPath: host.socketPath, hostUrl: host.url });
      }
      return client;
    },
    async close() {
      if (client) await client.close();
    },
  };
}

/** Write `text` and wait until it is flushed (so exit codes never cut output short). */
export function write(stream: Writable, text: string): Promise<void> {
  return new Promise((resolve) => {
    if (stream.write(text)) resolve();
    else stream.once('drain', () => resolve());
  });
}
