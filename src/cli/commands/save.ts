/** `berth save [-o FILE] IMAGE...`: one docker archive of the images (tags kept), to stdout or a file. */
import { createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { Command } from 'commander';
import type { CliContext } from '../context.js';
import { StatusError } from '../exit.js';

/** Build the save command. */
export function build(ctx: CliContext): Command {
  return new Command()
    .description('Save one or more images to a tar archive (streamed to STDOUT by default)')
    .usage('[OPTIONS] IMAGE [IMAGE...]')
    .option('-o, --output <file>', 'Write to a file, instead of STDOUT')
    .argument('<image...>')
    .action(async (images: string[], options: { output?: string }) => {
      if (options.output === undefined && (ctx.out as NodeJS.WriteStream).isTTY === true) {
        throw new StatusError(1, 'cowardly refusing to save to a terminal. Use the -o flag or redirect');
      }
      const client = await ctx.client();
      // Every name is resolved by the daemon before the first byte, so a typo fails with no file made.
      const body = await client.imageSave(images);
      if (options.output === undefined) {
        // stdout stays open for the exit path.
        await pipeline(body, ctx.out, { end: false });
        return;
      }
      try {
        await pipeline(body, createWriteStream(options.output));
      } catch (err) {
        // A cut stream is a broken archive: leave no file that looks whole.
        await rm(options.output, { force: true });
        throw err;
      }
    });
}
