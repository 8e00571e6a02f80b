/**
 * Host cgroup layout: which mode the host runs (v1, hybrid, v2), the one fix-up the OCI
 * runtimes need on hybrid hosts, and reading a container's cgroup for `top`.
 * The cgroup driver is cgroupfs: crun/runc create the cgroups from the spec's cgroupsPath.
 */
import { readFile, readdir, mkdir, rmdir, statfs } from 'node:fs/promises';
import { join } from 'node:path';
import { BerthError, errnoOf, messageOf } from '../common/index.js';
import { runChecked } from './run-command.js';

/** v2: unified only; hybrid: v1 controllers plus a cgroup2 at `unified/`; v1: controllers only. */
export type CgroupMode = 'v1' | 'hybrid' | 'v2';

const CGROUP2_SUPER_MAGIC = 0x63677270;

/** Where the host's cgroup filesystems are mounted. */
export const CGROUP_ROOT = '/sys/fs/cgroup';

/** The host has no usable cgroup filesystem under the cgroup root. */
export class CgroupsUnavailableError extends BerthError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('unavailable', 'BERTH_CGROUPS_UNAVAILABLE', message, options);
  }
}

async function isCgroup2(path: string): Promise<boolean> {
  try {
    return (await statfs(path)).type === CGROUP2_SUPER_MAGIC;
  } catch {
    return false;
  }
}

/**
 * Detect the host's cgroup mode from the filesystem types under `root`. Throws
 * CgroupsUnavailableError when `root` holds neither a cgroup2 nor any v1 hierarchy.
 */
export async function detectCgroupMode(root: string = CGROUP_ROOT): Promise<CgroupMode> {
  if (await isCgroup2(root)) return 'v2';
  const hasV1 = await readFile(join(root, 'pids', 'cgroup.procs'), 'utf8').then(
    () => true,
    async () => readFile(join(root, 'memory', 'cgroup.procs'), 'utf8').then(() => true, () => false),
  );
  if (!hasV1) throw new CgroupsUnavailableError(`no cgroup filesystem found under ${root}`);
  return (await isCgroup2(join(root, 'unified'))) ? 'hybrid' : 'v1';
}

/** What `ensureRuntimeCgroups` found and did. */
export interface CgroupSetupReport {
  mode: CgroupMode;
  /** Mount points this call created. */
  mounted: string[];
  /** Problems it could not fix, one sentence each, for the daemon to log or refuse on. */
  problems: string[];
}

/** Seams for tests; the defaults touch the real host. */
export interface EnsureCgroupsOptions {
  root?: string;
  mountinfoPath?: string;
  procCgroupsPath?: string;
  /** Mount a v1 hierarchy with the given controller at `target`. */
  mountV1?: (controller: string, target: string) => Promise<void>;
  detectMode?: () => Promise<CgroupMode>;
}

async function mountV1Hierarchy(controller: string, target: string): Promise<void> {
  await mkdir(target, { recursive: true });
  await runChecked('mount', ['-t', 'cgroup', '-o', controller, 'cgroup', target]);
}

/** Mount points listed in a mountinfo file (field 5), unescaped. */
function mountPoints(mountinfo: string): Set<string> {
  const points = new Set<string>();
  for (const line of mountinfo.split('\n')) {
    const field = line.split(' ')[4];
    if (field) points.add(field.replace(/\\([0-7]{3})/g, (_m, octal: string) => String.fromCharCode(parseInt(octal, 8))));
  }
  return points;
}

/** Controllers the kernel has enabled, from /proc/cgroups. */
function enabledControllers(procCgroups: string): Set<string> {
  const names = new Set<string>();
  for (const line of procCgroups.split('\n')) {
    if (line.startsWith('#') || line.trim() === '') continue;
    const [name, , , enabled] = line.trim().split(/\s+/);
    if (name && enabled === '1') names.add(name);
  }
  return names;
}

/**
 * Make the host's cgroups usable by crun. On hybrid hosts crun 1.8 refuses to run ("cgroups in
 * hybrid mode not supported") while an enabled v1 controller has no mounted hierarchy; the one
 * usually missing is hugetlb, which this mounts at `<root>/hugetlb`. Idempotent. Never throws for
 * what it cannot fix: those come back in `problems`.
 */
export async function ensureRuntimeCgroups(options: EnsureCgroupsOptions = {}): Promise<CgroupSetupReport> {
  const root = options.root ?? CGROUP_ROOT;
  let mode: CgroupMode;
  try {
    mode = await (options.detectMode ?? (() => detectCgroupMode(root)))();
  } catch (err) {
    return { mode: 'v1', mounted: [], problems: [messageOf(err)] };
  }
  const report: CgroupSetupReport = { mode, mounted: [], problems: [] };
  if (mode === 'v2') return report;
  const mountinfo = await readFile(options.mountinfoPath ?? '/proc/self/mountinfo', 'utf8');
  const procCgroups = await readFile(options.procCgroupsPath ?? '/proc/cgroups', 'utf8');
  const points = mountPoints(mountinfo);
  const enabled = enabledControllers(procCgroups);
  for (const required of ['pids', 'memory', 'cpu', 'devices', 'freezer']) {
    if (!enabled.has(required)) {
      report.problems.push(`the kernel has no ${required} cgroup controller enabled; limits and stats that need it will not work`);
    }
  }
  if (mode === 'hybrid' && enabled.has('hugetlb')) {
    const target = join(root, 'hugetlb');
    if (!points.has(target)) {
      try {
        await (options.mountV1 ?? mountV1Hierarchy)('hugetlb', target);
        report.mounted.push(target);
      } catch (err) {
        report.problems.push(`cannot mount the hugetlb cgroup hierarchy at ${target} that crun needs on hybrid hosts: ${messageOf(err)}`);
      }
    }
  }
  return report;
}

