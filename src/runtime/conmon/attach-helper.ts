/**
 * Starting native/berth-attach, the helper that relays between conmon's SOCK_SEQPACKET attach
 * socket and a Node stream pair, and waiting until it is connected.
 */
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import type { Readable, Stream, Writable } from 'node:stream';
import { isShareableConnection, messageOf } from '../../common/index.js';
import { RuntimeError } from '../errors.js';

/** How the helper relays: see native/berth-attach.c. */
export interface AttachHelperOptions {
  socketPath: string;
  isTty: boolean;
  isStdin: boolean;
  /** Shared with the helper as its fd 3: it ends as soon as this connection is closed (not half-closed). */
  client?: Stream;
  /**
   * The helper reads stdin from `client` itself once its own stdin ends (berthd writes there only
   * what it had already read from the connection). Needs stdin and a shareable `client`.
   */
  isStdinFromClient?: boolean;
}

/**
 * Spawn the helper and resolve once it is connected to the attach socket, so whatever the
 * container prints from then on reaches its stdout (a caller that starts the process only
 * after this loses nothing). Rejects, leaving no process, when it cannot connect.
 */
export async function startAttachHelper(helperPath: string, options: AttachHelperOptions): Promise<ChildProcessByStdio<Writable, Readable, Readable>> {
  const args = ['--ready', ...(options.isTty ? ['--tty'] : []), ...(options.isStdin ? [] : ['--no-stdin'])];
  // A plain socket's fd is shared so the helper sees the hang-up itself; a TLS connection has no
  // fd carrying the stream (the bytes on it are encrypted), so its close is watched here instead.
  const sharedClient = isShareableConnection(options.client) ? options.client : undefined;
  if (sharedClient) args.push('--watch-fd', '3');
  if (options.isStdinFromClient) {
    // The caller ends our stdin early, counting on this: without it bytes would be lost.
    if (!sharedClient || !options.isStdin) throw new RuntimeError('stdin from the client needs stdin and a plain socket connection');
    args.push('--stdin-then-fd', '3');
  }
  args.push(options.socketPath);
  const stdio: Array<'pipe' | Stream> = ['pipe', 'pipe', 'pipe'];
  if (sharedClient) stdio.push(sharedClient);
  const child = spawn(helperPath, args, { stdio }) as ChildProcessByStdio<Writable, Readable, Readable>;
  if (options.client && !sharedClient) {
    const client = options.client;
    const onClose = (): void => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    };
    client.once('close', onClose);
    child.once('exit', () => client.off('close', onClose));
  }
  // A helper that exited (the container ended) makes writes fail; the session's end says the rest.
  child.stdin.on('error', () => {});
  try {
    await new Promise<void>((resolve, reject) => {
      let text = '';
      const onData = (chunk: Buffer): void => {
        text += chunk.toString('utf8');
        if (!text.includes('ready\n')) return;
        child.stderr.off('data', onData);
        child.off('exit', onExit);
        // Later messages (I/O errors) must not fill an unread pipe.
        child.stderr.resume();
        resolve();
      };
      const onExit = (): void => reject(new RuntimeError(`attach failed: ${text.trim().replace(/^berth-attach: /, '') || 'the attach helper exited'}`));
      child.stderr.on('data', onData);
      child.once('exit', onExit);
      child.once('error', (err) => reject(new RuntimeError(`cannot run ${helperPath}: ${messageOf(err)}`, { cause: err })));
    });
  } catch (err) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    throw err;
  }
  return child;
}
