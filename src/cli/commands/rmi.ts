/** `berth rmi` / `image rm`: print what was untagged and deleted. */
import { Command } from 'commander';
import type { CliContext } from '../context.js';
import { write } from '../context.js';
import { forEachRef } from './multi.js';

/** Build the rmi command. */
export function build(ctx: CliContext): Command {
  return new Command()
    .description('Remove one or more images')
    .usage('[OPTIONS] IMAGE [IMAGE...]')
    .argument('<images...>')
    .option('-f, --force', 'Force removal of the image')
    .option('--no-prune', 'Do not delete untagged parents')
    .action(async (refs: string[], flags: { force?: boolean; prune: boolean }) => {
      const client = await ctx.client();
      await forEachRef(
        ctx,
        refs,
        async (ref) => {
          const items = await client.imageRemove(ref, { force: Boolean(flags.force), noPrune: !flags.prune });
          let text = '';
          for (const item of items ?? []) {
            if (item.Untagged) text += `Untagged: ${item.Untagged}\n`;
            if (item.Deleted) text += `Deleted: ${item.Deleted}\n`;
          }
          await write(ctx.out, text);
        },
        { printRef: false },
      );
    });
}
