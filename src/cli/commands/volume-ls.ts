/** `berth volume ls`: DRIVER and VOLUME NAME, one row per volume. */
import { Command } from 'commander';
import type { Volume } from '../../api/wire/index.js';
import type { CliContext } from '../context.js';
import { write } from '../context.js';
import { renderList } from '../output.js';
import { collect, parseFilters } from './filters.js';

/** Default `docker volume ls` format. */
export const VOLUMES_FORMAT = 'table {{.Driver}}\t{{.Name}}';
const HEADERS = { Driver: 'DRIVER', Name: 'VOLUME NAME', Scope: 'SCOPE', Mountpoint: 'MOUNTPOINT', Labels: 'LABELS', Links: 'LINKS', Size: 'SIZE' };

/** One row as docker's volume formatter sees it. */
export interface VolumeRow {
  Driver: string;
  Name: string;
  Scope: string;
  Mountpoint: string;
  Labels: string;
  Links: string;
  Size: string;
}

/** The row for one volume (labels as `k=v` joined by commas, as docker prints them). */
export function toVolumeRow(volume: Volume): VolumeRow {
  const labels = Object.entries(volume.Labels ?? {}).map(([k, v]) => `${k}=${v}`).join(',');
  return { Driver: volume.Driver, Name: volume.Name, Scope: volume.Scope, Mountpoint: volume.Mountpoint, Labels: labels, Links: 'N/A', Size: 'N/A' };
}

/** Build the volume ls command. */
export function build(ctx: CliContext): Command {
  return new Command()
    .description('List volumes')
    .usage('[OPTIONS]')
    .option('-f, --filter <filter>', "Provide filter values (e.g. 'dangling=true')", collect, [])
    .option('--format <string>', 'Format output using a custom template')
    .option('-q, --quiet', 'Only display volume names')
    .action(async (flags: { filter: string[]; format?: string; quiet?: boolean }) => {
      const client = await ctx.client();
      const list = await client.volumeList(parseFilters(flags.filter));
      const rows = (list.Volumes ?? []).map(toVolumeRow).sort((a, b) => a.Name.localeCompare(b.Name));
      if (flags.quiet && !flags.format) {
        await write(ctx.out, rows.map((r) => `${r.Name}\n`).join(''));
        return;
      }
      await write(ctx.out, renderList({ rows, format: flags.format, defaultFormat: VOLUMES_FORMAT, headers: HEADERS }));
    });
}
