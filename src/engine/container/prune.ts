/** `docker container prune`: remove every stopped container the filters match, and say how much space that freed. */
import { checkFilterKeys, labelsMatch, messageOf, timeFilterMs, type Filters } from '../../common/index.js';
import { isRunningStatus } from '../container.js';
import type { ContainerContext } from './context.js';
import { remove } from './remove.js';

/** Remove every stopped container matching the filters (`until`, `label`, `label!`), all checked first. */
export async function prune(ctx: ContainerContext, filters: Filters): Promise<{ deleted: string[]; spaceReclaimedBytes: number }> {
  checkFilterKeys(filters, ['until', 'label', 'label!']);
  const untilMs = timeFilterMs(filters, 'until');
  const deleted: string[] = [];
  let space = 0;
  for (const record of ctx.store.all()) {
    if (isRunningStatus(record.state.status)) continue;
    if (!labelsMatch(record.settings.labels, filters)) continue;
    if (untilMs !== undefined && Date.parse(record.created) >= untilMs) continue;
    space += await ctx.options.hostTools.diskUsageBytes(ctx.pathsOf(record.id).upper);
    await remove(ctx, record.id, { force: false, removeVolumes: false }).then(
      () => deleted.push(record.id),
      (err: unknown) => ctx.options.logger.warn('prune: remove failed', { id: record.id, error: messageOf(err) }),
    );
  }
  return { deleted, spaceReclaimedBytes: space };
}
