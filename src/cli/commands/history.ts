/** `berth history` / `image history`: IMAGE CREATED CREATED BY SIZE COMMENT. */
import { Command } from 'commander';
import type { CliContext } from '../context.js';
import { write } from '../context.js';
import { goTimeString } from '../container-fields.js';
import { ellipsis, humanSize, timeAgo } from '../human.js';
import { renderList } from '../output.js';

const FORMAT = 'table {{.ID}}\t{{.CreatedSince}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}';
const HEADERS = { ID: 'IMAGE', CreatedSince: 'CREATED', CreatedAt: 'CREATED AT', CreatedBy: 'CREATED BY', Size: 'SIZE', Comment: 'COMMENT' };

/** Build the history command. */
export function build(ctx: CliContext): Command {
  return new Command()
    .description('Show the history of an image')
    .usage('[OPTIONS] IMAGE')
    .argument('<image>')
    .option('--format <string>', 'Format output using a custom template')
    .option('-H, --human [bool]', 'Print sizes and dates in human readable format', 'true')
    .option('--no-trunc', "Don't truncate output")
    .option('-q, --quiet', 'Only show image IDs')
    .action(async (image: string, flags: { format?: string; human: string | boolean; trunc: boolean; quiet?: boolean }) => {
      const client = await ctx.client();
      const items = await client.imageHistory(image);
      const human = flags.human !== 'false' && flags.human !== false;
      const rows = items.map((item) => ({
        ID: item.Id === '<missing>' || flags.trunc === false ? item.Id : item.Id.replace(/^sha256:/, '').slice(0, 12),
        CreatedSince: human ? timeAgo(item.Created * 1000) : goTimeString(item.Created),
        CreatedAt: goTimeString(item.Created),
        CreatedBy: flags.trunc ? ellipsis(item.CreatedBy.replace(/\t/g, ' '), 45) : item.CreatedBy,
        Size: human ? humanSize(item.Size) : String(item.Size),
        Comment: item.Comment,
      }));
      if (flags.quiet && !flags.format) {
        await write(ctx.out, rows.map((r) => `${r.ID}\n`).join(''));
        return;
      }
      await write(ctx.out, renderList({ rows, format: flags.format, defaultFormat: FORMAT, headers: HEADERS }));
    });
}
