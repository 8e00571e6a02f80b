/**
 * A container's resource limits as dockerd checks and defaults them (moby
 * daemon/daemon_unix.go, container/container_unix.go UpdateContainer): the same refusals with
 * the same words, and the same defaults (`--memory` without `--memory-swap` gives twice the
 * memory as memory plus swap).
 */
import { readFileSync, statSync } from 'node:fs';
import { cpus } from 'node:os';
import { ConflictError, InvalidArgumentError } from '../common/index.js';
import type { BlkioDeviceSetting, HostSettings } from './container.js';
import type { BlkioDeviceLimit, RuntimeResources } from './ports.js';

const MIN_MEMORY_BYTES = 6 * 1024 * 1024;

/** docker's ulimit names. */
const ULIMIT_NAMES = new Set(['as', 'core', 'cpu', 'data', 'fsize', 'locks', 'memlock', 'msgqueue', 'nice', 'nofile', 'nproc', 'rss', 'rtprio', 'rttime', 'sigpending', 'stack']);

/** The limit fields of HostSettings. */
export type HostResources = Pick<
  HostSettings,
  | 'memoryBytes' | 'memorySwapBytes' | 'nanoCpus' | 'cpuShares' | 'pidsLimit' | 'memoryReservationBytes' | 'cpusetCpus' | 'oomKillDisable' | 'ulimits' | 'cpuQuota' | 'cpuPeriod'
  | 'cpuRealtimePeriod' | 'cpuRealtimeRuntime' | 'memorySwappiness' | 'blkioWeight' | 'blkioWeightDevices' | 'blkioDeviceReadBps' | 'blkioDeviceWriteBps' | 'blkioDeviceReadIops' | 'blkioDeviceWriteIops'
>;

/**
 * What this host's cgroups can apply beyond the basics, found by the daemon at start (the
 * files a v1 controller or the unified hierarchy has). A setting the host cannot apply is
 * refused at create, never accepted and dropped.
 */
export interface CgroupFeatures {
  /** `memory.swappiness` (cgroup v1 only). */
  memorySwappiness: boolean;
  /** `cpu.rt_runtime_us` (cgroup v1 with real-time group scheduling). */
  cpuRealtime: boolean;
  /** The real-time runtime berthd gave its containers' parent cgroup (`berthd --cpu-rt-runtime`), in microseconds. */
  cpuRealtimeBudgetUs: number;
  /** `blkio.weight` (v1, needs the BFQ or CFQ scheduler) or `io.weight` (v2). */
  blkioWeight: boolean;
  /** `blkio.weight_device` (v1) or `io.weight` (v2). */
  blkioWeightDevice: boolean;
  /** `blkio.throttle.*` (v1) or `io.max` (v2). */
  blkioThrottle: boolean;
}

/** A host that can apply none of the optional settings (the engine's default when the daemon says nothing). */
export const NO_CGROUP_FEATURES: CgroupFeatures = { memorySwappiness: false, cpuRealtime: false, cpuRealtimeBudgetUs: 0, blkioWeight: false, blkioWeightDevice: false, blkioThrottle: false };

function refuseOnHost(flag: string, why: string): never {
  throw new InvalidArgumentError(`${flag} is not supported on this host: ${why}`, { code: 'BERTH_UNSUPPORTED_SETTING' });
}

/** The block-device lists of HostResources with the flag that sets each. */
const BLKIO_DEVICE_LISTS = [
  ['blkioWeightDevices', '--blkio-weight-device'],
  ['blkioDeviceReadBps', '--device-read-bps'],
  ['blkioDeviceWriteBps', '--device-write-bps'],
  ['blkioDeviceReadIops', '--device-read-iops'],
  ['blkioDeviceWriteIops', '--device-write-iops'],
] as const;

/** The device numbers of a block device node; InvalidArgumentError naming the flag when `path` is none. */
function blockDeviceNumbers(path: string, flag: string): { major: number; minor: number } {
  let stats;
  try {
    stats = statSync(path);
  } catch {
    // Not "no such file or directory": the docker CLI reads that as a missing command (exit 127).
    throw new InvalidArgumentError(`${flag}: the device ${path} does not exist`, { code: 'BERTH_INVALID_SETTING' });
  }
  if (!stats.isBlockDevice()) throw new InvalidArgumentError(`${flag}: ${path} is not a block device`, { code: 'BERTH_INVALID_SETTING' });
  // Linux's dev_t: major in bits 8-19 (and above 32), minor in bits 0-7 and 20-31.
  const dev = stats.rdev;
  return { major: Math.floor(dev / 256) & 0xfff, minor: (dev & 0xff) | ((Math.floor(dev / 4096) & 0xfff00)) };
}

/**
 * Check the real-time, swappiness and block I/O settings against dockerd's bounds and what this
 * host can apply. Throws InvalidArgumentError: dockerd's words for a bad value, BERTH_UNSUPPORTED_SETTING
 * naming the flag for one the host cannot apply.
 */
