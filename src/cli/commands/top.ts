/** `berth top`: the container's processes as a table. */
import { Command } from 'commander';
import type { CliContext } from '../context.js';
import { write } from '../context.js';
import { alignColumns } from '../table.js';

/** Build the top command. */
export function build(ctx: CliContext): Command {
  return new Command()
    .description('Display the running processes of a container')
    .usage('CONTAINER [ps OPTIONS]')
    .argument('<container>')
    .argument('[psArgs...]')
    .passThroughOptions()
    .allowUnknownOption()
    .action(async (ref: string, psArgs: string[]) => {
      const client = await ctx.client();
      const top = await client.containerTop(ref, psArgs.length > 0 ? psArgs.join(' ') : undefined);
      const lines = [top.Titles.join('\t'), ...top.Processes.map((p) => p.join('\t'))];
      await write(ctx.out, alignColumns(lines.join('\n'), { minWidth: 20, padding: 3 }) + '\n');
    });
}
