/**
 * `berth pull`, and the pull `run`/`create` do: follow the JSON progress stream, print
 * docker's status lines (without live progress bars), fail on an in-band error.
 */
import type { Writable } from 'node:stream';
import { Command } from 'commander';
import type { CliContext } from '../context.js';
import { write } from '../context.js';
import { StatusError } from '../exit.js';
import { splitImageRef } from '../run-options.js';

/** Pull `image`, writing status lines to `out`; throws with the daemon's message on failure. */
export async function pullImage(ctx: CliContext, image: string, options: { out: Writable; platform?: string | undefined; quiet?: boolean }): Promise<void> {
  const client = await ctx.client();
  const ref = splitImageRef(image);
  for await (const message of client.imagePull(ref.name, ref.tag, options.platform ? { platform: options.platform } : {})) {
    if (message.errorDetail || message.error) {
      throw new StatusError(1, `Error response from daemon: ${message.errorDetail?.message ?? message.error}`);
    }
    if (options.quiet || !message.status) continue;
    // Byte counters repeat many times a second; docker shows them only as a live bar on a tty.
    if (message.progressDetail && (message.progressDetail.current !== undefined || message.progressDetail.total !== undefined)) continue;
    await write(options.out, message.id ? `${message.id}: ${message.status}\n` : `${message.status}\n`);
  }
}

/** Build the pull command. */
export function build(ctx: CliContext): Command {
  return new Command()
    .description('Download an image from a registry')
    .usage('[OPTIONS] NAME[:TAG|@DIGEST]')
    .argument('<name>')
    .option('-q, --quiet', 'Suppress verbose output')
    .option('--platform <string>', 'Set platform if server is multi-platform capable')
    .action(async (name: string, flags: { quiet?: boolean; platform?: string }) => {
      await pullImage(ctx, name, { out: ctx.out, platform: flags.platform, quiet: Boolean(flags.quiet) });
      if (!flags.quiet) return;
      await write(ctx.out, `${splitImageRef(name).display}\n`);
    });
}
