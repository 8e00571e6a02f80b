/** `docker ps`: the containers matching its options and filters, newest first. */
import { boolFilter, checkFilterKeys, filterValues, idMatches, InvalidFilterError, labelsMatch, nameMatches, type Filters } from '../../common/index.js';
import { isRunningStatus, type ContainerRecord } from '../container.js';
import type { ContainerContext } from './context.js';

export interface ListOptions {
  all: boolean;
  limit: number;
  filters: Filters;
}

const LIST_FILTERS = ['status', 'label', 'label!', 'name', 'id', 'ancestor', 'exited', 'before', 'since', 'health', 'isolation', 'network', 'publish', 'expose', 'volume', 'is-task'];
const STATUSES = ['created', 'restarting', 'running', 'removing', 'paused', 'exited', 'dead'];
const HEALTH_STATUSES = ['starting', 'healthy', 'unhealthy', 'none'];

/** Containers matching docker's `ps` options, newest first. Every filter is checked before anything is listed. */
export async function list(ctx: ContainerContext, options: ListOptions): Promise<ContainerRecord[]> {
  const filters = options.filters;
  checkFilterKeys(filters, LIST_FILTERS);
  const matches = await containerMatcher(ctx, filters);
  let records = ctx.store.all().sort((a, b) => b.created.localeCompare(a.created));
  const hasStatusFilter = filterValues(filters, 'status').length > 0 || filterValues(filters, 'exited').length > 0;
  if (!options.all && !hasStatusFilter) records = records.filter((r) => isRunningStatus(r.state.status));
  records = records.filter(matches);
  if (options.limit > 0) records = records.slice(0, options.limit);
  return records;
}

/**
 * The test a container must pass for docker's container filters (moby daemon/list.go), built
 * once: values are checked and references resolved here, so a bad one fails before any work.
 */
export async function containerMatcher(ctx: ContainerContext, filters: Filters): Promise<(record: ContainerRecord) => boolean> {
  const statuses = filterValues(filters, 'status');
  for (const status of statuses) if (!STATUSES.includes(status)) throw new InvalidFilterError('status', [status]);
  const exited = filterValues(filters, 'exited').map((value) => {
    if (!/^-?\d+$/.test(value)) throw new InvalidFilterError('exited', [value]);
    return Number(value);
  });
  const health = filterValues(filters, 'health');
  for (const value of health) if (!HEALTH_STATUSES.includes(value)) throw new InvalidFilterError('health', [value]);
  const isTask = boolFilter(filters, 'is-task');
  const publish = portSet(filters, 'publish');
  const expose = portSet(filters, 'expose');
  const ancestorIds = new Set<string>();
  for (const ref of filterValues(filters, 'ancestor')) {
    const image = await ctx.options.images.get(ref).catch(() => undefined);
    if (image) ancestorIds.add(image.id);
  }
  // before/since name a container: the list keeps those created before or after it.
  const createdOf = (key: string): string | undefined => {
    const ref = filterValues(filters, key)[0];
    return ref === undefined ? undefined : ctx.store.resolve(ref).created;
  };
  const before = createdOf('before');
  const since = createdOf('since');
  const any = <T>(wanted: T[], test: (value: T) => boolean): boolean => wanted.length === 0 || wanted.some(test);
  return (record) => {
    if (!any(statuses, (s) => s === record.state.status)) return false;
    if (!any(exited, (code) => record.state.status === 'exited' && record.state.exitCode === code)) return false;
    const names = filterValues(filters, 'name');
    if (names.length > 0 && !nameMatches(record.name, names) && !nameMatches(`/${record.name}`, names)) return false;
    if (!idMatches(record.id, filterValues(filters, 'id'))) return false;
    if (filterValues(filters, 'ancestor').length > 0 && !ancestorIds.has(record.imageId)) return false;
    if (!labelsMatch(record.settings.labels, filters)) return false;
    if (before !== undefined && !(record.created < before)) return false;
    if (since !== undefined && !(record.created > since)) return false;
    if (!any(health, (value) => value === (record.state.health?.status ?? 'none'))) return false;
    // Berth runs no swarm tasks.
    if (isTask === true) return false;
    if (!any(filterValues(filters, 'isolation'), (value) => value === record.host.isolation || (value === 'default' && record.host.isolationRequested === ''))) return false;
    const networks = Object.entries(record.host.networks ?? {});
    const networkMode = record.host.networkMode === 'default' ? 'bridge' : record.host.networkMode;
    if (!any(filterValues(filters, 'network'), (value) => value === networkMode || networks.some(([name, settings]) => name === value || (settings.networkId !== undefined && settings.networkId.startsWith(value))))) return false;
    if (!any(filterValues(filters, 'volume'), (value) => (record.host.mounts ?? []).some((m) => m.name === value || m.destination === value || (m.type === 'bind' && m.source === value)))) return false;
    if (publish.size > 0 && !Object.keys(record.host.portBindings ?? {}).some((port) => publish.has(port))) return false;
    if (expose.size > 0 && !Object.keys(record.settings.exposedPorts).some((port) => expose.has(port))) return false;
    return true;
  };
}

/** `publish`/`expose` values (`80`, `80/udp`, `8000-8010/tcp`) as the set of `port/proto` keys they name. */
function portSet(filters: Filters, key: string): Set<string> {
  const ports = new Set<string>();
  for (const value of filterValues(filters, key)) {
    const match = /^(\d+)(?:-(\d+))?(?:\/(tcp|udp|sctp))?$/.exec(value);
    const first = Number(match?.[1]);
    const last = match?.[2] === undefined ? first : Number(match[2]);
    if (!match || first > 65535 || last > 65535 || last < first || last - first > 65535) throw new InvalidFilterError(key, [value]);
    for (let port = first; port <= last; port++) ports.add(`${port}/${match[3] ?? 'tcp'}`);
  }
  return ports;
}
