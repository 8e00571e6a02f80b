/** `berth volume inspect`. */
import { Command } from 'commander';
import type { CliContext } from '../context.js';
import { orMissing, printInspect } from './inspect-output.js';

/** Build the volume inspect command. */
export function build(ctx: CliContext): Command {
  return new Command()
    .description('Display detailed information on one or more volumes')
    .usage('[OPTIONS] VOLUME [VOLUME...]')
    .argument('<volumes...>')
    .option('-f, --format <string>', 'Format output using a custom template')
    .action(async (names: string[], flags: { format?: string }) => {
      const client = await ctx.client();
      await printInspect(ctx, names, flags.format, (name) => orMissing(() => client.volumeInspect(name)), (name) => `get ${name}: no such volume`);
    });
}
