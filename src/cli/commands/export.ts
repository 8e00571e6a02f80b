/** `berth export [-o FILE] CONTAINER`: the container's filesystem as a tar, to stdout or a file. */
import { createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { Command } from 'commander';
import type { CliContext } from '../context.js';
import { BerthError } from '../../common/index.js';

/** Build the export command. */
export function build(ctx: CliContext): Command {
  return new Command()
    .description("Export a container's filesystem as a tar archive")
    .usage('[OPTIONS] CONTAINER')
    .option('-o, --output <file>', 'Write to a file, instead of STDOUT')
    .argument('<container>')
    .action(async (ref: string, options: { output?: string }) => {
      const toTerminal = options.output === undefined && (ctx.out as NodeJS.WriteStream).isTTY === true;
      if (toTerminal) throw new BerthError('invalid-argument', 'BERTH_CLI_USAGE', 'cowardly refusing to save to a terminal. Use the -o flag or redirect');
      const client = await ctx.client();
      const body = await client.containerExport(ref);
      // pipeline ends the file; stdout must stay open for the exit path.
      if (options.output !== undefined) await pipeline(body, createWriteStream(options.output));
      else await pipeline(body, ctx.out, { end: false });
    });
}
