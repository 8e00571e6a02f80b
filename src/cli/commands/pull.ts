/**
 * `berth pull`, and the pull `run`/`create` do: follow the JSON progress stream as docker
 * renders it (live bars on a terminal, plain status lines otherwise), with the credentials
 * `berth login` stored for the image's registry; fail on an in-band error.
 */
import type { Writable } from 'node:stream';
import { Command } from 'commander';
import type { CliContext } from '../context.js';
import { write } from '../context.js';
import { registryAuthFor, registryKeyOf, DEFAULT_REGISTRY_KEY } from '../credentials.js';
import { StatusError } from '../exit.js';
import { displayJsonMessages, terminalOf } from '../progress-display.js';
import { splitImageRef } from '../run-options.js';

/** Pull `image`, rendering progress to `out`; throws with the daemon's message on failure. */
export async function pullImage(ctx: CliContext, image: string, options: { out: Writable; platform?: string | undefined; quiet?: boolean }): Promise<void> {
  const client = await ctx.client();
  const ref = splitImageRef(image);
  const registryAuth = await registryAuthFor(ctx.env, ref.name);
  const messages = client.imagePull(ref.name, ref.tag, { ...(options.platform ? { platform: options.platform } : {}), ...(registryAuth !== undefined ? { registryAuth } : {}) });
  if (options.quiet) {
    for await (const message of messages) {
      if (message.errorDetail || message.error) throw new StatusError(1, `Error response from daemon: ${message.errorDetail?.message ?? message.error}`);
    }
    return;
  }
  try {
    await displayJsonMessages(messages, options.out, terminalOf(options.out));
  } catch (err) {
    if (err instanceof StatusError) throw new StatusError(1, `Error response from daemon: ${err.message}`);
    throw err;
  }
}

/** The fully qualified reference docker prints after a pull (`docker.io/library/busybox:latest`). */
export function qualifiedReference(display: string): string {
  if (registryKeyOf(display) !== DEFAULT_REGISTRY_KEY) return display;
  const path = display.startsWith('docker.io/') ? display.slice('docker.io/'.length) : display;
  return `docker.io/${path.includes('/') ? path : `library/${path}`}`;
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
      const ref = splitImageRef(name);
      if (!flags.quiet && ref.display !== name) await write(ctx.out, 'Using default tag: latest\n');
      await pullImage(ctx, name, { out: ctx.out, platform: flags.platform, quiet: Boolean(flags.quiet) });
      await write(ctx.out, `${qualifiedReference(ref.display)}\n`);
    });
}
