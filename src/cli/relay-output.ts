/**
 * The output side of an attach or exec connection, written to the terminal as docker's CLI
 * writes it: demultiplexed onto stdout and stderr, or passed through raw with a tty. A
 * system-error frame from the daemon is printed on stderr.
 */
import type { AttachConnection } from '../client/index.js';
import type { CliContext } from './context.js';
import { write } from './context.js';

/** Settles when the connection's output ends (or the connection closes). */
export async function relayOutput(ctx: CliContext, connection: AttachConnection, isTty: boolean): Promise<void> {
  const { demuxStream, StreamSystemError } = await import('../client/index.js');
  const output =
    connection.isMultiplexed && !isTty
      ? demuxStream(connection.socket, { stdout: ctx.out, stderr: ctx.err })
      : new Promise<void>((resolve, reject) => {
          connection.socket.on('data', (chunk: Buffer) => {
            // A slow reader of our stdout slows the container down instead of us buffering.
            if (!ctx.out.write(chunk)) {
              connection.socket.pause();
              ctx.out.once('drain', () => connection.socket.resume());
            }
          });
          connection.socket.on('end', resolve);
          connection.socket.on('close', () => resolve());
          connection.socket.on('error', reject);
        });
  return output.catch(async (err: unknown) => {
    if (err instanceof StreamSystemError) await write(ctx.err, `${err.message}\n`);
  });
}
