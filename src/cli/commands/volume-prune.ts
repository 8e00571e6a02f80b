/** `berth volume prune`: remove unused (anonymous, or with -a all) local volumes after confirmation. */
import { Command } from 'commander';
import type { CliContext } from '../context.js';
import { write } from '../context.js';
import { humanSize } from '../human.js';
import { confirm } from './confirm.js';
import { collect, parseFilters } from './filters.js';

/** Build the volume prune command. */
export function build(ctx: CliContext): Command {
  return new Command()
    .description('Remove unused local volumes')
    .usage('[OPTIONS]')
    .option('-a, --all', 'Remove all unused volumes, not just anonymous ones')
    .option('--filter <filter>', "Provide filter values (e.g. 'label=<label>')", collect, [])
    .option('-f, --force', 'Do not prompt for confirmation')
    .action(async (flags: { all?: boolean; filter: string[]; force?: boolean }) => {
      const filters = parseFilters(flags.filter);
      if (flags.all) filters['all'] = ['true'];
      const warning = flags.all
        ? 'WARNING! This will remove all local volumes not used by at least one container.'
        : 'WARNING! This will remove anonymous local volumes not used by at least one container.';
      if (!flags.force && !(await confirm(ctx, `${warning}\nAre you sure you want to continue?`))) return;
      const client = await ctx.client();
      const report = await client.volumePrune(filters);
      let text = '';
      const deleted = report.VolumesDeleted ?? [];
      if (deleted.length > 0) text += `Deleted Volumes:\n${deleted.map((n) => `${n}\n`).join('')}\n`;
      text += `Total reclaimed space: ${humanSize(report.SpaceReclaimed ?? 0)}\n`;
      await write(ctx.out, text);
    });
}
