/**
 * ContainerStats, ListContainerStats, PodSandboxStats and ListPodSandboxStats: the engine's
 * cgroup samples in the CRI's shapes. A pod's figures are its containers' summed, its network
 * counters those of its namespace; a container that is not running has attributes only.
 */
import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { ContainerRecord, Engine, RuntimeStats } from '../engine/index.js';
import { isRunningStatus } from '../engine/index.js';
import type { SandboxStore, SandboxRecord } from './sandbox-store.js';
import { containersOf } from './sandboxes.js';
import { criInfoOf, LABEL_SANDBOX_ID, labelsMatch } from './translate.js';

const u64 = (value: number | bigint): { value: string } => ({ value: String(value) });
const nanosAt = (ms: number): string => String(BigInt(Math.round(ms)) * 1_000_000n);

/** The memory figures the kubelet reads, from a cgroup sample (v1 and v2 name them apart). */
export function memoryOf(sample: RuntimeStats): object {
  const m = sample.cgroup.memory;
  const stat = (v1: string, v2: string): number => m.stats[v1] ?? m.stats[v2] ?? 0;
  const inactiveFile = stat('total_inactive_file', 'inactive_file');
  const workingSet = Math.max(0, m.usageBytes - inactiveFile);
  return {
    timestamp: nanosAt(sample.readAtMs),
    working_set_bytes: u64(workingSet),
    ...(m.limitBytes !== undefined ? { available_bytes: u64(Math.max(0, m.limitBytes - workingSet)) } : {}),
    usage_bytes: u64(m.usageBytes),
    rss_bytes: u64(stat('total_rss', 'anon')),
    page_faults: u64(stat('total_pgfault', 'pgfault')),
    major_page_faults: u64(stat('total_pgmajfault', 'pgmajfault')),
  };
}

/** CPU usage; usage_nano_cores from the previous sample of the same thing, when there is one. */
export function cpuOf(sample: RuntimeStats, previous: { atMs: number; totalNs: number } | undefined): object {
  const total = sample.cgroup.cpu.totalNs;
  const elapsedMs = previous ? sample.readAtMs - previous.atMs : 0;
  const nanoCores = previous && elapsedMs > 0 && total >= previous.totalNs ? Math.round(((total - previous.totalNs) * 1000) / elapsedMs) : undefined;
  return {
    timestamp: nanosAt(sample.readAtMs),
    usage_core_nano_seconds: u64(total),
    ...(nanoCores !== undefined ? { usage_nano_cores: u64(nanoCores) } : {}),
  };
}

/** Bytes and inodes below `dir` (a container's writable layer), not following links. */
async function diskUsage(dir: string): Promise<{ bytes: number; inodes: number }> {
  let bytes = 0;
  let inodes = 0;
  const walk = async (path: string): Promise<void> => {
    const entries = await readdir(path, { withFileTypes: true }).catch(() => []);
    for (const entry of entries) {
      const child = join(path, entry.name);
      const info = await lstat(child).catch(() => undefined);
      if (!info) continue;
      inodes += 1;
      bytes += info.size;
      if (info.isDirectory()) await walk(child);
    }
  };
  await walk(dir);
  return { bytes, inodes };
}

export class Stats {
  readonly #engine: Engine;
  readonly #sandboxes: SandboxStore;
  /** The last CPU total seen of each container and pod, for usage_nano_cores. */
  readonly #lastCpu = new Map<string, { atMs: number; totalNs: number }>();

  constructor(engine: Engine, sandboxes: SandboxStore) {
    this.#engine = engine;
    this.#sandboxes = sandboxes;
  }

