/** `berth network prune`: remove every custom network no container uses, after confirmation. */
import { Command } from 'commander';
import type { CliContext } from '../context.js';
import { write } from '../context.js';
import { confirm } from './confirm.js';
import { collect, parseFilters } from './filters.js';

/** Build the network prune command. */
export function build(ctx: CliContext): Command {
  return new Command()
    .description('Remove all unused networks')
    .usage('[OPTIONS]')
    .option('--filter <filter>', "Provide filter values (e.g. 'until=<timestamp>')", collect, [])
    .option('-f, --force', 'Do not prompt for confirmation')
    .action(async (flags: { filter: string[]; force?: boolean }) => {
      const filters = parseFilters(flags.filter);
      const warning = 'WARNING! This will remove all custom networks not used by at least one container.';
      if (!flags.force && !(await confirm(ctx, `${warning}\nAre you sure you want to continue?`))) return;
      const client = await ctx.client();
      const report = await client.networkPrune(filters);
      const deleted = report.NetworksDeleted ?? [];
      if (deleted.length > 0) await write(ctx.out, `Deleted Networks:\n${deleted.map((n) => `${n}\n`).join('')}\n`);
    });
}
