/** `berth events`: the daemon's events as they happen, or between `--since` and `--until`. */
import { Command } from 'commander';
import type { EventMessage } from '../../api/wire/index.js';
import { parseDurationMs } from '../../common/index.js';
import type { CliContext } from '../context.js';
import { write } from '../context.js';
import { UsageError } from '../exit.js';
import { parseFormat, renderTemplate } from '../template.js';
import { collect, parseFilters } from './filters.js';

/**
 * docker's client-side time conversion: a duration (`10m`) is that long before now, `now` is
 * now, a unix time or RFC 3339 date is sent as unix seconds.
 */
export function toEventTimestamp(value: string | undefined, nowMs = Date.now()): string | undefined {
  if (value === undefined || value === '') return undefined;
  const seconds = (ms: number): string => (ms / 1000).toFixed(9);
  if (value === 'now') return seconds(nowMs);
  if (/^\d+(\.\d+)?$/.test(value)) return value;
  try {
    return seconds(nowMs - parseDurationMs(value));
  } catch {
    // Not a duration: try a date.
  }
  const parsed = Date.parse(value);
  if (Number.isNaN(parsed)) throw new UsageError(`failed to parse value as time or duration: "${value}"`);
  return seconds(parsed);
}

/** docker's default line: `<time> <type> <action> <id> (k=v, ...)`. */
export function formatEventLine(event: EventMessage): string {
  const nanos = BigInt(event.timeNano);
  const date = new Date(Number(nanos / 1_000_000n)).toISOString().slice(0, 19);
  const fraction = (nanos % 1_000_000_000n).toString().padStart(9, '0');
  const attributes = Object.entries(event.Actor.Attributes ?? {})
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([key, value]) => `${key}=${value}`);
  const suffix = attributes.length > 0 ? ` (${attributes.join(', ')})` : '';
  return `${date}.${fraction}Z ${event.Type} ${event.Action} ${event.Actor.ID}${suffix}`;
}

/** Build the events command. */
export function build(ctx: CliContext): Command {
  return new Command()
    .description('Get real time events from the server')
    .usage('[OPTIONS]')
    .option('-f, --filter <filter>', 'Filter output based on conditions provided', collect, [])
    .option('--format <string>', "Format output using a custom template: 'json' or a Go template")
    .option('--since <string>', 'Show all events created since timestamp')
    .option('--until <string>', 'Stream events until this timestamp')
    .action(async (flags: { filter: string[]; format?: string; since?: string; until?: string }) => {
      const since = toEventTimestamp(flags.since);
      const until = toEventTimestamp(flags.until);
      const filters = parseFilters(flags.filter);
      const template = flags.format === undefined ? undefined : parseFormat(flags.format === 'json' ? '{{json .}}' : flags.format).template;
      const client = await ctx.client();
      for await (const event of client.events({ ...(since ? { since } : {}), ...(until ? { until } : {}), filters })) {
        await write(ctx.out, (template === undefined ? formatEventLine(event) : renderTemplate(template, event)) + '\n');
      }
    });
}