  async #sample(record: ContainerRecord): Promise<RuntimeStats | undefined> {
    if (!isRunningStatus(record.state.status)) return undefined;
    return this.#engine.containers.runtimeFor(record).stats(record.id).catch(() => undefined);
  }

  #cpu(key: string, sample: RuntimeStats): object {
    const cpu = cpuOf(sample, this.#lastCpu.get(key));
    this.#lastCpu.set(key, { atMs: sample.readAtMs, totalNs: sample.cgroup.cpu.totalNs });
    return cpu;
  }

  async #containerStats(record: ContainerRecord, sample: RuntimeStats | undefined): Promise<object> {
    const info = criInfoOf(record);
    const attributes = { id: record.id, metadata: info?.metadata ?? { name: record.name, attempt: 0 }, labels: info?.labels ?? {}, annotations: info?.annotations ?? {} };
    if (!sample) return { attributes };
    const upper = this.#engine.containers.pathsOf(record.id).upper;
    const usage = await diskUsage(upper);
    return {
      attributes,
      cpu: this.#cpu(record.id, sample),
      memory: memoryOf(sample),
      writable_layer: { timestamp: nanosAt(Date.now()), fs_id: { mountpoint: upper }, used_bytes: u64(usage.bytes), inodes_used: u64(usage.inodes) },
    };
  }

  async container(record: ContainerRecord): Promise<object> {
    return this.#containerStats(record, await this.#sample(record));
  }

  async listContainers(filter: { id: string; pod_sandbox_id: string; label_selector: Record<string, string> } | null): Promise<object[]> {
    const out: object[] = [];
    for (const record of this.#engine.containers.all()) {
      const info = criInfoOf(record);
      if (!info) continue;
      if (filter?.id && !record.id.startsWith(filter.id)) continue;
      if (filter?.pod_sandbox_id && !(record.settings.labels[LABEL_SANDBOX_ID] ?? '').startsWith(filter.pod_sandbox_id)) continue;
      if (!labelsMatch(info.labels, filter?.label_selector)) continue;
      out.push(await this.container(record));
    }
    return out;
  }

  async pod(sandbox: SandboxRecord): Promise<object> {
    const attributes = { id: sandbox.id, metadata: sandbox.metadata, labels: sandbox.labels, annotations: sandbox.annotations };
    const containers: object[] = [];
    const samples: RuntimeStats[] = [];
    for (const record of containersOf(this.#engine, sandbox.id)) {
      const sample = await this.#sample(record);
      if (sample) samples.push(sample);
      containers.push(await this.#containerStats(record, sample));
    }
    if (samples.length === 0) return { attributes, linux: { containers } };
    // The pod's figures: its containers' summed, as one sample.
    const first = samples[0]!;
    const summed: RuntimeStats = {
      ...first,
      cgroup: {
        ...first.cgroup,
        cpu: { ...first.cgroup.cpu, totalNs: samples.reduce((n, s) => n + s.cgroup.cpu.totalNs, 0) },
        memory: {
          usageBytes: samples.reduce((n, s) => n + s.cgroup.memory.usageBytes, 0),
          stats: Object.fromEntries(['total_inactive_file', 'inactive_file', 'total_rss', 'anon', 'total_pgfault', 'pgfault', 'total_pgmajfault', 'pgmajfault'].map((k) => [k, samples.reduce((n, s) => n + (s.cgroup.memory.stats[k] ?? 0), 0)])),
        },
        pids: { current: samples.reduce((n, s) => n + s.cgroup.pids.current, 0) },
      },
    };
    // Every container of the pod sees the same namespace: any sample's counters are the pod's.
    const interfaces = Object.entries(first.networks).filter(([name]) => name !== 'lo')
      .map(([name, c]) => ({ name, rx_bytes: u64(c.rxBytes), rx_errors: u64(c.rxErrors), tx_bytes: u64(c.txBytes), tx_errors: u64(c.txErrors) }));
    const primary = interfaces.find((i) => i.name === 'eth0') ?? interfaces[0];
    return {
      attributes,
      linux: {
        cpu: this.#cpu(`pod:${sandbox.id}`, summed),
        memory: memoryOf(summed),
        ...(primary && !sandbox.hostNetwork ? { network: { timestamp: nanosAt(first.readAtMs), default_interface: primary, interfaces: interfaces.filter((i) => i !== primary) } } : {}),
        process: { timestamp: nanosAt(first.readAtMs), process_count: u64(summed.cgroup.pids.current) },
        containers,
      },
    };
  }

  async listPods(filter: { id: string; label_selector: Record<string, string> } | null): Promise<object[]> {
    const out: object[] = [];
    for (const sandbox of this.#sandboxes.all()) {
      if (filter?.id && !sandbox.id.startsWith(filter.id)) continue;
      if (!labelsMatch(sandbox.labels, filter?.label_selector)) continue;
      out.push(await this.pod(sandbox));
    }
    return out;
  }
}
