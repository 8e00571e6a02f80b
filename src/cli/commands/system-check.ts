/**
 * `berth system check [--format json]`: asks berthd what interrupted operations left behind
 * (records it cannot read, directories without a record, mounts, conmon directories and cgroups
 * of containers that do not run, frozen containers nobody paused, endpoints without a running
 * container, images missing a blob). One line per problem; exit 1 when there is any. Berth's own:
 * docker has no such command.
 */
import { Command } from 'commander';
import type { CliContext } from '../context.js';
import { write } from '../context.js';
import { StatusError } from '../exit.js';

interface SystemCheckReport {
  containersChecked: number;
  imagesChecked: number;
  problems: { kind: string; subject: string; detail: string }[];
}

/** Build the system check command. */
export function build(ctx: CliContext): Command {
  return new Command()
    .description('Check the store and the host for what interrupted operations left behind')
    .usage('[OPTIONS]')
    .option('--format <string>', "'json' prints the report as JSON")
    .action(async (options: { format?: string }) => {
      if (options.format !== undefined && options.format !== 'json') throw new StatusError(125, `unknown format ${JSON.stringify(options.format)}: only json is supported`);
      const client = await ctx.client();
      const report = await client.json<SystemCheckReport>('GET', '/system/check');
      if (options.format === 'json') {
        await write(ctx.out, `${JSON.stringify(report)}\n`);
      } else {
        const lines = report.problems.map((problem) => `${problem.kind}\t${problem.subject.slice(0, 12)}\t${problem.detail}\n`);
        await write(ctx.out, lines.join('') + `checked ${report.containersChecked} containers and ${report.imagesChecked} images: ${report.problems.length === 0 ? 'no problems' : `${report.problems.length} problems`}\n`);
      }
      if (report.problems.length > 0) throw new StatusError(1);
    });
}
