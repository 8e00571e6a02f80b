/**
 * A container's resource limits as dockerd checks and defaults them (moby
 * daemon/daemon_unix.go, container/container_unix.go UpdateContainer): the same refusals with
 * the same words, and the same defaults (`--memory` without `--memory-swap` gives twice the
 * memory as memory plus swap).
 */
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { ConflictError, InvalidArgumentError } from '../common/index.js';
import type { HostSettings } from './container.js';
import type { ResourceLimits } from './ports.js';

const MIN_MEMORY_BYTES = 6 * 1024 * 1024;

/** docker's ulimit names. */
const ULIMIT_NAMES = new Set(['as', 'core', 'cpu', 'data', 'fsize', 'locks', 'memlock', 'msgqueue', 'nice', 'nofile', 'nproc', 'rss', 'rtprio', 'rttime', 'sigpending', 'stack']);

/** The limit fields of HostSettings. */
export type HostResources = Pick<HostSettings, 'memoryBytes' | 'memorySwapBytes' | 'nanoCpus' | 'cpuShares' | 'pidsLimit' | 'memoryReservationBytes' | 'cpusetCpus' | 'oomKillDisable' | 'ulimits' | 'cpuQuota' | 'cpuPeriod'>;

/** The CPUs this host has online, as numbers (from /sys, else the count Node sees). */
export function onlineCpus(): number[] {
  try {
    return parseCpuList(readFileSync('/sys/devices/system/cpu/online', 'utf8').trim()) ?? [];
  } catch {
    return cpus().map((_cpu, index) => index);
  }
}

/** Parse a cpuset list (`0-2,4`); undefined when malformed. */
export function parseCpuList(text: string): number[] | undefined {
  if (text === '') return [];
  const out = new Set<number>();
  for (const part of text.split(',')) {
    const match = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!match) return undefined;
    const low = Number(match[1]);
    const high = match[2] === undefined ? low : Number(match[2]);
    if (high < low) return undefined;
    for (let cpu = low; cpu <= high; cpu++) out.add(cpu);
  }
  return [...out].sort((a, b) => a - b);
}

/**
 * Check and default the limits of a create request the way dockerd does. Throws
 * InvalidArgumentError with docker's wording; returns the limits to record.
 */
export function checkCreateResources(resources: HostResources, online: readonly number[] = onlineCpus()): HostResources {
  const out: HostResources = { ...resources };
  if (out.memoryBytes !== 0 && out.memoryBytes < MIN_MEMORY_BYTES) throw new InvalidArgumentError('Minimum memory limit allowed is 6MB');
  if (out.memorySwapBytes > 0 && out.memoryBytes === 0) {
    throw new InvalidArgumentError('You should always set the Memory limit when using Memoryswap limit, see usage');
  }
  if (out.memoryBytes > 0 && out.memorySwapBytes > 0 && out.memorySwapBytes < out.memoryBytes) {
    throw new InvalidArgumentError('Minimum memoryswap limit should be larger than memory limit, see usage');
  }
  const reservation = out.memoryReservationBytes ?? 0;
  if (reservation !== 0 && reservation < MIN_MEMORY_BYTES) throw new InvalidArgumentError('Minimum memory reservation allowed is 6MB');
  if (out.memoryBytes > 0 && reservation > 0 && out.memoryBytes < reservation) {
    throw new InvalidArgumentError('Minimum memory limit can not be less than memory reservation limit, see usage');
  }
  // dockerd: by default memory plus swap is twice the memory.
  if (out.memoryBytes > 0 && out.memorySwapBytes === 0) out.memorySwapBytes = out.memoryBytes * 2;
  checkCpus(out, online);
  checkCfs(out);
  if (out.pidsLimit !== null && out.pidsLimit <= 0) out.pidsLimit = null;
  for (const ulimit of out.ulimits ?? []) {
    if (!ULIMIT_NAMES.has(ulimit.name)) throw new InvalidArgumentError(`invalid ulimit type: ${ulimit.name}`);
    if (ulimit.soft > ulimit.hard) {
      throw new InvalidArgumentError(`ulimit soft limit must be less than or equal to hard limit: ${ulimit.soft} > ${ulimit.hard}`);
    }
  }
  return out;
}

