/** `berth unpause`: thaw paused containers, printing each reference. */
import { Command } from 'commander';
import type { CliContext } from '../context.js';
import { forEachRef } from './multi.js';

/** Build the unpause command. */
export function build(ctx: CliContext): Command {
  return new Command()
    .description('Unpause all processes within one or more containers')
    .usage('CONTAINER [CONTAINER...]')
    .argument('<containers...>')
    .action(async (refs: string[]) => {
      const client = await ctx.client();
      await forEachRef(ctx, refs, (ref) => client.containerUnpause(ref));
    });
}
