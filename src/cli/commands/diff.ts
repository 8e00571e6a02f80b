/** `berth diff CONTAINER`: the container's filesystem changes, `C`/`A`/`D` and the path, as docker prints them. */
import { Command } from 'commander';
import type { CliContext } from '../context.js';
import { write } from '../context.js';

const KIND_LETTER = ['C', 'A', 'D'] as const;

/** Build the diff command. */
export function build(ctx: CliContext): Command {
  return new Command()
    .description("Inspect changes to files or directories on a container's filesystem")
    .usage('CONTAINER')
    .argument('<container>')
    .action(async (ref: string) => {
      const client = await ctx.client();
      const changes = await client.containerChanges(ref);
      await write(ctx.out, changes.map((c) => `${KIND_LETTER[c.Kind] ?? '?'} ${c.Path}\n`).join(''));
    });
}
