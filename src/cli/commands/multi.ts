/**
 * The docker pattern for commands over several containers (stop, kill, rm...): act on each,
 * print the reference on success and the error on failure, exit 1 if any failed.
 */
import type { CliContext } from '../context.js';
import { write } from '../context.js';
import { StatusError } from '../exit.js';

/** Run `action` for every ref in order; prints refs that succeed and errors that do not. */
export async function forEachRef(ctx: CliContext, refs: string[], action: (ref: string) => Promise<void>, options: { printRef?: boolean } = {}): Promise<void> {
  const { ApiError } = await import('../../client/index.js');
  let failed = false;
  for (const ref of refs) {
    try {
      await action(ref);
      if (options.printRef !== false) await write(ctx.out, `${ref}\n`);
    } catch (err) {
      failed = true;
      const message = err instanceof ApiError ? `Error response from daemon: ${err.message}` : (err as Error).message;
      await write(ctx.err, `${message}\n`);
    }
  }
  if (failed) throw new StatusError(1);
}
