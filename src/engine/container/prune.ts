/** `docker container prune`: remove every stopped container the filters match, and say how much space that freed. */
import { messageOf, parseTimestampMs } from '../../common/index.js';
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
    if (until !== undefined && Date.parse(record.created) >= parseTimestampMs(until)) continue;
    space += await ctx.options.hostTools.diskUsageBytes(ctx.pathsOf(record.id).upper);
    await remove(ctx, record.id, { force: false, removeVolumes: false }).then(
      () => deleted.push(record.id),
      (err: unknown) => ctx.options.logger.warn('prune: remove failed', { id: record.id, error: messageOf(err) }),
    );
  }
  return { deleted, spaceReclaimedBytes: space };
}
