/**
 * `GET /containers/{id}/stats` (moby api/types/container/stats.go): one object a second, or
 * one in all with `stream=false`. Fields are snake_case on the wire, as docker sends them.
 */

/** `ThrottlingData`. */
export interface ThrottlingData {
  periods: number;
  throttled_periods: number;
  throttled_time: number;
}

/** `CPUStats`: the container's CPU time and the host's, so clients can compute a percentage. */
export interface CpuStats {
  cpu_usage: {
    total_usage: number;
    /** cgroup v1 only. */
    percpu_usage?: number[];
    usage_in_kernelmode: number;
    usage_in_usermode: number;
  };
  system_cpu_usage?: number;
  online_cpus?: number;
  throttling_data: ThrottlingData;
}

/** `MemoryStats`. */
export interface MemoryStats {
  usage?: number;
  /** cgroup v1 only. */
  max_usage?: number;
  stats?: Record<string, number>;
  failcnt?: number;
  limit?: number;
}

/** `BlkioStatEntry`. */
export interface BlkioStatEntry {
  major: number;
  minor: number;
  op: string;
  value: number;
}

/** `BlkioStats`: docker sends null for the lists it has nothing in. */
export interface BlkioStats {
  io_service_bytes_recursive: BlkioStatEntry[] | null;
  io_serviced_recursive: BlkioStatEntry[] | null;
  io_queue_recursive: BlkioStatEntry[] | null;
  io_service_time_recursive: BlkioStatEntry[] | null;
  io_wait_time_recursive: BlkioStatEntry[] | null;
  io_merged_recursive: BlkioStatEntry[] | null;
  io_time_recursive: BlkioStatEntry[] | null;
  sectors_recursive: BlkioStatEntry[] | null;
}

/** `NetworkStats`: one interface's counters. */
export interface NetworkStats {
  rx_bytes: number;
  rx_packets: number;
  rx_errors: number;
  rx_dropped: number;
  tx_bytes: number;
  tx_packets: number;
  tx_errors: number;
  tx_dropped: number;
}

/** `StatsResponse` (the old `StatsJSON`). */
export interface ContainerStatsResponse {
  name: string;
  id: string;
  /** RFC 3339 with nanoseconds; docker's zero time when never read. */
  read: string;
  preread: string;
  pids_stats: { current?: number; limit?: number };
  blkio_stats: BlkioStats;
  num_procs: number;
  storage_stats: Record<string, never>;
  cpu_stats: CpuStats;
  precpu_stats: CpuStats;
  memory_stats: MemoryStats;
  networks?: Record<string, NetworkStats>;
  /** API 1.52 and later. */
  os_type?: 'linux';
}
