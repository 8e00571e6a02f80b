/** `berth inspect`: containers first, then images, as docker's untyped inspect; --type narrows. */
import { Command } from 'commander';
import type { CliContext } from '../context.js';
import { UsageError } from '../exit.js';
import { orMissing, printInspect } from './inspect-output.js';

/** Build the inspect command. */
export function build(ctx: CliContext): Command {
  return new Command()
    .description('Return low-level information on Docker objects')
    .usage('[OPTIONS] NAME|ID [NAME|ID...]')
    .argument('<refs...>')
    .option('-f, --format <string>', 'Format output using a custom template')
    .option('-s, --size', 'Display total file sizes if the type is container')
    .option('--type <string>', 'Return JSON for specified type')
    .action(async (refs: string[], flags: { format?: string; size?: boolean; type?: string }) => {
      if (flags.type !== undefined && flags.type !== 'container' && flags.type !== 'image') {
        throw new UsageError(`"${flags.type}" is not a valid value for --type`);
      }
      const client = await ctx.client();
      await printInspect(
        ctx,
        refs,
        flags.format,
        async (ref) => {
          if (flags.type !== 'image') {
            const container = await orMissing(() => client.containerInspect(ref, { size: Boolean(flags.size) }));
            if (container !== undefined || flags.type === 'container') return container;
          }
          return orMissing(() => client.imageInspect(ref));
        },
        (ref) => (flags.type ? `No such ${flags.type}: ${ref}` : `No such object: ${ref}`),
      );
    });
}
