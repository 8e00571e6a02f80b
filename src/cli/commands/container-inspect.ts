/** `berth container inspect`. */
import { Command } from 'commander';
import type { CliContext } from '../context.js';
import { orMissing, printInspect } from './inspect-output.js';

/** Build the container inspect command. */
export function build(ctx: CliContext): Command {
  return new Command()
    .description('Display detailed information on one or more containers')
    .usage('[OPTIONS] CONTAINER [CONTAINER...]')
    .argument('<containers...>')
    .option('-f, --format <string>', 'Format output using a custom template')
    .option('-s, --size', 'Display total file sizes')
    .action(async (refs: string[], flags: { format?: string; size?: boolean }) => {
      const client = await ctx.client();
      await printInspect(ctx, refs, flags.format, (ref) => orMissing(() => client.containerInspect(ref, { size: Boolean(flags.size) })), (ref) => `No such container: ${ref}`);
    });
}
