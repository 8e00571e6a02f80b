/** `berth image prune`: remove dangling (or with -a, unused) images after confirmation. */
import { Command } from 'commander';
import type { CliContext } from '../context.js';
import { write } from '../context.js';
import { humanSize } from '../human.js';
import { confirm } from './confirm.js';
import { collect, parseFilters } from './filters.js';

/** Build the image prune command. */
export function build(ctx: CliContext): Command {
  return new Command()
    .description('Remove unused images')
    .usage('[OPTIONS]')
    .option('-a, --all', 'Remove all unused images, not just dangling ones')
    .option('--filter <filter>', 'Provide filter values (e.g. "until=<timestamp>")', collect, [])
    .option('-f, --force', 'Do not prompt for confirmation')
    .action(async (flags: { all?: boolean; filter: string[]; force?: boolean }) => {
      const filters = parseFilters(flags.filter);
      filters['dangling'] = [flags.all ? 'false' : 'true'];
      const warning = flags.all
        ? 'WARNING! This will remove all images without at least one container associated to them.'
        : 'WARNING! This will remove all dangling images.';
      if (!flags.force && !(await confirm(ctx, `${warning}\nAre you sure you want to continue?`))) return;
      const client = await ctx.client();
      const report = await client.imagePrune(filters);
      let text = '';
      const deleted = report.ImagesDeleted ?? [];
      if (deleted.length > 0) {
        text += 'Deleted Images:\n';
        for (const item of deleted) {
          if (item.Untagged) text += `untagged: ${item.Untagged}\n`;
          if (item.Deleted) text += `deleted: ${item.Deleted}\n`;
        }
        text += '\n';
      }
      text += `Total reclaimed space: ${humanSize(report.SpaceReclaimed ?? 0)}\n`;
      await write(ctx.out, text);
    });
}
