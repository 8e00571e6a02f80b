/**
 * Reading a container's resource counters for `stats`: cgroup v1 controllers or the unified
 * hierarchy, the host's CPU time, and a network namespace's interface counters.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { errnoOf } from '../common/index.js';
import { CGROUP_ROOT, isCgroup2 } from './cgroups.js';
/** CPU time a cgroup used, in nanoseconds. */
export interface CgroupCpuUsage {
  totalNs: number;
  /** Per-CPU totals; v1 only (cpuacct.usage_percpu), absent on v2 as in docker. */
  perCpuNs?: number[];
  kernelNs: number;
  userNs: number;
  throttling: { periods: number; throttledPeriods: number; throttledNs: number };
}

/** Memory a cgroup uses; `limitBytes` is undefined when unlimited. */
export interface CgroupMemoryUsage {
  usageBytes: number;
  /** v1 only (memory.max_usage_in_bytes). */
  maxUsageBytes?: number;
  limitBytes?: number;
  /** v1 only (memory.failcnt). */
  failcnt?: number;
  /** memory.stat as key/value. */
  stats: Record<string, number>;
}

/** One block I/O counter: device, operation (`Read`/`Write`... on v1, `read`/`write` on v2), value. */
export interface CgroupBlkioEntry {
  major: number;
  minor: number;
  op: string;
  value: number;
}

/** One sample of a container's cgroup counters. Fields whose controller is missing are zero. */
export interface CgroupStats {
  mode: 'v1' | 'v2';
  cpu: CgroupCpuUsage;
  memory: CgroupMemoryUsage;
  pids: { current: number; limit?: number };
  blkio: { serviceBytes: CgroupBlkioEntry[]; serviced: CgroupBlkioEntry[] };
}

/** The host's CPU time (all CPUs, nanoseconds) and its online CPU count, from /proc/stat. */
export interface HostCpuSample {
  systemNs: number;
  onlineCpus: number;
}

/** Interface counters of one network interface, from /proc/<pid>/net/dev. */
export interface NetworkCounters {
  rxBytes: number;
  rxPackets: number;
  rxErrors: number;
  rxDropped: number;
  txBytes: number;
  txPackets: number;
  txErrors: number;
  txDropped: number;
}

// USER_HZ is 100 on every Linux architecture Berth runs on (it is fixed in the kernel ABI).
const NS_PER_TICK = 10_000_000;

async function readText(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    const code = errnoOf(err);
    if (code === 'ENOENT' || code === 'ENODEV' || code === 'ESRCH' || code === 'EINVAL' || code === 'ENOTDIR') return undefined;
    throw err;
  }
}

async function readNumber(path: string): Promise<number | undefined> {
  const text = (await readText(path))?.trim();
  if (text === undefined || text === '' || text === 'max') return undefined;
  const value = Number(text);
  return Number.isFinite(value) ? value : undefined;
}

/** Parse `key value` lines (memory.stat, cpu.stat, cpuacct.stat) into numbers. */
export function parseFlatKeyed(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const [key, value] = line.trim().split(/\s+/);
    if (key && value !== undefined && /^-?\d+$/.test(value)) out[key] = Number(value);
  }
  return out;
}

/** Parse v1 blkio files (`8:0 Read 4096`; the `Total` lines are kept, as docker keeps them). */
export function parseV1Blkio(text: string): CgroupBlkioEntry[] {
  const entries: CgroupBlkioEntry[] = [];
  for (const line of text.split('\n')) {
    const match = /^(\d+):(\d+)\s+(\S+)\s+(\d+)$/.exec(line.trim());
    if (match) entries.push({ major: Number(match[1]), minor: Number(match[2]), op: match[3]!, value: Number(match[4]) });
  }
  return entries;
}

/** Parse v2 io.stat (`8:0 rbytes=1 wbytes=2 rios=3 wios=4 ...`) into docker's read/write entries. */
export function parseV2IoStat(text: string): { serviceBytes: CgroupBlkioEntry[]; serviced: CgroupBlkioEntry[] } {
  const serviceBytes: CgroupBlkioEntry[] = [];
  const serviced: CgroupBlkioEntry[] = [];
  for (const line of text.split('\n')) {
    const [device, ...fields] = line.trim().split(/\s+/);
    const match = /^(\d+):(\d+)$/.exec(device ?? '');
    if (!match) continue;
    const major = Number(match[1]);
    const minor = Number(match[2]);
    const values: Record<string, number> = {};
    for (const field of fields) {
      const [key, value] = field.split('=');
      if (key && value !== undefined) values[key] = Number(value);
    }
    serviceBytes.push({ major, minor, op: 'read', value: values['rbytes'] ?? 0 }, { major, minor, op: 'write', value: values['wbytes'] ?? 0 });
    serviced.push({ major, minor, op: 'read', value: values['rios'] ?? 0 }, { major, minor, op: 'write', value: values['wios'] ?? 0 });
  }
  return { serviceBytes, serviced };
}

