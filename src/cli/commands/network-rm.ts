/** `berth network rm`: remove networks, printing each reference removed. */
import { Command } from 'commander';
import type { CliContext } from '../context.js';
import { StatusError } from '../exit.js';
import { forEachRef } from './multi.js';

/** Build the network rm command. */
export function build(ctx: CliContext): Command {
  return new Command()
    .description('Remove one or more networks')
    .usage('[OPTIONS] NETWORK [NETWORK...]')
    .argument('<networks...>')
    .option('-f, --force', 'Do not error if the network does not exist')
    .action(async (refs: string[], flags: { force?: boolean }) => {
      const client = await ctx.client();
      const { ApiError } = await import('../../client/index.js');
      try {
        await forEachRef(ctx, refs, async (ref) => {
          try {
            await client.networkRemove(ref);
          } catch (err) {
            if (!(flags.force && err instanceof ApiError && err.status === 404)) throw err;
          }
        });
      } catch (err) {
        // docker's network rm ends a failed run with this line of its own.
        if (err instanceof StatusError) throw new StatusError(err.exitCode, 'exit status 1');
        throw err;
      }
    });
}
