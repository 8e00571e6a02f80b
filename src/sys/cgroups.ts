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

/** Whether `path` is a cgroup2 (unified) filesystem. */
export async function isCgroup2(path: string): Promise<boolean> {
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

/** The cgroupfs path Berth gives container `id` (`/berth/<id>`) unless its settings name another. */
export function berthCgroupsPath(id: string): string {
  return `/berth/${id}`;
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
  // The hierarchies are independent (a dozen under cgroup v1): remove from all of them at once.
  const dirs = await cgroupDirsFor(cgroupsPath, root).catch(() => [] as string[]);
  await Promise.all(dirs.map(async (dir) => {
    try {
      await removeCgroupTree(dir);
    } catch (err) {
      if (errnoOf(err) !== 'ENOENT') left.push(dir);
    }
  }));
  return left.sort();
}

/** rmdir a cgroup directory after its child cgroups (a cgroup's files cannot be unlinked). */
async function removeCgroupTree(dir: string): Promise<void> {
  const entries = await readdir(dir, { withFileTypes: true });
  for (const entry of entries) {
    if (entry.isDirectory()) await removeCgroupTree(join(dir, entry.name));
  }
  await rmdir(dir);
}
