/** `berth network inspect`: the networks as a JSON array (or one `--format` line each); a missing one is reported as the daemon's error, as docker does. */
import { Command } from 'commander';
import type { Network } from '../../api/wire/index.js';
import type { CliContext } from '../context.js';
import { write } from '../context.js';
import { StatusError } from '../exit.js';
import { goJson, parseFormat, renderTemplate } from '../template.js';

/** Build the network inspect command. */
export function build(ctx: CliContext): Command {
  return new Command()
    .description('Display detailed information on one or more networks')
    .usage('[OPTIONS] NETWORK [NETWORK...]')
    .argument('<networks...>')
    .option('-f, --format <string>', 'Format output using a custom template')
    .option('-v, --verbose', 'Verbose output for diagnostics')
    .action(async (refs: string[], flags: { format?: string }) => {
      const client = await ctx.client();
      const { ApiError } = await import('../../client/index.js');
      const found: Network[] = [];
      const errors: string[] = [];
      for (const ref of refs) {
        try {
          found.push(await client.networkInspect(ref));
        } catch (err) {
          if (!(err instanceof ApiError && err.status === 404)) throw err;
          errors.push(`Error response from daemon: ${err.message}`);
        }
      }
      if (flags.format && flags.format !== 'json') {
        const { template } = parseFormat(flags.format);
        await write(ctx.out, found.map((n) => renderTemplate(template, n) + '\n').join(''));
      } else {
        await write(ctx.out, goJson(found, '    ') + '\n');
      }
      if (errors.length > 0) throw new StatusError(1, errors.join('\n'));
    });
}
