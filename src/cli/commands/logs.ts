/** `berth logs`: the container's log, demultiplexed unless it has a tty. */
import { Command } from 'commander';
import type { CliContext } from '../context.js';

/** Build the logs command. */
export function build(ctx: CliContext): Command {
  return new Command()
    .description('Fetch the logs of a container')
    .usage('[OPTIONS] CONTAINER')
    .argument('<container>')
    .option('--details', 'Show extra details provided to logs')
    .option('-f, --follow', 'Follow log output')
    .option('--since <string>', 'Show logs since timestamp (e.g. "2013-01-02T13:23:37Z") or relative (e.g. "42m" for 42 minutes)')
    .option('-n, --tail <string>', 'Number of lines to show from the end of the logs', 'all')
    .option('-t, --timestamps', 'Show timestamps')
    .option('--until <string>', 'Show logs before a timestamp or relative')
    .action(async (ref: string, flags: { details?: boolean; follow?: boolean; since?: string; tail: string; timestamps?: boolean; until?: string }) => {
      const client = await ctx.client();
      const { demuxStream } = await import('../../client/index.js');
      const info = await client.containerInspect(ref);
      const body = await client.containerLogs(ref, {
        follow: Boolean(flags.follow),
        timestamps: Boolean(flags.timestamps),
        details: Boolean(flags.details),
        tail: flags.tail,
        ...(flags.since ? { since: flags.since } : {}),
        ...(flags.until ? { until: flags.until } : {}),
      });
      if (info.Config.Tty) {
        for await (const chunk of body) ctx.out.write(chunk as Buffer);
      } else {
        await demuxStream(body, { stdout: ctx.out, stderr: ctx.err });
      }
    });
}
