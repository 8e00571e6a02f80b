/**
 * Starting native/berth-attach, the helper that relays between conmon's SOCK_SEQPACKET attach
 * socket and a Node stream pair, and waiting until it is connected.
 */
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import type { Readable, Stream, Writable } from 'node:stream';
import { messageOf } from '../../common/index.js';
import { RuntimeError } from '../errors.js';

/** How the helper relays: see native/berth-attach.c. */
export interface AttachHelperOptions {
  socketPath: string;
  isTty: boolean;
  isStdin: boolean;
  /** Shared with the helper as its fd 3: it ends as soon as this connection is closed (not half-closed). */
  client?: Stream;
}

/**
 * Spawn the helper and resolve once it is connected to the attach socket, so whatever the
 * container prints from then on reaches its stdout (a caller that starts the process only
 * after this loses nothing). Rejects, leaving no process, when it cannot connect.
 */
export async function startAttachHelper(helperPath: string, options: AttachHelperOptions): Promise<ChildProcessByStdio<Writable, Readable, Readable>> {
  const args = ['--ready', ...(options.isTty ? ['--tty'] : []), ...(options.isStdin ? [] : ['--no-stdin'])];
  if (options.client) args.push('--watch-fd', '3');
  args.push(options.socketPath);
  const stdio: Array<'pipe' | Stream> = ['pipe', 'pipe', 'pipe'];
  if (options.client) stdio.push(options.client);
  const child = spawn(helperPath, args, { stdio }) as ChildProcessByStdio<Writable, Readable, Readable>;
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
