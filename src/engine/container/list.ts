/** `docker ps`: the containers matching its options and filters, newest first. */
import { InvalidArgumentError } from '../../common/index.js';
import { isRunningStatus, type ContainerRecord } from '../container.js';
import type { ContainerContext } from './context.js';

export interface ListOptions {
  all: boolean;
  limit: number;
  filters: Record<string, string[]>;
}

const LIST_FILTERS = new Set(['status', 'label', 'name', 'id', 'ancestor', 'exited', 'before', 'since', 'health', 'isolation', 'network', 'publish', 'expose', 'volume', 'is-task']);

/** Containers matching docker's `ps` options, newest first. */
export async function list(ctx: ContainerContext, options: ListOptions): Promise<ContainerRecord[]> {
  const filters = options.filters;
  for (const key of Object.keys(filters)) {
    if (!LIST_FILTERS.has(key)) throw new InvalidArgumentError(`invalid filter '${key}'`);
  }
  let records = ctx.store.all().sort((a, b) => b.created.localeCompare(a.created));
  const hasStatusFilter = (filters['status']?.length ?? 0) > 0 || (filters['exited']?.length ?? 0) > 0;
  if (!options.all && !hasStatusFilter) records = records.filter((r) => isRunningStatus(r.state.status));
  const imageIds = new Map<string, string>();
  for (const ref of filters['ancestor'] ?? []) {
    const image = await ctx.options.images.get(ref).catch(() => undefined);
    if (image) imageIds.set(image.id, ref);
  }
  records = records.filter((record) => {
    const statuses = filters['status'];
    if (statuses?.length && !statuses.includes(record.state.status)) return false;
    const exited = filters['exited'];
    if (exited?.length && !(record.state.status === 'exited' && exited.includes(String(record.state.exitCode)))) return false;
    const names = filters['name'];
    if (names?.length && !names.some((n) => new RegExp(n.replace(/^\//, '')).test(record.name))) return false;
    const ids = filters['id'];
    if (ids?.length && !ids.some((i) => record.id.startsWith(i))) return false;
    if (filters['ancestor']?.length && !imageIds.has(record.imageId)) return false;
    if (!matchesLabelFilters(record.settings.labels, filters['label'] ?? [])) return false;
    return true;
  });
  if (options.limit > 0) records = records.slice(0, options.limit);
  return records;
}

/** Whether `labels` satisfy every `key` or `key=value` filter. */
export function matchesLabelFilters(labels: Record<string, string>, filters: string[]): boolean {
  return filters.every((filter) => {
    const at = filter.indexOf('=');
    if (at < 0) return filter in labels;
    return labels[filter.slice(0, at)] === filter.slice(at + 1);
  });
}
