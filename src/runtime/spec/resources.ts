/**
 * Cgroup limits and rlimits as docker writes them into the OCI spec: `--cpus` becomes a CFS
 * quota over a 100 ms period, `--memory-swap` is memory plus swap, `--ulimit` sets only the
 * limits asked for. Used both when building a spec and for `update` on a live container.
 */
import { readFile } from 'node:fs/promises';
import { BerthError } from '../../common/index.js';
import type { LinuxResources, LinuxThrottleDevice } from '../../oci/index.js';
import type { BlkioDeviceLimit, BlkioLimits, RuntimeResources, Ulimit } from '../types.js';

/** docker's CFS period for `--cpus` (moby daemon/oci_linux.go). */
export const CPU_PERIOD_US = 100_000;

/** The host refuses a `--ulimit` (raising a hard limit needs CAP_SYS_RESOURCE, which berthd lacks). */
export class UlimitNotPermittedError extends BerthError {
  constructor(message: string) {
    super('invalid-argument', 'BERTH_ULIMIT_NOT_PERMITTED', message);
  }
}

function throttles(list: readonly BlkioDeviceLimit[] | undefined): LinuxThrottleDevice[] | undefined {
  return list?.length ? list.map((d) => ({ major: d.major, minor: d.minor, rate: d.value })) : undefined;
}

