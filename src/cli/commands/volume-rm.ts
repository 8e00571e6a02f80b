/** `berth volume rm`: remove volumes, printing each name removed. */
import { Command } from 'commander';
import type { CliContext } from '../context.js';
import { forEachRef } from './multi.js';

/** Build the volume rm command. */
export function build(ctx: CliContext): Command {
  return new Command()
    .description('Remove one or more volumes')
    .usage('[OPTIONS] VOLUME [VOLUME...]')
    .argument('<volumes...>')
    .option('-f, --force', 'Force the removal of one or more volumes')
    .action(async (names: string[], flags: { force?: boolean }) => {
      const client = await ctx.client();
      await forEachRef(ctx, names, (name) => client.volumeRemove(name, { force: Boolean(flags.force) }));
    });
}