/** dockerd's bounds for `--cpu-period`/`--cpu-quota` (daemon/daemon_unix.go). */
function checkCfs(resources: Pick<HostResources, 'nanoCpus' | 'cpuQuota' | 'cpuPeriod'>): void {
  const period = resources.cpuPeriod ?? 0;
  const quota = resources.cpuQuota ?? 0;
  if (resources.nanoCpus > 0 && period > 0) throw new InvalidArgumentError('Conflicting options: Nano CPUs and CPU Period cannot both be set');
  if (resources.nanoCpus > 0 && quota > 0) throw new InvalidArgumentError('Conflicting options: Nano CPUs and CPU Quota cannot both be set');
  if (period !== 0 && (period < 1000 || period > 1_000_000)) throw new InvalidArgumentError('CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)');
  if (quota !== 0 && quota !== -1 && quota < 1000) throw new InvalidArgumentError('CPU cfs quota can not be less than 1ms (i.e. 1000)');
}

function checkCpus(resources: Pick<HostResources, 'nanoCpus' | 'cpusetCpus'>, online: readonly number[]): void {
  const count = Math.max(online.length, 1);
  if (resources.nanoCpus < 0 || resources.nanoCpus > count * 1e9) {
    throw new InvalidArgumentError(`Range of CPUs is from 0.01 to ${count}.00, as there are only ${count} CPUs available`);
  }
  const cpuset = resources.cpusetCpus ?? '';
  if (cpuset !== '') {
    const wanted = parseCpuList(cpuset);
    if (wanted === undefined) throw new InvalidArgumentError(`Invalid value ${cpuset} for cpuset cpus`);
    if (wanted.some((cpu) => !online.includes(cpu))) {
      throw new InvalidArgumentError(`Requested CPUs are not available - requested ${cpuset}, available: ${formatCpuList(online)}`);
    }
  }
}

function formatCpuList(list: readonly number[]): string {
  const ranges: string[] = [];
  for (let i = 0; i < list.length; ) {
    let j = i;
    while (j + 1 < list.length && list[j + 1] === list[j]! + 1) j++;
    ranges.push(i === j ? `${list[i]}` : `${list[i]}-${list[j]}`);
    i = j + 1;
  }
  return ranges.join(',');
}

/** What `docker update` asks to change; a field left out (or 0 where docker means "unchanged") keeps its value. */
export interface ResourceUpdate {
  memoryBytes?: number;
  memorySwapBytes?: number;
  memoryReservationBytes?: number;
  nanoCpus?: number;
  cpuShares?: number;
  cpusetCpus?: string;
  pidsLimit?: number;
}

/** A conflicting `update` (docker answers 409 for these). */
export class ConflictingUpdateError extends ConflictError {
  constructor(id: string, message: string) {
    super('BERTH_CONFLICTING_UPDATE', `Cannot update container ${id}: ${message}`);
  }
}

/**
 * Apply `update` to `current` as dockerd's UpdateContainer does, returning the new limits and
 * the fields the runtime must change. Nothing is changed when it throws.
 */
