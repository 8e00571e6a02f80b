/** `berth kill`: signal containers (SIGKILL by default), printing each reference. */
import { Command } from 'commander';
import type { CliContext } from '../context.js';
import { forEachRef } from './multi.js';

/** Build the kill command. */
export function build(ctx: CliContext): Command {
  return new Command()
    .description('Kill one or more running containers')
    .usage('[OPTIONS] CONTAINER [CONTAINER...]')
    .argument('<containers...>')
    .option('-s, --signal <signal>', 'Signal to send to the container')
    .action(async (refs: string[], flags: { signal?: string }) => {
      const client = await ctx.client();
      await forEachRef(ctx, refs, (ref) => client.containerKill(ref, flags.signal));
    });
}