/**
 * The cgroup directory of each controller of `pid` from a /proc/<pid>/cgroup text: v1
 * controllers by name (`memory`, `cpuacct`...), the unified one under `''`.
 */
export function cgroupDirsFromProcFile(procCgroup: string, root: string, isUnifiedRoot: boolean): Map<string, string> {
  const dirs = new Map<string, string>();
  for (const line of procCgroup.split('\n')) {
    const match = /^(\d+):([^:]*):(.*)$/.exec(line.trim());
    if (!match) continue;
    const controllers = match[2]!;
    const path = match[3]!;
    if (controllers === '') {
      dirs.set('', isUnifiedRoot ? join(root, path) : join(root, 'unified', path));
      continue;
    }
    if (isUnifiedRoot) continue;
    // Co-mounted controllers (`cpu,cpuacct`) live in one directory; the per-controller symlinks may be absent.
    for (const controller of controllers.split(',')) dirs.set(controller, join(root, controllers, path));
  }
  return dirs;
}

async function existingDir(candidates: string[]): Promise<string | undefined> {
  for (const dir of candidates) {
    if ((await readText(join(dir, 'cgroup.procs'))) !== undefined) return dir;
  }
  return undefined;
}

async function readV1Stats(dirs: Map<string, string>, root: string): Promise<CgroupStats> {
  // `/sys/fs/cgroup/cpuacct` may be a symlink to `cpu,cpuacct` or its own mount: try both.
  const pick = async (controller: string): Promise<string | undefined> => {
    const dir = dirs.get(controller);
    if (dir === undefined) return undefined;
    const relative = dir.slice(dir.indexOf('/', root.length + 1));
    return existingDir([dir, join(root, controller, relative)]);
  };
  const [cpuacct, cpu, memory, pids, blkio] = await Promise.all(['cpuacct', 'cpu', 'memory', 'pids', 'blkio'].map(pick));
  const stats: CgroupStats = {
    mode: 'v1',
    cpu: { totalNs: 0, kernelNs: 0, userNs: 0, throttling: { periods: 0, throttledPeriods: 0, throttledNs: 0 } },
    memory: { usageBytes: 0, stats: {} },
    pids: { current: 0 },
    blkio: { serviceBytes: [], serviced: [] },
  };
  if (cpuacct) {
    stats.cpu.totalNs = (await readNumber(join(cpuacct, 'cpuacct.usage'))) ?? 0;
    const perCpu = (await readText(join(cpuacct, 'cpuacct.usage_percpu')))?.trim();
    if (perCpu) stats.cpu.perCpuNs = perCpu.split(/\s+/).map(Number);
    const ticks = parseFlatKeyed((await readText(join(cpuacct, 'cpuacct.stat'))) ?? '');
    stats.cpu.userNs = (ticks['user'] ?? 0) * NS_PER_TICK;
    stats.cpu.kernelNs = (ticks['system'] ?? 0) * NS_PER_TICK;
  }
  if (cpu) {
    const throttle = parseFlatKeyed((await readText(join(cpu, 'cpu.stat'))) ?? '');
    stats.cpu.throttling = { periods: throttle['nr_periods'] ?? 0, throttledPeriods: throttle['nr_throttled'] ?? 0, throttledNs: throttle['throttled_time'] ?? 0 };
  }
  if (memory) {
    stats.memory.usageBytes = (await readNumber(join(memory, 'memory.usage_in_bytes'))) ?? 0;
    stats.memory.maxUsageBytes = (await readNumber(join(memory, 'memory.max_usage_in_bytes'))) ?? 0;
    stats.memory.failcnt = (await readNumber(join(memory, 'memory.failcnt'))) ?? 0;
    const limit = await readNumber(join(memory, 'memory.limit_in_bytes'));
    // v1 reports "unlimited" as a page-aligned huge number.
    if (limit !== undefined && limit < 2 ** 62) stats.memory.limitBytes = limit;
    stats.memory.stats = parseFlatKeyed((await readText(join(memory, 'memory.stat'))) ?? '');
  }
  if (pids) {
    stats.pids.current = (await readNumber(join(pids, 'pids.current'))) ?? 0;
    const limit = await readNumber(join(pids, 'pids.max'));
    if (limit !== undefined) stats.pids.limit = limit;
  }
  if (blkio) {
    // CFQ's recursive files are empty under other schedulers; the throttle files always count.
    let bytes = parseV1Blkio((await readText(join(blkio, 'blkio.io_service_bytes_recursive'))) ?? '');
    let ios = parseV1Blkio((await readText(join(blkio, 'blkio.io_serviced_recursive'))) ?? '');
    if (bytes.length === 0) bytes = parseV1Blkio((await readText(join(blkio, 'blkio.throttle.io_service_bytes'))) ?? '');
    if (ios.length === 0) ios = parseV1Blkio((await readText(join(blkio, 'blkio.throttle.io_serviced'))) ?? '');
    stats.blkio = { serviceBytes: bytes, serviced: ios };
  }
  return stats;
}