export function applyResourceUpdate(id: string, current: HostResources, update: ResourceUpdate, online: readonly number[] = onlineCpus()): { next: HostResources; changed: ResourceLimits } {
  const next: HostResources = { ...current };
  const changed: ResourceLimits = {};
  if (update.memoryBytes !== undefined && update.memoryBytes !== 0) {
    if (update.memoryBytes < MIN_MEMORY_BYTES) throw new InvalidArgumentError('Minimum memory limit allowed is 6MB');
    if (update.memoryBytes > current.memorySwapBytes && (update.memorySwapBytes ?? 0) === 0) {
      throw new ConflictingUpdateError(id, 'Memory limit should be smaller than already set memoryswap limit, update the memoryswap at the same time');
    }
    next.memoryBytes = update.memoryBytes;
    changed.memoryLimitBytes = update.memoryBytes;
  }
  if (update.memorySwapBytes !== undefined && update.memorySwapBytes !== 0) {
    if (next.memoryBytes === 0) throw new InvalidArgumentError('You should always set the Memory limit when using Memoryswap limit, see usage');
    if (update.memorySwapBytes > 0 && update.memorySwapBytes < next.memoryBytes) {
      throw new InvalidArgumentError('Minimum memoryswap limit should be larger than memory limit, see usage');
    }
    next.memorySwapBytes = update.memorySwapBytes;
    changed.memorySwapBytes = update.memorySwapBytes;
  }
  if (update.memoryReservationBytes !== undefined && update.memoryReservationBytes !== 0) {
    if (update.memoryReservationBytes < MIN_MEMORY_BYTES) throw new InvalidArgumentError('Minimum memory reservation allowed is 6MB');
    if (next.memoryBytes > 0 && next.memoryBytes < update.memoryReservationBytes) {
      throw new InvalidArgumentError('Minimum memory limit can not be less than memory reservation limit, see usage');
    }
    next.memoryReservationBytes = update.memoryReservationBytes;
    changed.memoryReservationBytes = update.memoryReservationBytes;
  }
  if (update.nanoCpus !== undefined && update.nanoCpus !== 0) {
    next.nanoCpus = update.nanoCpus;
    changed.nanoCpus = update.nanoCpus;
  }
  if (update.cpuShares !== undefined && update.cpuShares !== 0) {
    next.cpuShares = update.cpuShares;
    changed.cpuShares = update.cpuShares;
  }
  if (update.cpusetCpus !== undefined && update.cpusetCpus !== '') {
    next.cpusetCpus = update.cpusetCpus;
    changed.cpusetCpus = update.cpusetCpus;
  }
  checkCpus(next, online);
  if (update.pidsLimit !== undefined && update.pidsLimit !== 0) {
    next.pidsLimit = update.pidsLimit > 0 ? update.pidsLimit : null;
    changed.pidsLimit = update.pidsLimit > 0 ? update.pidsLimit : -1;
  }
  // The kernel checks memory against memory+swap: when memory changes, restate the swap so the runtime orders the writes.
  if (changed.memoryLimitBytes !== undefined && changed.memorySwapBytes === undefined && next.memorySwapBytes !== 0) {
    changed.memorySwapBytes = next.memorySwapBytes;
  }
  return { next, changed };
}

/** The runtime limits of a record's host settings (what a start applies). */
export function limitsOf(host: HostResources): ResourceLimits {
  const limits: ResourceLimits = {};
  if (host.memoryBytes > 0) limits.memoryLimitBytes = host.memoryBytes;
  if (host.memoryBytes > 0 && host.memorySwapBytes !== 0) limits.memorySwapBytes = host.memorySwapBytes;
  if ((host.memoryReservationBytes ?? 0) > 0) limits.memoryReservationBytes = host.memoryReservationBytes!;
  if (host.nanoCpus > 0) limits.nanoCpus = host.nanoCpus;
  if (host.cpuShares > 0) limits.cpuShares = host.cpuShares;
  if ((host.cpuQuota ?? 0) > 0) limits.cpuQuota = host.cpuQuota!;
  if ((host.cpuPeriod ?? 0) > 0) limits.cpuPeriod = host.cpuPeriod!;
  if ((host.cpusetCpus ?? '') !== '') limits.cpusetCpus = host.cpusetCpus!;
  if (host.pidsLimit !== null && host.pidsLimit > 0) limits.pidsLimit = host.pidsLimit;
  return limits;
}
