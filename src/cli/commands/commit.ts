/** `berth commit [-a -m -c -p] CONTAINER [REPOSITORY[:TAG]]`: a new image from a container's changes; prints its id. */
import { Command } from 'commander';
import type { CliContext } from '../context.js';
import { write } from '../context.js';
import { splitImageRef } from '../run-options.js';

/** Build the commit command. */
export function build(ctx: CliContext): Command {
  return new Command()
    .description("Create a new image from a container's changes")
    .usage('[OPTIONS] CONTAINER [REPOSITORY[:TAG]]')
    .option('-a, --author <string>', 'Author (e.g., "John Hannibal Smith <hannibal@a-team.com>")')
    .option('-c, --change <instruction>', 'Apply Dockerfile instruction to the created image', (value: string, all: string[]) => [...all, value], [] as string[])
    .option('-m, --message <string>', 'Commit message')
    .option('-p, --pause', 'Pause container during commit', true)
    .option('--no-pause', 'Do not pause the container during commit')
    .argument('<container>')
    .argument('[reference]')
    .action(async (ref: string, reference: string | undefined, options: { author?: string; change: string[]; message?: string; pause: boolean }) => {
      const target = reference !== undefined && reference !== '' ? splitImageRef(reference) : undefined;
      const client = await ctx.client();
      const result = await client.containerCommit(ref, {
        ...(target ? { repo: target.name, ...(target.tag ? { tag: target.tag } : {}) } : {}),
        ...(options.author ? { author: options.author } : {}),
        ...(options.message ? { comment: options.message } : {}),
        pause: options.pause,
        changes: options.change,
      });
      await write(ctx.out, `${result.Id}\n`);
    });
}
