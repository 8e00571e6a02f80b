/** `berth ps` / `container ls`: docker's table, -a, -q, -n, -l, -s, --no-trunc, --filter, --format. */
import { Command } from 'commander';
import type { CliContext } from '../context.js';
import { write } from '../context.js';
import { PS_FORMAT, PS_HEADERS, toPsRow } from '../container-fields.js';
import { UsageError } from '../exit.js';
import { renderList } from '../output.js';
import { collect, parseFilters } from './filters.js';

/** Build the ps command. */
export function build(ctx: CliContext): Command {
  return new Command()
    .description('List containers')
    .usage('[OPTIONS]')
    .option('-a, --all', 'Show all containers (default shows just running)')
    .option('-f, --filter <filter>', 'Filter output based on conditions provided', collect, [])
    .option('--format <string>', 'Format output using a custom template')
    .option('-n, --last <int>', 'Show n last created containers (includes all states)', '-1')
    .option('-l, --latest', 'Show the latest created container (includes all states)')
    .option('--no-trunc', "Don't truncate output")
    .option('-q, --quiet', 'Only display container IDs')
    .option('-s, --size', 'Display total file sizes')
    .action(async (flags: { all?: boolean; filter: string[]; format?: string; last: string; latest?: boolean; trunc: boolean; quiet?: boolean; size?: boolean }) => {
      if (!/^-?\d+$/.test(flags.last)) throw new UsageError(`invalid argument "${flags.last}" for "-n, --last" flag: strconv.ParseInt: parsing "${flags.last}": invalid syntax`);
      const filters = parseFilters(flags.filter);
      const limit = flags.latest ? 1 : Number(flags.last);
      const client = await ctx.client();
      const containers = await client.containerList({ all: Boolean(flags.all) || limit > 0, limit, size: Boolean(flags.size), filters });
      const noTrunc = !flags.trunc;
      const rows = containers.map((c) => toPsRow(c, { noTrunc }));
      if (flags.quiet && !flags.format) {
        await write(ctx.out, rows.map((r) => `${r.ID}\n`).join(''));
        return;
      }
      const defaultFormat = flags.size ? `${PS_FORMAT}\t{{.Size}}` : PS_FORMAT;
      await write(ctx.out, renderList({ rows, format: flags.format, defaultFormat, headers: PS_HEADERS }));
    });
}
