/**
 * `berth system df [-v] [--format F]`: disk usage by images, containers, local volumes and
 * build cache, computed from `GET /system/df` as docker's formatter computes it.
 */
import { Command } from 'commander';
import type { CliContext } from '../context.js';
import { write } from '../context.js';
import { humanSize, timeAgo } from '../human.js';
import { renderList } from '../output.js';
import { toImageRows } from './images.js';

const SUMMARY_FORMAT = 'table {{.Type}}\t{{.TotalCount}}\t{{.Active}}\t{{.Size}}\t{{.Reclaimable}}';
const SUMMARY_HEADERS = { Type: 'TYPE', TotalCount: 'TOTAL', Active: 'ACTIVE', Size: 'SIZE', Reclaimable: 'RECLAIMABLE' };

/** One row of the summary table. */
export interface DiskUsageRow {
  Type: string;
  TotalCount: string;
  Active: string;
  Size: string;
  Reclaimable: string;
}

// docker's "1.2MB (50%)": the share only when there is a total to take it of.
function reclaimable(bytes: number, totalBytes: number): string {
  return totalBytes > 0 ? `${humanSize(bytes)} (${Math.trunc((bytes * 100) / totalBytes)}%)` : humanSize(bytes);
}

/** Build the system df command. */
export function build(ctx: CliContext): Command {
  return new Command()
    .description('Show docker disk usage')
    .usage('[OPTIONS]')
    .option('--format <string>', 'Format output using a custom template')
    .option('-v, --verbose', 'Show detailed information on space usage')
    .action(async (options: { format?: string; verbose?: boolean }) => {
      const client = await ctx.client();
      const usage = await client.systemDataUsage();
      const images = usage.Images ?? [];
      const containers = usage.Containers ?? [];
      const volumes = usage.Volumes ?? [];
      const cache = usage.BuildCache ?? [];
      const imageUsed = images.filter((i) => i.Containers > 0 && i.SharedSize !== -1).reduce((sum, i) => sum + i.Size - i.SharedSize, 0);
      const containerSize = containers.reduce((sum, c) => sum + (c.SizeRw ?? 0), 0);
      const containerIdle = containers.filter((c) => c.State !== 'running').reduce((sum, c) => sum + (c.SizeRw ?? 0), 0);
      const volumeSize = volumes.reduce((sum, v) => sum + Math.max(0, v.UsageData?.Size ?? 0), 0);
      const volumeIdle = volumes.filter((v) => (v.UsageData?.RefCount ?? 0) === 0).reduce((sum, v) => sum + Math.max(0, v.UsageData?.Size ?? 0), 0);
      const cacheSize = cache.filter((b) => !b.Shared).reduce((sum, b) => sum + b.Size, 0);
      const cacheIdle = cache.filter((b) => !b.Shared && !b.InUse).reduce((sum, b) => sum + b.Size, 0);
      if (!options.verbose) {
        const rows: DiskUsageRow[] = [
          { Type: 'Images', TotalCount: String(images.length), Active: String(images.filter((i) => i.Containers > 0).length), Size: humanSize(usage.LayersSize), Reclaimable: reclaimable(usage.LayersSize - imageUsed, usage.LayersSize) },
          { Type: 'Containers', TotalCount: String(containers.length), Active: String(containers.filter((c) => c.State === 'running').length), Size: humanSize(containerSize), Reclaimable: reclaimable(containerIdle, containerSize) },
          { Type: 'Local Volumes', TotalCount: String(volumes.length), Active: String(volumes.filter((v) => (v.UsageData?.RefCount ?? 0) > 0).length), Size: humanSize(volumeSize), Reclaimable: reclaimable(volumeIdle, volumeSize) },
          { Type: 'Build Cache', TotalCount: String(cache.length), Active: String(cache.filter((b) => b.InUse).length), Size: humanSize(cacheSize), Reclaimable: humanSize(cacheIdle) },
        ];
        await write(ctx.out, renderList({ rows, format: options.format, defaultFormat: SUMMARY_FORMAT, headers: SUMMARY_HEADERS }));
        return;
      }
      const imageRows = images.flatMap((image) => toImageRows(image, { noTrunc: false }));
      let text = 'Images space usage:\n\n';
      text += renderList({
        rows: imageRows,
        defaultFormat: 'table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}\t{{.SharedSize}}\t{{.UniqueSize}}\t{{.Containers}}',
        headers: { Repository: 'REPOSITORY', Tag: 'TAG', ID: 'IMAGE ID', CreatedSince: 'CREATED', Size: 'SIZE', SharedSize: 'SHARED SIZE', UniqueSize: 'UNIQUE SIZE', Containers: 'CONTAINERS' },
      });
      text += '\nContainers space usage:\n\n';
      text += renderList({
        rows: containers.map((c) => ({
          ID: c.Id.slice(0, 12),
          Image: c.Image,
          Command: JSON.stringify(c.Command.length > 20 ? `${c.Command.slice(0, 19)}…` : c.Command),
          LocalVolumes: String((c.Mounts ?? []).filter((m) => m.Type === 'volume').length),
          Size: humanSize(c.SizeRw ?? 0),
          RunningFor: timeAgo(c.Created * 1000),
          Status: c.Status,
          Names: (c.Names ?? []).map((n) => n.replace(/^\//, '')).join(','),
        })),
        defaultFormat: 'table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.LocalVolumes}}\t{{.Size}}\t{{.RunningFor}}\t{{.Status}}\t{{.Names}}',
        headers: { ID: 'CONTAINER ID', Image: 'IMAGE', Command: 'COMMAND', LocalVolumes: 'LOCAL VOLUMES', Size: 'SIZE', RunningFor: 'CREATED', Status: 'STATUS', Names: 'NAMES' },
      });
      text += '\nLocal Volumes space usage:\n\n';
      text += renderList({
        rows: volumes.map((v) => ({ Name: v.Name, Links: String(v.UsageData?.RefCount ?? 0), Size: humanSize(Math.max(0, v.UsageData?.Size ?? 0)) })),
        defaultFormat: 'table {{.Name}}\t{{.Links}}\t{{.Size}}',
        headers: { Name: 'VOLUME NAME', Links: 'LINKS', Size: 'SIZE' },
      });
      text += `\nBuild cache usage: ${humanSize(cacheSize)}\n\n`;
      text += renderList({ rows: [], defaultFormat: 'table {{.ID}}\t{{.CacheType}}\t{{.Size}}\t{{.CreatedSince}}\t{{.LastUsedSince}}\t{{.UsageCount}}\t{{.Shared}}', headers: { ID: 'CACHE ID', CacheType: 'CACHE TYPE', Size: 'SIZE', CreatedSince: 'CREATED', LastUsedSince: 'LAST USED', UsageCount: 'USAGE', Shared: 'SHARED' } });
      await write(ctx.out, text);
    });
}
