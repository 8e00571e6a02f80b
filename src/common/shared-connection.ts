/**
 * A client's connection shared with a helper process as a file descriptor, so that a stream's
 * bytes flow between the client and the helper without passing through berthd.
 */
import { Socket } from 'node:net';
import type { Stream } from 'node:stream';
import { TLSSocket } from 'node:tls';

/**
 * Whether `stream` is a connection whose file descriptor carries the client's bytes as they are:
 * a plain socket (unix or TCP). A TLS connection's fd carries ciphertext, so it cannot be shared.
 */
export function isShareableConnection(stream: Stream | undefined): stream is Socket {
  return stream instanceof Socket && !(stream instanceof TLSSocket);
}

/** The part of Node's socket handle (libuv's stream) that starts and stops reading. */
interface ReadingHandle {
  reading: boolean;
  readStop(): number;
}

function readingHandleOf(socket: Socket): ReadingHandle | undefined {
  const handle = (socket as unknown as { _handle?: Partial<ReadingHandle> | null })._handle;
  return handle && typeof handle.readStop === 'function' && typeof handle.reading === 'boolean' ? (handle as ReadingHandle) : undefined;
}

/**
 * Stop reading `socket` for good, so another process can read the rest from the same descriptor,
 * and return, in order, the bytes Node had already read from it that no one consumed. It happens
 * in one synchronous step, so no read slips in between. A later `resume()` reads again (for what
 * a client sends after the helper is gone). Undefined, with nothing taken or stopped, when the
 * socket has no handle that can stop reading (it is closed): the caller relays as before.
 */
export function takeOverReading(socket: Socket): Buffer[] | undefined {
  const handle = readingHandleOf(socket);
  if (!handle || socket.destroyed) return undefined;
  socket.pause();
  const taken: Buffer[] = [];
  // read() may start reading again (below the high-water mark); the stop below comes after it.
  for (let chunk: unknown = socket.read(); chunk !== null; chunk = socket.read()) {
    taken.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)));
  }
  // Unconditionally: stopping a stream that is not reading is harmless, missing one is not.
  handle.reading = false;
  handle.readStop();
  return taken;
}
