/**
 * Relaying an attach or exec session over the client's connection, in both directions, with
 * back-pressure and without losing a byte: the client's stdin into the session (its half-close
 * becoming the session's EOF after the last byte), and the session's output back to the client.
 */
import type { Socket } from 'node:net';
import type { Duplex, Writable } from 'node:stream';
import { DetachKeyFilter, takeOverReading } from '../../common/index.js';

/**
 * Copy the client's stdin (`head`, the bytes that came with the request, then the socket) into
 * `input`, and end `input` once the client half-closes and every byte before is written.
 * `detachKeys` is given only for a session with a tty (docker applies detach keys only then;
 * without one stdin is relayed byte for byte): the sequence then ends the relay instead, and the
 * returned promise resolves. Without detach keys it never resolves.
 */
export function relayClientInput(socket: Duplex, head: Buffer, input: NodeJS.WritableStream, detachKeys: Buffer | undefined): Promise<void> {
  if (detachKeys === undefined || detachKeys.length === 0) {
    if (head.length > 0) input.write(head);
    socket.pipe(input);
    socket.resume();
    return new Promise(() => {});
  }
  const filter = new DetachKeyFilter(detachKeys);
  const detached = new Promise<void>((resolve) => filter.once('detach', resolve));
  if (head.length > 0) filter.write(head);
  socket.pipe(filter).pipe(input);
  socket.resume();
  return detached;
}

/**
 * For a session that reads the client's stdin from the connection itself (stdinFromClient):
 * write into `input` only what berthd already holds (`head`, then what Node read and nobody
 * consumed), stop reading the connection, and end `input`, after which the session's helper reads
 * the rest straight from the connection. When Node cannot stop reading (the connection is
 * closed), it relays the rest itself, ending `input` at the client's half-close: the helper then
 * finds the connection at its end, so nothing is lost either way.
 */
export function handOverClientInput(socket: Socket, head: Buffer, input: NodeJS.WritableStream): void {
  const held = takeOverReading(socket);
  if (held === undefined) {
    void relayClientInput(socket, head, input, undefined);
    return;
  }
  if (head.length > 0) input.write(head);
  for (const chunk of held) input.write(chunk);
  input.end();
}

/**
 * Copy `output` to the client until it ends, the client goes away (`signal`) or `stop` settles.
 * A client that reads slowly slows the session down (the output is paused while the client's
 * socket is full) rather than making berthd buffer. With `discard`, the output is read and dropped.
 */
export async function relayOutputToClient(output: NodeJS.ReadableStream, out: Writable, options: { signal: AbortSignal; discard?: boolean; stop?: Promise<void> }): Promise<void> {
  await new Promise<void>((resolve) => {
    const done = (): void => {
      output.unpipe(out);
      resolve();
    };
    if (options.discard) output.resume();
    else if (!out.destroyed) output.pipe(out, { end: false });
    output.once('end', done);
    output.once('error', done);
    out.once('close', done);
    if (options.signal.aborted) done();
    options.signal.addEventListener('abort', done, { once: true });
    void options.stop?.then(done);
  });
}

