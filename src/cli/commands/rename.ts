/** `berth rename`: give a container a new name. */
import { Command } from 'commander';
import type { CliContext } from '../context.js';

/** Build the rename command. */
export function build(ctx: CliContext): Command {
  return new Command()
    .description('Rename a container')
    .usage('CONTAINER NEW_NAME')
    .argument('<container>')
    .argument('<newName>')
    .action(async (ref: string, newName: string) => {
      const client = await ctx.client();
      await client.containerRename(ref, newName);
    });
}
