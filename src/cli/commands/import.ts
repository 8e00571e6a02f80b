/**
 * `berth import [-c CHANGE]... [-m MESSAGE] [--platform P] FILE|- [REPOSITORY[:TAG]]`: a root
 * filesystem tar (plain or gzip) becomes a one-layer image; prints its id.
 */
import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { Command } from 'commander';
import type { CliContext } from '../context.js';
import { StatusError } from '../exit.js';
import { displayJsonMessages, terminalOf } from '../progress-display.js';
import { splitImageRef } from '../run-options.js';

/** Build the import command. */
export function build(ctx: CliContext): Command {
  return new Command()
    .description('Import the contents from a tarball to create a filesystem image')
    .usage('[OPTIONS] file|URL|- [REPOSITORY[:TAG]]')
    .option('-c, --change <instruction>', 'Apply Dockerfile instruction to the created image', (value: string, all: string[]) => [...all, value], [] as string[])
    .option('-m, --message <string>', 'Set commit message for imported image')
    .option('--platform <string>', 'Set platform if server is multi-platform capable')
    .argument('<file>')
    .argument('[reference]')
    .action(async (file: string, reference: string | undefined, options: { change: string[]; message?: string; platform?: string }) => {
      if (/^https?:\/\//.test(file)) throw new StatusError(1, `importing from a URL is not supported: ${file}; download it and import the file`);
      let source: Readable;
      if (file === '-') {
        source = process.stdin;
      } else {
        source = createReadStream(file);
        await new Promise<void>((resolve, reject) => {
          source.once('open', () => resolve());
          source.once('error', (err) => reject(new StatusError(1, `open ${file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or directory' : err.message}`)));
        });
      }
      // docker sends the reference as given: a name without a tag stays untagged-latest on the daemon's side.
      const target = reference !== undefined && reference !== '' ? splitImageRef(reference) : undefined;
      const client = await ctx.client();
      const messages = client.imageImport(source, {
        ...(target ? { repo: target.name, tag: target.tag } : {}),
        ...(options.message !== undefined ? { message: options.message } : {}),
        ...(options.platform !== undefined ? { platform: options.platform } : {}),
        changes: options.change,
      });
      try {
        await displayJsonMessages(messages, ctx.out, terminalOf(ctx.out));
      } catch (err) {
        if (err instanceof StatusError) throw new StatusError(1, `Error response from daemon: ${err.message}`);
        throw err;
      }
      if (file === '-') process.stdin.destroy();
    });
}