async function readV2Stats(dir: string): Promise<CgroupStats> {
  const cpu = parseFlatKeyed((await readText(join(dir, 'cpu.stat'))) ?? '');
  const limit = await readNumber(join(dir, 'memory.max'));
  const pidsLimit = await readNumber(join(dir, 'pids.max'));
  const stats: CgroupStats = {
    mode: 'v2',
    cpu: {
      totalNs: (cpu['usage_usec'] ?? 0) * 1000,
      userNs: (cpu['user_usec'] ?? 0) * 1000,
      kernelNs: (cpu['system_usec'] ?? 0) * 1000,
      throttling: { periods: cpu['nr_periods'] ?? 0, throttledPeriods: cpu['nr_throttled'] ?? 0, throttledNs: (cpu['throttled_usec'] ?? 0) * 1000 },
    },
    memory: {
      usageBytes: (await readNumber(join(dir, 'memory.current'))) ?? 0,
      stats: parseFlatKeyed((await readText(join(dir, 'memory.stat'))) ?? ''),
      ...(limit !== undefined ? { limitBytes: limit } : {}),
    },
    pids: { current: (await readNumber(join(dir, 'pids.current'))) ?? 0, ...(pidsLimit !== undefined ? { limit: pidsLimit } : {}) },
    blkio: parseV2IoStat((await readText(join(dir, 'io.stat'))) ?? ''),
  };
  return stats;
}

/**
 * One sample of the counters of the cgroup(s) holding `pid` (a container's init), read from
 * the v1 controllers on v1 and hybrid hosts, the unified hierarchy on v2. Undefined when the
 * process is gone.
 */
export async function readCgroupStats(pid: number, root: string = CGROUP_ROOT): Promise<CgroupStats | undefined> {
  const text = await readText(`/proc/${pid}/cgroup`);
  if (text === undefined) return undefined;
  const isUnified = await isCgroup2(root);
  const dirs = cgroupDirsFromProcFile(text, root, isUnified);
  if (isUnified) {
    const dir = dirs.get('');
    return dir === undefined ? undefined : readV2Stats(dir);
  }
  return readV1Stats(dirs, root);
}

/** Parse /proc/stat: the `cpu` line's total (in ns) and the number of `cpuN` lines. */
export function parseProcStat(text: string): HostCpuSample {
  let systemNs = 0;
  let onlineCpus = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith('cpu ')) {
      // user nice system idle iowait irq softirq steal: docker sums these eight (not guest time).
      const fields = line.trim().split(/\s+/).slice(1, 9).map(Number);
      systemNs = fields.reduce((sum, value) => sum + (Number.isFinite(value) ? value : 0), 0) * NS_PER_TICK;
    } else if (/^cpu\d+\s/.test(line)) {
      onlineCpus++;
    }
  }
  return { systemNs, onlineCpus };
}

/** The host's CPU time and online CPUs now. */
export async function readHostCpu(procStatPath = '/proc/stat'): Promise<HostCpuSample> {
  return parseProcStat(await readFile(procStatPath, 'utf8'));
}

/** Parse a /proc/net/dev text into counters per interface. */
export function parseNetDev(text: string): Record<string, NetworkCounters> {
  const out: Record<string, NetworkCounters> = {};
  for (const line of text.split('\n')) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const name = line.slice(0, colon).trim();
    const f = line.slice(colon + 1).trim().split(/\s+/).map(Number);
    if (name === '' || f.length < 16) continue;
    out[name] = { rxBytes: f[0]!, rxPackets: f[1]!, rxErrors: f[2]!, rxDropped: f[3]!, txBytes: f[8]!, txPackets: f[9]!, txErrors: f[10]!, txDropped: f[11]! };
  }
  return out;
}

/** Counters of the interfaces in the network namespace of `pid`; undefined when the process is gone. */
export async function readNetworkCounters(pid: number): Promise<Record<string, NetworkCounters> | undefined> {
  const text = await readText(`/proc/${pid}/net/dev`);
  return text === undefined ? undefined : parseNetDev(text);
}
