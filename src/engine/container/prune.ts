/** `docker container prune`: remove every stopped container the filters match, and say how much space that freed. */
import { stat } from 'node:fs/promises';
import { InvalidArgumentError, messageOf } from '../../common/index.js';
import { runCommand } from '../../sys/index.js';
import { isRunningStatus } from '../container.js';
import type { ContainerContext } from './context.js';
import { matchesLabelFilters } from './list.js';
import { remove } from './remove.js';

/** Remove every stopped container matching the filters (`until`, `label`). */
export async function prune(ctx: ContainerContext, filters: Record<string, string[]>): Promise<{ deleted: string[]; spaceReclaimedBytes: number }> {
  const deleted: string[] = [];
  let space = 0;
  for (const record of ctx.store.all()) {
    if (isRunningStatus(record.state.status)) continue;
    if (!matchesLabelFilters(record.settings.labels, filters['label'] ?? [])) continue;
    const until = filters['until']?.[0];
    if (until !== undefined && Date.parse(record.created) >= parseUntil(until)) continue;
    space += await directorySize(ctx.pathsOf(record.id).upper);
    await remove(ctx, record.id, { force: false, removeVolumes: false }).then(
      () => deleted.push(record.id),
      (err: unknown) => ctx.options.logger.warn('prune: remove failed', { id: record.id, error: messageOf(err) }),
    );
  }
  return { deleted, spaceReclaimedBytes: space };
}

function parseUntil(value: string): number {
  if (/^\d+(\.\d+)?$/.test(value)) return Number(value) * 1000;
  const parsed = Date.parse(value);
  if (!Number.isNaN(parsed)) return parsed;
  const match = /^(\d+)([smh])$/.exec(value);
  if (match) return Date.now() - Number(match[1]) * { s: 1000, m: 60_000, h: 3_600_000 }[match[2] as 's' | 'm' | 'h'];
  throw new InvalidArgumentError(`invalid filter 'until=${value}'`);
}

async function directorySize(dir: string): Promise<number> {
  const result = await runCommand('du', ['-sb', dir]);
  const bytes = Number(result.stdout.split(/\s/)[0]);
  if (Number.isFinite(bytes)) return bytes;
  try {
    return (await stat(dir)).size;
  } catch {
    return 0;
  }
}
