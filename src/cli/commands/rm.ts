/** `berth rm`: remove containers, printing each reference. */
import { Command } from 'commander';
import type { CliContext } from '../context.js';
import { forEachRef } from './multi.js';

/** Build the rm command. */
export function build(ctx: CliContext): Command {
  return new Command()
    .description('Remove one or more containers')
    .usage('[OPTIONS] CONTAINER [CONTAINER...]')
    .argument('<containers...>')
    .option('-f, --force', 'Force the removal of a running container (uses SIGKILL)')
    .option('-l, --link', 'Remove the specified link')
    .option('-v, --volumes', 'Remove anonymous volumes associated with the container')
    .action(async (refs: string[], flags: { force?: boolean; link?: boolean; volumes?: boolean }) => {
      const client = await ctx.client();
      await forEachRef(ctx, refs, (ref) => client.containerRemove(ref, { force: Boolean(flags.force), link: Boolean(flags.link), volumes: Boolean(flags.volumes) }));
    });
}
