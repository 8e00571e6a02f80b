/**
 * `berth stats`: live resource usage of containers, computed from the API's stats objects as
 * the docker CLI computes it (CPU % from the cpu/precpu deltas, memory without the inactive
 * file cache). Without arguments it follows containers as they start and stop.
 */
import { Command } from 'commander';
import type { ContainerStatsResponse } from '../../api/wire/index.js';
import type { EngineClient } from '../../client/index.js';
import type { CliContext } from '../context.js';
import { write } from '../context.js';
import { humanSize } from '../human.js';
import { renderList } from '../output.js';

/** One row of the stats table, with docker's field names for `--format`. */
export interface StatsRow {
  ID: string;
  Container: string;
  Name: string;
  CPUPerc: string;
  MemUsage: string;
  MemPerc: string;
  NetIO: string;
  BlockIO: string;
  PIDs: string;
}

const DEFAULT_FORMAT = 'table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t{{.BlockIO}}\t{{.PIDs}}';
const HEADERS = { ID: 'CONTAINER ID', Container: 'CONTAINER', Name: 'NAME', CPUPerc: 'CPU %', MemUsage: 'MEM USAGE / LIMIT', MemPerc: 'MEM %', NetIO: 'NET I/O', BlockIO: 'BLOCK I/O', PIDs: 'PIDS' };
const BINARY_UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];

/** go-units BytesSize: binary units, 4 significant digits (`396KiB`, `7.637GiB`). */
export function bytesSize(bytes: number): string {
  let size = bytes;
  let unit = 0;
  while (size >= 1024 && unit < BINARY_UNITS.length - 1) {
    size /= 1024;
    unit++;
  }
  const text = size.toPrecision(4);
  return `${text.includes('.') ? text.replace(/\.?0+$/, '') : text}${BINARY_UNITS[unit]}`;
}

/** The docker CLI's arithmetic over one stats object; `label` is what the user named the container by. */
export function toStatsRow(stats: ContainerStatsResponse, label: string): StatsRow {
  const cpu = stats.cpu_stats;
  const pre = stats.precpu_stats;
  const cpuDelta = cpu.cpu_usage.total_usage - pre.cpu_usage.total_usage;
  const systemDelta = (cpu.system_cpu_usage ?? 0) - (pre.system_cpu_usage ?? 0);
  const online = cpu.online_cpus || cpu.cpu_usage.percpu_usage?.length || 0;
  const cpuPercent = systemDelta > 0 && cpuDelta > 0 ? (cpuDelta / systemDelta) * online * 100 : 0;
  const memory = stats.memory_stats;
  const usage = memory.usage ?? 0;
  // v1 reports total_inactive_file, v2 inactive_file: that cache is not counted as used.
  const inactive = memory.stats?.['total_inactive_file'] ?? memory.stats?.['inactive_file'] ?? 0;
  const used = inactive < usage ? usage - inactive : usage;
  const limit = memory.limit ?? 0;
  let rx = 0;
  let tx = 0;
  for (const net of Object.values(stats.networks ?? {})) {
    rx += net.rx_bytes;
    tx += net.tx_bytes;
  }
  let read = 0;
  let written = 0;
  for (const entry of stats.blkio_stats.io_service_bytes_recursive ?? []) {
    if (entry.op.toLowerCase() === 'read') read += entry.value;
    if (entry.op.toLowerCase() === 'write') written += entry.value;
  }
  const isEmpty = stats.read === '0001-01-01T00:00:00Z';
  return {
    ID: stats.id.slice(0, 12),
    Container: label,
    Name: stats.name.replace(/^\//, ''),
    CPUPerc: isEmpty ? '--' : `${cpuPercent.toFixed(2)}%`,
    MemUsage: isEmpty ? '-- / --' : `${bytesSize(used)} / ${bytesSize(limit)}`,
    MemPerc: isEmpty ? '--' : `${(limit > 0 ? (used / limit) * 100 : 0).toFixed(2)}%`,
    NetIO: isEmpty ? '--' : `${humanSize(rx)} / ${humanSize(tx)}`,
    BlockIO: isEmpty ? '--' : `${humanSize(read)} / ${humanSize(written)}`,
    PIDs: isEmpty ? '--' : String(stats.pids_stats.current ?? 0),
  };
}

interface StatsFlags {
  all?: boolean;
  noStream?: boolean;
  format?: string;
}

/** Build the stats command. */
export function build(ctx: CliContext): Command {
  return new Command()
    .description('Display a live stream of container(s) resource usage statistics')
    .usage('[OPTIONS] [CONTAINER...]')
    .argument('[containers...]')
    .option('-a, --all', 'Show all containers (default shows just running)')
    .option('--no-stream', 'Disable streaming stats and only pull the first result')
    .option('--format <string>', "Format output using a custom template: 'table', 'json' or a Go template")
    .action(async (refs: string[], flags: StatsFlags) => {
      const client = await ctx.client();
      // commander turns --no-stream into stream: false.
      const isStream = (flags as { stream?: boolean }).stream !== false;
      const render = (rows: StatsRow[]): string => renderList({ rows, format: flags.format, defaultFormat: DEFAULT_FORMAT, headers: HEADERS });
      const follow = refs.length === 0;
      const targets = follow ? (await client.containerList({ all: Boolean(flags.all) })).map((c) => c.Id) : refs;
      if (!isStream) {
        const rows: StatsRow[] = [];
        for (const ref of targets) {
          for await (const stats of client.containerStats(ref, { stream: false })) rows.push(toStatsRow(stats, ref));
        }
        await write(ctx.out, render(rows));
        return;
      }
      await streamStats(ctx, client, targets, { follow, all: Boolean(flags.all), render });
    });
}

/** Redraw the table every second; with `follow`, add started containers and drop those that die (unless `all`). */
async function streamStats(ctx: CliContext, client: EngineClient, refs: string[], options: { follow: boolean; all: boolean; render: (rows: StatsRow[]) => string }): Promise<void> {
  const latest = new Map<string, StatsRow>();
  const controllers = new Map<string, AbortController>();
  const add = (ref: string): void => {
    if (controllers.has(ref)) return;
    const controller = new AbortController();
    controllers.set(ref, controller);
    void (async () => {
      try {
        for await (const stats of client.containerStats(ref, { stream: true, signal: controller.signal })) latest.set(ref, toStatsRow(stats, ref));
      } catch {
        // The container went away; its row goes with it.
      }
      latest.delete(ref);
      controllers.delete(ref);
    })();
  };
  const remove = (ref: string): void => {
    controllers.get(ref)?.abort();
    latest.delete(ref);
  };
  for (const ref of refs) add(ref);
  const quit = new AbortController();
  if (options.follow) {
    void (async () => {
      for await (const event of client.events({ filters: { type: ['container'] }, signal: quit.signal })) {
        const id = event.Actor.ID;
        if (event.Action === 'start' || (event.Action === 'create' && options.all)) add(id);
        else if ((event.Action === 'die' && !options.all) || event.Action === 'destroy') remove(id);
      }
    })().catch(() => {});
  }
  const stop = new Promise<void>((resolve) => process.once('SIGINT', () => resolve()));
  for (;;) {
    const tick = new Promise<'tick'>((resolve) => setTimeout(() => resolve('tick'), 1000));
    if ((await Promise.race([tick, stop.then(() => 'stop' as const)])) === 'stop') break;
    // docker clears the screen and redraws the whole table.
    await write(ctx.out, '\u001b[2J\u001b[H' + options.render([...latest.values()]));
    if (!options.follow && controllers.size === 0) break;
  }
  quit.abort();
  for (const controller of controllers.values()) controller.abort();
}
