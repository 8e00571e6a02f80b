/** `berth image inspect`. */
import { Command } from 'commander';
import type { CliContext } from '../context.js';
import { orMissing, printInspect } from './inspect-output.js';

/** Build the image inspect command. */
export function build(ctx: CliContext): Command {
  return new Command()
    .description('Display detailed information on one or more images')
    .usage('[OPTIONS] IMAGE [IMAGE...]')
    .argument('<images...>')
    .option('-f, --format <string>', 'Format output using a custom template')
    .action(async (refs: string[], flags: { format?: string }) => {
      const client = await ctx.client();
      await printInspect(ctx, refs, flags.format, (ref) => orMissing(() => client.imageInspect(ref)), (ref) => `No such image: ${ref}`);
    });
}
