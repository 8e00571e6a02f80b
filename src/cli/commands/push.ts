/** `berth push [-a] [-q] NAME[:TAG]`: upload an image (or every tag of a repository) with docker's progress output. */
import { Command } from 'commander';
import type { CliContext } from '../context.js';
import { write } from '../context.js';
import { registryAuthFor } from '../credentials.js';
import { StatusError } from '../exit.js';
import { displayJsonMessages, terminalOf } from '../progress-display.js';

/** `name` and tag as the push endpoint takes them: the tag apart, none with --all-tags. */
function splitPushRef(ref: string, allTags: boolean): { name: string; tag: string | undefined } {
  const at = ref.indexOf('@');
  if (at >= 0) return { name: ref.slice(0, at), tag: ref.slice(at + 1) };
  const colon = ref.lastIndexOf(':');
  if (colon > ref.lastIndexOf('/')) return { name: ref.slice(0, colon), tag: ref.slice(colon + 1) };
  // docker pushes `latest` unless told to push every tag.
  return { name: ref, tag: allTags ? undefined : 'latest' };
}

/** Build the push command. */
export function build(ctx: CliContext): Command {
  return new Command()
    .description('Upload an image to a registry')
    .usage('[OPTIONS] NAME[:TAG]')
    .argument('<name>')
    .option('-a, --all-tags', 'Push all tags of an image to the repository')
    .option('-q, --quiet', 'Suppress verbose output')
    .action(async (name: string, flags: { allTags?: boolean; quiet?: boolean }) => {
      const ref = splitPushRef(name, Boolean(flags.allTags));
      if (flags.allTags && ref.tag !== undefined && name.includes(':') && name.lastIndexOf(':') > name.lastIndexOf('/')) {
        throw new StatusError(1, 'tag can\'t be used with --all-tags/-a');
      }
      const client = await ctx.client();
      const registryAuth = await registryAuthFor(ctx.env, ref.name);
      const messages = client.imagePush(ref.name, { ...(ref.tag !== undefined ? { tag: ref.tag } : {}), ...(registryAuth !== undefined ? { registryAuth } : {}) });
      try {
        if (flags.quiet) {
          for await (const message of messages) if (message.errorDetail || message.error) throw new StatusError(1, message.errorDetail?.message ?? message.error);
        } else {
          await displayJsonMessages(messages, ctx.out, terminalOf(ctx.out));
        }
      } catch (err) {
        if (err instanceof StatusError) throw new StatusError(1, err.message);
        throw err;
      }
      if (flags.quiet) await write(ctx.out, `${name}\n`);
    });
}
