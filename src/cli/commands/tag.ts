/** `berth tag` / `image tag SOURCE TARGET`. */
import { Command } from 'commander';
import type { CliContext } from '../context.js';
import { splitImageRef } from '../run-options.js';

/** Build the tag command. */
export function build(ctx: CliContext): Command {
  return new Command()
    .description('Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE')
    .usage('SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]')
    .argument('<source>')
    .argument('<target>')
    .action(async (source: string, target: string) => {
      const ref = splitImageRef(target);
      const client = await ctx.client();
      await client.imageTag(source, ref.name, ref.tag);
    });
}