/** Parse a cgroup.procs file: one pid per line. */
export function parseCgroupProcs(text: string): number[] {
  return text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '')
    .map(Number)
    .filter((pid) => Number.isInteger(pid) && pid > 0);
}

/**
 * The directory of the cgroup that holds `pid`, chosen from /proc/<pid>/cgroup: the v1 pids
 * hierarchy when mounted (v1 and hybrid), else the unified one. Undefined when the process is gone.
 */
export async function processCgroupDir(pid: number, root: string = CGROUP_ROOT): Promise<string | undefined> {
  let text: string;
  try {
    text = await readFile(`/proc/${pid}/cgroup`, 'utf8');
  } catch (err) {
    if (errnoOf(err) === 'ENOENT' || errnoOf(err) === 'ESRCH') return undefined;
    throw err;
  }
  return cgroupDirFromProcFile(text, root, await isCgroup2(root));
}

/** Pure part of processCgroupDir, for tests: `isUnifiedRoot` says the root itself is cgroup2. */
export function cgroupDirFromProcFile(procCgroup: string, root: string, isUnifiedRoot: boolean): string | undefined {
  let unified: string | undefined;
  for (const line of procCgroup.split('\n')) {
    const match = /^(\d+):([^:]*):(.*)$/.exec(line.trim());
    if (!match) continue;
    const [, , controllers, path] = match as unknown as [string, string, string, string];
    if (controllers === '') unified = path;
    else if (!isUnifiedRoot && controllers.split(',').includes('pids')) return join(root, 'pids', path);
  }
  if (unified === undefined) return undefined;
  return isUnifiedRoot ? join(root, unified) : join(root, 'unified', unified);
}

/** Host pids in the cgroup directory `dir` (not its children); empty when the cgroup is gone. */
export async function readCgroupPids(dir: string): Promise<number[]> {
  try {
    return parseCgroupProcs(await readFile(join(dir, 'cgroup.procs'), 'utf8'));
  } catch (err) {
    if (errnoOf(err) === 'ENOENT') return [];
    throw err;
  }
}

/** Host pids sharing the cgroup of `pid` (a container's init): what `docker top` lists. */
export async function listCgroupPidsOf(pid: number, root: string = CGROUP_ROOT): Promise<number[]> {
  const dir = await processCgroupDir(pid, root);
  if (dir === undefined) return [];
  return readCgroupPids(dir);
}

/**
 * Directories a cgroupfs `cgroupsPath` (e.g. `/berth/<id>`) occupies on this host, for cleanup
 * checks: one per mounted v1 controller, or the unified one.
 */
export async function cgroupDirsFor(cgroupsPath: string, root: string = CGROUP_ROOT): Promise<string[]> {
  const mode = await detectCgroupMode(root);
  if (mode === 'v2') return [join(root, cgroupsPath)];
  // Every mounted hierarchy (named ones like name=systemd included); combined controllers may
  // appear twice through symlinks, which is harmless for existence checks and rmdir.
  const entries = await readdir(root, { withFileTypes: true });
  return entries.filter((entry) => entry.isDirectory() || entry.isSymbolicLink()).map((entry) => join(root, entry.name, cgroupsPath));
}

/**
 * Remove the (empty) cgroup directories a `cgroupsPath` occupies, deepest first, and report the
 * ones that could not go (a directory still holding processes stays: rmdir refuses with EBUSY).
 * The runtimes remove them on `delete`, but not after a create that failed part-way through the
 * cgroup set-up, nor when the container's record was lost; this is the sweep for those.
 */
export async function removeCgroupDirs(cgroupsPath: string, root: string = CGROUP_ROOT): Promise<string[]> {
  const left: string[] = [];
  // Never the root of a hierarchy, whatever a record says.
  if (cgroupsPath.split('/').every((part) => part === '' || part === '.' || part === '..')) return left;
  if (cgroupsPath.split('/').includes('..')) return left;
  for (const dir of await cgroupDirsFor(cgroupsPath, root).catch(() => [] as string[])) {
    try {
      await removeCgroupTree(dir);
    } catch (err) {
      if (errnoOf(err) !== 'ENOENT') left.push(dir);
    }
  }
  return left;
}

/** rmdir a cgroup directory after its child cgroups (a cgroup's files cannot be unlinked). */
async function removeCgroupTree(dir: string): Promise<void> {
  const entries = await readdir(dir, { withFileTypes: true });
  for (const entry of entries) {
    if (entry.isDirectory()) await removeCgroupTree(join(dir, entry.name));
  }
  await rmdir(dir);
}

// ---- stats ------------------------------------------------------------------

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
