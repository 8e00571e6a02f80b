/** `berth wait`: block until containers stop, print each exit code. */
import { Command } from 'commander';
import type { CliContext } from '../context.js';
import { write } from '../context.js';
import { forEachRef } from './multi.js';

/** Build the wait command. */
export function build(ctx: CliContext): Command {
  return new Command()
    .description('Block until one or more containers stop, then print their exit codes')
    .usage('CONTAINER [CONTAINER...]')
    .argument('<containers...>')
    .action(async (refs: string[]) => {
      const client = await ctx.client();
      await forEachRef(
        ctx,
        refs,
        async (ref) => {
          const result = await client.containerWait(ref, 'not-running');
          await write(ctx.out, `${result.StatusCode}\n`);
        },
        { printRef: false },
      );
    });
}
