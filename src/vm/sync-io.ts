/**
 * Synchronous writes the shims make to inherited descriptors: their stdio, and the one line
 * (`ok`, or `error <message>`) a shim reports to the berth-vm command that started it, on a
 * pipe closed right after so the command stops waiting.
 */
import { closeSync, writeSync } from 'node:fs';

/** Write all of buf to a blocking or non-blocking fd. */
export function writeAllSync(fd: number, buf: Buffer): void {
  let at = 0;
  while (at < buf.length) {
    try {
      at += writeSync(fd, buf, at, buf.length - at);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') throw err;
      // A non-blocking fd (conmon's pipe) is full: wait a little without spinning.
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
    }
  }
}

/** A reporter for pipe `fd`: the first call writes and closes it, later calls do nothing. */
export function readyReporter(fd: number): (line: string) => void {
  let open: number | undefined = fd;
  return (line) => {
    if (open === undefined) return;
    try {
      writeSync(open, `${line}\n`);
      closeSync(open);
    } catch {
      // The command gave up waiting.
    }
    open = undefined;
  };
}
