/**
 * Which optional cgroup settings this host can apply (swappiness, real-time group scheduling,
 * block I/O weight and throttles), read from the files the controllers have, and the real-time
 * budget berthd gives its containers' parent cgroup (dockerd's `--cpu-rt-runtime`).
 */
import { access, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BerthError, messageOf } from '../common/index.js';
import { CGROUP_ROOT, type CgroupMode } from './cgroups.js';

/** What the host's cgroups can apply beyond the basics. */
export interface HostCgroupFeatures {
  memorySwappiness: boolean;
  cpuRealtime: boolean;
  blkioWeight: boolean;
  blkioWeightDevice: boolean;
  blkioThrottle: boolean;
}

const exists = (path: string): Promise<boolean> => access(path).then(() => true, () => false);

/**
 * Probe the controllers' files under `root`. v1 and hybrid hosts: the v1 memory, cpu and blkio
 * hierarchies (blkio.weight exists only with the BFQ or CFQ scheduler). v2: the io controller
 * (io.weight and io.max); v2 has neither swappiness nor real-time groups.
 */
export async function probeCgroupFeatures(mode: CgroupMode, root: string = CGROUP_ROOT): Promise<HostCgroupFeatures> {
  if (mode === 'v2') {
    const controllers = (await readFile(join(root, 'cgroup.controllers'), 'utf8').catch(() => '')).split(/\s+/);
    const hasIo = controllers.includes('io');
    return { memorySwappiness: false, cpuRealtime: false, blkioWeight: hasIo, blkioWeightDevice: hasIo, blkioThrottle: hasIo };
  }
  const [memorySwappiness, cpuRealtime, weight, bfqWeight, weightDevice, bfqWeightDevice, blkioThrottle] = await Promise.all([
    exists(join(root, 'memory', 'memory.swappiness')),
    exists(join(root, 'cpu', 'cpu.rt_runtime_us')),
    exists(join(root, 'blkio', 'blkio.weight')),
    exists(join(root, 'blkio', 'blkio.bfq.weight')),
    exists(join(root, 'blkio', 'blkio.weight_device')),
    exists(join(root, 'blkio', 'blkio.bfq.weight_device')),
    exists(join(root, 'blkio', 'blkio.throttle.read_bps_device')),
  ]);
  return { memorySwappiness, cpuRealtime, blkioWeight: weight || bfqWeight, blkioWeightDevice: weightDevice || bfqWeightDevice, blkioThrottle };
}

/** The kernel refused the real-time budget berthd was asked to give its containers. */
export class RealtimeBudgetError extends BerthError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('invalid-argument', 'BERTH_CPU_RT_BUDGET', message, options);
  }
}

/**
 * Give the cgroup `parent` (e.g. `/berth`) and each cgroup above it a real-time period and
 * runtime (v1's cpu controller), so the containers below may have runtime of their own: the
 * kernel lets a group's children have no more than the group has. Levels that already have at
 * least `runtimeUs` keep theirs. Throws RealtimeBudgetError when the kernel refuses.
 */
export async function grantRealtimeBudget(parent: string, periodUs: number, runtimeUs: number, root: string = CGROUP_ROOT): Promise<void> {
  const parts = parent.split('/').filter((part) => part !== '');
  for (let depth = 1; depth <= parts.length; depth++) {
    const dir = join(root, 'cpu', ...parts.slice(0, depth));
    await mkdir(dir, { recursive: true });
    const current = Number((await readFile(join(dir, 'cpu.rt_runtime_us'), 'utf8').catch(() => '0')).trim());
    if (current >= runtimeUs) continue;
    try {
      await writeFile(join(dir, 'cpu.rt_period_us'), String(periodUs));
      await writeFile(join(dir, 'cpu.rt_runtime_us'), String(runtimeUs));
    } catch (err) {
      throw new RealtimeBudgetError(`cannot give ${dir} a real-time runtime of ${runtimeUs}us per ${periodUs}us: ${messageOf(err)}`, { cause: err });
    }
  }
}
