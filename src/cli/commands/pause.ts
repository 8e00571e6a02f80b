/** `berth pause`: freeze every process of the containers, printing each reference. */
import { Command } from 'commander';
import type { CliContext } from '../context.js';
import { forEachRef } from './multi.js';

/** Build the pause command. */
export function build(ctx: CliContext): Command {
  return new Command()
    .description('Pause all processes within one or more containers')
    .usage('CONTAINER [CONTAINER...]')
    .argument('<containers...>')
    .action(async (refs: string[]) => {
      const client = await ctx.client();
      await forEachRef(ctx, refs, (ref) => client.containerPause(ref));
    });
}
