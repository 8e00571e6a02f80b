/**
 * Stats samples in docker's `StatsResponse` shape: cpu_stats with the previous sample as
 * precpu_stats (so clients compute CPU % from the deltas), memory with the limit capped at the
 * host's memory as dockerd reports it, pids, blkio, and the container's network interfaces.
 */
import { ZERO_TIME, type ContainerRecord, type RuntimeStats } from '../../engine/index.js';
import type { BlkioStatEntry, BlkioStats, ContainerStatsResponse, CpuStats, MemoryStats, NetworkStats } from '../wire/index.js';

function emptyCpu(): CpuStats {
  return {
    cpu_usage: { total_usage: 0, usage_in_kernelmode: 0, usage_in_usermode: 0 },
    throttling_data: { periods: 0, throttled_periods: 0, throttled_time: 0 },
  };
}

function emptyBlkio(): BlkioStats {
  return {
    io_service_bytes_recursive: null,
    io_serviced_recursive: null,
    io_queue_recursive: null,
    io_service_time_recursive: null,
    io_wait_time_recursive: null,
    io_merged_recursive: null,
    io_time_recursive: null,
    sectors_recursive: null,
  };
}

function cpuOf(sample: RuntimeStats): CpuStats {
  const cpu = sample.cgroup.cpu;
  return {
    cpu_usage: {
      total_usage: cpu.totalNs,
      ...(cpu.perCpuNs ? { percpu_usage: cpu.perCpuNs } : {}),
      usage_in_kernelmode: cpu.kernelNs,
      usage_in_usermode: cpu.userNs,
    },
    system_cpu_usage: sample.host.systemNs,
    online_cpus: sample.host.onlineCpus,
    throttling_data: { periods: cpu.throttling.periods, throttled_periods: cpu.throttling.throttledPeriods, throttled_time: cpu.throttling.throttledNs },
  };
}

function memoryOf(sample: RuntimeStats, hostMemoryBytes: number): MemoryStats {
  const memory = sample.cgroup.memory;
  const limit = memory.limitBytes === undefined || memory.limitBytes > hostMemoryBytes ? hostMemoryBytes : memory.limitBytes;
  const out: MemoryStats = { usage: memory.usageBytes };
  if (memory.maxUsageBytes !== undefined) out.max_usage = memory.maxUsageBytes;
  out.stats = memory.stats;
  if (memory.failcnt !== undefined) out.failcnt = memory.failcnt;
  out.limit = limit;
  return out;
}

function entries(list: readonly { major: number; minor: number; op: string; value: number }[]): BlkioStatEntry[] | null {
  return list.length === 0 ? null : list.map((e) => ({ major: e.major, minor: e.minor, op: e.op, value: e.value }));
}

function networksOf(sample: RuntimeStats): Record<string, NetworkStats> | undefined {
  const out: Record<string, NetworkStats> = {};
  for (const [name, n] of Object.entries(sample.networks)) {
    // dockerd reports the container's endpoints, never its loopback.
    if (name === 'lo') continue;
    out[name] = {
      rx_bytes: n.rxBytes, rx_packets: n.rxPackets, rx_errors: n.rxErrors, rx_dropped: n.rxDropped,
      tx_bytes: n.txBytes, tx_packets: n.txPackets, tx_errors: n.txErrors, tx_dropped: n.txDropped,
    };
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

function readTime(sample: RuntimeStats | undefined): string {
  return sample === undefined ? ZERO_TIME : new Date(sample.readAtMs).toISOString();
}

/**
 * docker's stats object for `record`: `sample` undefined gives the empty object dockerd sends
 * for a container that is not running; `previous` undefined leaves precpu_stats empty.
 */
export function toDockerStats(record: ContainerRecord, sample: RuntimeStats | undefined, previous: RuntimeStats | undefined, hostMemoryBytes: number): ContainerStatsResponse {
  const base: ContainerStatsResponse = {
    name: `/${record.name}`,
    id: record.id,
    read: readTime(sample),
    preread: readTime(previous),
    pids_stats: {},
    blkio_stats: emptyBlkio(),
    num_procs: 0,
    storage_stats: {},
    cpu_stats: emptyCpu(),
    precpu_stats: previous ? cpuOf(previous) : emptyCpu(),
    memory_stats: {},
  };
  if (!sample) return base;
  const pids = sample.cgroup.pids;
  base.pids_stats = { current: pids.current, ...(pids.limit !== undefined ? { limit: pids.limit } : {}) };
  base.blkio_stats = { ...emptyBlkio(), io_service_bytes_recursive: entries(sample.cgroup.blkio.serviceBytes), io_serviced_recursive: entries(sample.cgroup.blkio.serviced) };
  base.cpu_stats = cpuOf(sample);
  base.memory_stats = memoryOf(sample, hostMemoryBytes);
  const networks = networksOf(sample);
  if (networks) base.networks = networks;
  return base;
}
