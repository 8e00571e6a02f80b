/** `berth container prune`: remove stopped containers after confirmation. */
import { Command } from 'commander';
import type { CliContext } from '../context.js';
import { write } from '../context.js';
import { humanSize } from '../human.js';
import { confirm } from './confirm.js';
import { collect, parseFilters } from './filters.js';

/** Build the container prune command. */
export function build(ctx: CliContext): Command {
  return new Command()
    .description('Remove all stopped containers')
    .usage('[OPTIONS]')
    .option('--filter <filter>', 'Provide filter values (e.g. "until=<timestamp>")', collect, [])
    .option('-f, --force', 'Do not prompt for confirmation')
    .action(async (flags: { filter: string[]; force?: boolean }) => {
      const filters = parseFilters(flags.filter);
      if (!flags.force && !(await confirm(ctx, 'WARNING! This will remove all stopped containers.\nAre you sure you want to continue?'))) return;
      const client = await ctx.client();
      const report = await client.containerPrune(filters);
      let text = '';
      const deleted = report.ContainersDeleted ?? [];
      if (deleted.length > 0) text += `Deleted Containers:\n${deleted.map((id) => `${id}\n`).join('')}\n`;
      text += `Total reclaimed space: ${humanSize(report.SpaceReclaimed ?? 0)}\n`;
      await write(ctx.out, text);
    });
}