export function checkHostSpecificResources(resources: HostResources, features: CgroupFeatures): void {
  const swappiness = resources.memorySwappiness ?? -1;
  if (swappiness !== -1) {
    if (!features.memorySwappiness) refuseOnHost('--memory-swappiness', 'Your kernel does not support memory swappiness capabilities or the cgroup is not mounted (cgroup v2 has no swappiness)');
    if (swappiness < 0 || swappiness > 100) throw new InvalidArgumentError(`Invalid value: ${swappiness}, valid memory swappiness range is 0-100`);
  }
  const rtPeriod = resources.cpuRealtimePeriod ?? 0;
  const rtRuntime = resources.cpuRealtimeRuntime ?? 0;
  if (rtPeriod < 0) throw new InvalidArgumentError(`invalid --cpu-rt-period ${rtPeriod}: the period cannot be negative`);
  // The kernel lets no container's group have unlimited real-time runtime below a limited parent.
  if (rtRuntime < 0) throw new InvalidArgumentError(`invalid --cpu-rt-runtime ${rtRuntime}: the runtime cannot be negative`);
  if (rtPeriod !== 0 && !features.cpuRealtime) refuseOnHost('--cpu-rt-period', 'Your kernel does not support cgroup cpu real-time period');
  if (rtRuntime !== 0 && !features.cpuRealtime) refuseOnHost('--cpu-rt-runtime', 'Your kernel does not support cgroup cpu real-time runtime');
  if (rtPeriod !== 0 && rtRuntime !== 0 && rtRuntime > rtPeriod) throw new InvalidArgumentError('cpu-rt-runtime cannot be higher than cpu-rt-period');
  if (rtRuntime > features.cpuRealtimeBudgetUs) {
    refuseOnHost('--cpu-rt-runtime', `${rtRuntime} is more than the real-time runtime berthd gives its containers (${features.cpuRealtimeBudgetUs}; start berthd with --cpu-rt-runtime)`);
  }
  const weight = resources.blkioWeight ?? 0;
  if (weight !== 0) {
    if (!features.blkioWeight) refuseOnHost('--blkio-weight', 'Your kernel does not support Block I/O weight or the cgroup is not mounted (it needs the BFQ I/O scheduler)');
    if (weight < 10 || weight > 1000) throw new InvalidArgumentError('Range of blkio weight is from 10 to 1000');
  }
  for (const [key, flag] of BLKIO_DEVICE_LISTS) {
    const list = resources[key] ?? [];
    if (list.length === 0) continue;
    const isWeight = key === 'blkioWeightDevices';
    if (isWeight && !features.blkioWeightDevice) refuseOnHost(flag, 'Your kernel does not support Block I/O weight_device or the cgroup is not mounted (it needs the BFQ I/O scheduler)');
    if (!isWeight && !features.blkioThrottle) refuseOnHost(flag, 'Your kernel does not support Block I/O throttling or the cgroup is not mounted');
    for (const device of list) {
      blockDeviceNumbers(device.path, flag);
      if (isWeight && (device.value < 10 || device.value > 1000)) throw new InvalidArgumentError(`invalid weight for device: ${device.path}: Range of blkio weight is from 10 to 1000`);
      if (!isWeight && device.value < 0) throw new InvalidArgumentError(`${flag}: invalid rate for device ${device.path}: ${device.value}`);
    }
  }
}

function numbered(list: readonly BlkioDeviceSetting[] | undefined, flag: string): BlkioDeviceLimit[] | undefined {
  return list?.length ? list.map((d) => ({ ...blockDeviceNumbers(d.path, flag), value: d.value })) : undefined;
}

/** The block I/O limits of a record, its devices looked up now (as dockerd does at each start: numbers can change across boots). */
function blkioLimitsOf(host: HostResources): RuntimeResources['blkio'] {
  const out: NonNullable<RuntimeResources['blkio']> = {};
  if ((host.blkioWeight ?? 0) > 0) out.weight = host.blkioWeight!;
  const lists = {
    weightDevices: numbered(host.blkioWeightDevices, '--blkio-weight-device'),
    readBps: numbered(host.blkioDeviceReadBps, '--device-read-bps'),
    writeBps: numbered(host.blkioDeviceWriteBps, '--device-write-bps'),
    readIops: numbered(host.blkioDeviceReadIops, '--device-read-iops'),
    writeIops: numbered(host.blkioDeviceWriteIops, '--device-write-iops'),
  };
  for (const [key, list] of Object.entries(lists)) if (list) out[key as keyof typeof lists] = list;
  return Object.keys(out).length > 0 ? out : undefined;
}

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
  /** `--cpu-period`/`--cpu-quota` in microseconds (-1 quota: unlimited). */
  cpuPeriod?: number;
  cpuQuota?: number;
  /** `--cpu-rt-period`/`--cpu-rt-runtime` in microseconds. */
  cpuRealtimePeriod?: number;
  cpuRealtimeRuntime?: number;
  /** `--blkio-weight` (10-1000). */
  blkioWeight?: number;
}

