/** `berth load [-i FILE] [-q]`: load images from a docker archive or OCI layout tar (stdin by default). */
import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { Command } from 'commander';
import type { CliContext } from '../context.js';
import { StatusError } from '../exit.js';
import { displayJsonMessages, terminalOf } from '../progress-display.js';

/** Build the load command. */
export function build(ctx: CliContext): Command {
  return new Command()
    .description('Load an image from a tar archive or STDIN')
    .usage('[OPTIONS]')
    .option('-i, --input <file>', 'Read from tar archive file, instead of STDIN')
    .option('-q, --quiet', 'Suppress the load output')
    .action(async (options: { input?: string; quiet?: boolean }) => {
      let source: Readable;
      if (options.input !== undefined) {
        source = createReadStream(options.input);
        // Open the file before any request, so a wrong path is the CLI's own one-line error.
        await new Promise<void>((resolve, reject) => {
          source.once('open', () => resolve());
          source.once('error', (err) => reject(new StatusError(1, `open ${options.input}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or directory' : err.message}`)));
        });
      } else {
        if (process.stdin.isTTY) throw new StatusError(1, 'requested load from stdin, but stdin is empty');
        source = process.stdin;
      }
      const client = await ctx.client();
      await displayJsonMessages(client.imageLoad(source, { quiet: Boolean(options.quiet) }), ctx.out, terminalOf(ctx.out));
    });
}