/** The OCI `blockIO` for docker's blkio settings; undefined when none is set. */
function toOciBlockIo(blkio: BlkioLimits | undefined): LinuxResources['blockIO'] {
  if (!blkio) return undefined;
  const out: NonNullable<LinuxResources['blockIO']> = {};
  if (blkio.weight !== undefined && blkio.weight > 0) out.weight = blkio.weight;
  if (blkio.weightDevices?.length) out.weightDevice = blkio.weightDevices.map((d) => ({ major: d.major, minor: d.minor, weight: d.value }));
  const lists = { throttleReadBpsDevice: blkio.readBps, throttleWriteBpsDevice: blkio.writeBps, throttleReadIOPSDevice: blkio.readIops, throttleWriteIOPSDevice: blkio.writeIops };
  for (const [key, list] of Object.entries(lists)) {
    const devices = throttles(list);
    if (devices) out[key as keyof typeof lists] = devices;
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

/**
 * The memory, cpu, pids and blockIO parts of an OCI `linux.resources` for `resources`: only
 * what is set is written, so the runtime leaves everything else at the cgroup's default (or,
 * for `update`, at its current value).
 */
export function toOciResources(resources: RuntimeResources & { isOomKillDisabled?: boolean }): Pick<LinuxResources, 'memory' | 'cpu' | 'pids' | 'blockIO'> {
  const out: Pick<LinuxResources, 'memory' | 'cpu' | 'pids' | 'blockIO'> = {};
  const memory: NonNullable<LinuxResources['memory']> = {};
  if (resources.memoryLimitBytes !== undefined && resources.memoryLimitBytes > 0) memory.limit = resources.memoryLimitBytes;
  // Swap needs a memory limit (docker refuses the other combination at create).
  if (resources.memorySwapBytes !== undefined && resources.memorySwapBytes !== 0) memory.swap = resources.memorySwapBytes;
  if (resources.memoryReservationBytes !== undefined && resources.memoryReservationBytes > 0) memory.reservation = resources.memoryReservationBytes;
  if (resources.isOomKillDisabled) memory.disableOOMKiller = true;
  if (resources.memorySwappiness !== undefined && resources.memorySwappiness >= 0) memory.swappiness = resources.memorySwappiness;
  if (Object.keys(memory).length > 0) out.memory = memory;
  const cpu: NonNullable<LinuxResources['cpu']> = {};
  if (resources.cpuShares !== undefined && resources.cpuShares > 0) cpu.shares = resources.cpuShares;
  if (resources.nanoCpus !== undefined && resources.nanoCpus > 0) {
    cpu.period = CPU_PERIOD_US;
    cpu.quota = Math.round((resources.nanoCpus * CPU_PERIOD_US) / 1e9);
  }
  if (resources.cpuPeriod !== undefined && resources.cpuPeriod > 0) cpu.period = resources.cpuPeriod;
  if (resources.cpuQuota !== undefined && resources.cpuQuota !== 0) cpu.quota = resources.cpuQuota;
  if (resources.cpuRealtimePeriod !== undefined && resources.cpuRealtimePeriod > 0) cpu.realtimePeriod = resources.cpuRealtimePeriod;
  if (resources.cpuRealtimeRuntime !== undefined && resources.cpuRealtimeRuntime !== 0) cpu.realtimeRuntime = resources.cpuRealtimeRuntime;
  if (resources.cpusetCpus !== undefined && resources.cpusetCpus !== '') cpu.cpus = resources.cpusetCpus;
  if (Object.keys(cpu).length > 0) out.cpu = cpu;
  const blockIO = toOciBlockIo(resources.blkio);
  if (blockIO) out.blockIO = blockIO;
  // docker: 0 and -1 both mean unlimited; the OCI spec says unlimited with -1.
  if (resources.pidsLimit !== undefined && resources.pidsLimit !== 0) out.pids = { limit: resources.pidsLimit > 0 ? resources.pidsLimit : -1 };
  return out;
}

/** docker's ulimit names and the labels /proc/<pid>/limits prints for them. */
const ULIMITS: Record<string, string> = {
  as: 'Max address space',
  core: 'Max core file size',
  cpu: 'Max cpu time',
  data: 'Max data size',
  fsize: 'Max file size',
  locks: 'Max file locks',
  memlock: 'Max locked memory',
  msgqueue: 'Max msgqueue size',
  nice: 'Max nice priority',
  nofile: 'Max open files',
  nproc: 'Max processes',
  rss: 'Max resident set',
  rtprio: 'Max realtime priority',
  rttime: 'Max realtime timeout',
  sigpending: 'Max pending signals',
  stack: 'Max stack size',
};

/** True when `name` is a ulimit docker knows. */
export function isKnownUlimit(name: string): boolean {
  return name in ULIMITS;
}

/** A process's hard limits by docker name (Infinity for unlimited), from a /proc/<pid>/limits text. */
export function parseProcLimits(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [name, label] of Object.entries(ULIMITS)) {
    const line = text.split('\n').find((l) => l.startsWith(label));
    if (!line) continue;
    const hard = line.slice(label.length).trim().split(/\s+/)[1];
    if (hard === 'unlimited') out[name] = Infinity;
    else if (hard !== undefined && /^\d+$/.test(hard)) out[name] = Number(hard);
  }
  return out;
}

const CAP_SYS_RESOURCE = 24;

/** The hard limits a container can be given: berthd's own, or none when berthd may raise them. */
export async function hostHardLimits(): Promise<Record<string, number> | undefined> {
  try {
    const status = await readFile('/proc/self/status', 'utf8');
    const match = /^CapEff:\s*([0-9a-f]+)$/m.exec(status);
    if (match && ((BigInt('0x' + match[1]) >> BigInt(CAP_SYS_RESOURCE)) & 1n) === 1n) return undefined;
    return parseProcLimits(await readFile('/proc/self/limits', 'utf8'));
  } catch {
    return undefined;
  }
}

/**
 * OCI rlimits for docker's `--ulimit` values. `hardLimits` (from hostHardLimits) are the
 * ceilings the host allows: asking for more is UlimitNotPermittedError, before anything runs.
 */
export function toOciRlimits(ulimits: readonly Ulimit[], hardLimits: Record<string, number> | undefined): { type: string; soft: number; hard: number }[] {
  return ulimits.map((ulimit) => {
    const ceiling = hardLimits?.[ulimit.name];
    if (ceiling !== undefined && ulimit.hard > ceiling) {
      throw new UlimitNotPermittedError(
        `cannot set ulimit ${ulimit.name} hard limit to ${ulimit.hard}: the host's hard limit is ${ceiling} and berthd lacks CAP_SYS_RESOURCE to raise it`,
      );
    }
    return { type: `RLIMIT_${ulimit.name.toUpperCase()}`, soft: ulimit.soft, hard: ulimit.hard };
  });
}