/** The fields of a ResourceUpdate that only a container on the host's kernel can have, with their flags. */
export const HOST_KERNEL_UPDATE_FIELDS = [
  ['cpuPeriod', '--cpu-period'],
  ['cpuQuota', '--cpu-quota'],
  ['cpuRealtimePeriod', '--cpu-rt-period'],
  ['cpuRealtimeRuntime', '--cpu-rt-runtime'],
  ['blkioWeight', '--blkio-weight'],
] as const;

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
export function applyResourceUpdate(
  id: string,
  current: HostResources,
  update: ResourceUpdate,
  features: CgroupFeatures = NO_CGROUP_FEATURES,
  online: readonly number[] = onlineCpus(),
): { next: HostResources; changed: RuntimeResources } {
  const next: HostResources = { ...current };
  const changed: RuntimeResources = {};
  // dockerd's UpdateContainer: --cpus and the CFS period/quota set the same thing, so one set blocks the other.
  const asksCfs = (update.cpuPeriod ?? 0) > 0 || (update.cpuQuota ?? 0) > 0;
  if ((update.nanoCpus ?? 0) > 0 && (current.cpuPeriod ?? 0) > 0) throw new ConflictingUpdateError(id, 'Conflicting options: CPU Period cannot be updated as NanoCPUs has already been set');
  if ((update.nanoCpus ?? 0) > 0 && (current.cpuQuota ?? 0) > 0) throw new ConflictingUpdateError(id, 'Conflicting options: CPU Quota cannot be updated as NanoCPUs has already been set');
  if (asksCfs && current.nanoCpus > 0) {
    throw new ConflictingUpdateError(id, `Conflicting options: NanoCPUs cannot be updated as CPU ${(update.cpuPeriod ?? 0) > 0 ? 'Period' : 'Quota'} has already been set`);
  }
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
  if ((update.cpuPeriod ?? 0) !== 0) next.cpuPeriod = update.cpuPeriod!;
  if ((update.cpuQuota ?? 0) !== 0) next.cpuQuota = update.cpuQuota!;
  if ((update.cpuRealtimePeriod ?? 0) !== 0) next.cpuRealtimePeriod = update.cpuRealtimePeriod!;
  if ((update.cpuRealtimeRuntime ?? 0) !== 0) next.cpuRealtimeRuntime = update.cpuRealtimeRuntime!;
  if ((update.blkioWeight ?? 0) !== 0) next.blkioWeight = update.blkioWeight!;
  // The same bounds and host checks as at create, on the settings as they would be.
  checkCfs(next);
  checkHostSpecificResources(next, features);
  if ((update.cpuPeriod ?? 0) !== 0 || (update.cpuQuota ?? 0) !== 0) {
    changed.cpuPeriod = next.cpuPeriod ?? 0;
    changed.cpuQuota = next.cpuQuota ?? 0;
  }
  if ((update.cpuRealtimePeriod ?? 0) !== 0 || (update.cpuRealtimeRuntime ?? 0) !== 0) {
    changed.cpuRealtimePeriod = next.cpuRealtimePeriod ?? 0;
    changed.cpuRealtimeRuntime = next.cpuRealtimeRuntime ?? 0;
  }
  if ((update.blkioWeight ?? 0) !== 0) changed.blkio = { weight: next.blkioWeight! };
  // The kernel checks memory against memory+swap: when memory changes, restate the swap so the runtime orders the writes.
  if (changed.memoryLimitBytes !== undefined && changed.memorySwapBytes === undefined && next.memorySwapBytes !== 0) {
    changed.memorySwapBytes = next.memorySwapBytes;
  }
  return { next, changed };
}

/** The runtime limits of a record's host settings (what a start applies). */
export function limitsOf(host: HostResources): RuntimeResources {
  const limits: RuntimeResources = {};
  if (host.memoryBytes > 0) limits.memoryLimitBytes = host.memoryBytes;
  if (host.memoryBytes > 0 && host.memorySwapBytes !== 0) limits.memorySwapBytes = host.memorySwapBytes;
  if ((host.memoryReservationBytes ?? 0) > 0) limits.memoryReservationBytes = host.memoryReservationBytes!;
  if (host.nanoCpus > 0) limits.nanoCpus = host.nanoCpus;
  if (host.cpuShares > 0) limits.cpuShares = host.cpuShares;
  if ((host.cpuQuota ?? 0) > 0) limits.cpuQuota = host.cpuQuota!;
  if ((host.cpuPeriod ?? 0) > 0) limits.cpuPeriod = host.cpuPeriod!;
  if ((host.cpusetCpus ?? '') !== '') limits.cpusetCpus = host.cpusetCpus!;
  if (host.pidsLimit !== null && host.pidsLimit > 0) limits.pidsLimit = host.pidsLimit;
  if ((host.cpuRealtimePeriod ?? 0) > 0) limits.cpuRealtimePeriod = host.cpuRealtimePeriod!;
  if ((host.cpuRealtimeRuntime ?? 0) !== 0) limits.cpuRealtimeRuntime = host.cpuRealtimeRuntime!;
  if (host.memorySwappiness !== undefined && host.memorySwappiness !== null && host.memorySwappiness >= 0) limits.memorySwappiness = host.memorySwappiness;
  const blkio = blkioLimitsOf(host);
  if (blkio) limits.blkio = blkio;
  return limits;
}
