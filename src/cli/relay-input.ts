/**
 * Our stdin into an attach or exec connection, as docker's CLI relays it: with a tty, in raw
 * mode (when stdin is a terminal) and watching for the detach keys; without a tty byte for
 * byte, whatever the bytes (docker applies detach keys only with a tty). Our EOF half-closes
 * the connection after the last byte, so the container reads every byte and then EOF.
 */
import { DEFAULT_DETACH_KEYS, DetachKeyFilter, parseDetachKeys } from '../common/index.js';
import type { AttachConnection } from '../client/index.js';

/** A running stdin relay. */
export interface InputRelay {
  /** Settles when the user typed the detach keys (only ever with a tty). */
  detached: Promise<void>;
  /** Stop reading stdin and restore the terminal; safe to call more than once. */
  stop(): void;
}

export function relayInput(connection: AttachConnection, options: { tty: boolean; detachKeys?: string | undefined }): InputRelay {
  const stdin = process.stdin;
  const isRaw = options.tty && stdin.isTTY === true;
  if (isRaw) stdin.setRawMode(true);
  let source: NodeJS.ReadableStream = stdin;
  let detached: Promise<void> = new Promise(() => {});
  let isDetached = false;
  let filter: DetachKeyFilter | undefined;
  if (options.tty) {
    filter = new DetachKeyFilter(parseDetachKeys(options.detachKeys || DEFAULT_DETACH_KEYS));
    const keys = filter;
    detached = new Promise((resolve) => keys.once('detach', () => {
      isDetached = true;
      resolve();
    }));
    source = stdin.pipe(filter);
  }
  source.pipe(connection.socket, { end: false });
  // EOF half-closes the connection (after every byte written), unless it came from a detach.
  source.once('end', () => {
    if (!isDetached) connection.socket.end();
  });
  let isStopped = false;
  return {
    detached,
    stop() {
      if (isStopped) return;
      isStopped = true;
      if (filter) stdin.unpipe(filter);
      else stdin.unpipe(connection.socket);
      stdin.pause();
      if (isRaw) stdin.setRawMode(false);
    },
  };
}
