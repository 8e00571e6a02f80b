/**
 * Pause and resume of a VM container: the cgroup freezer on the container's cgroup, which holds
 * the shim and QEMU, so the whole VM (guest clock included) stops and goes on as a process
 * container's processes do under crun pause/resume.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CGROUP_ROOT, detectCgroupMode } from '../sys/index.js';

const FREEZE_WAIT_MS = 5000;

/** Freeze (`pause`) or thaw (`resume`) cgroupsPath; resolves once the kernel reports it done. */
export async function setVmFrozen(cgroupsPath: string, isFrozen: boolean, root: string = CGROUP_ROOT): Promise<void> {
  const isUnified = (await detectCgroupMode(root)) === 'v2';
  const file = isUnified ? join(root, cgroupsPath, 'cgroup.freeze') : join(root, 'freezer', cgroupsPath, 'freezer.state');
  const wanted = isUnified ? (isFrozen ? '1' : '0') : isFrozen ? 'FROZEN' : 'THAWED';
  await writeFile(file, wanted);
  // v1 passes through FREEZING; v2 reports completion in cgroup.events ("frozen 1").
  const done = async (): Promise<boolean> => {
    if (!isUnified) return (await readFile(file, 'utf8')).trim() === wanted;
    const events = await readFile(join(root, cgroupsPath, 'cgroup.events'), 'utf8');
    return new RegExp(`^frozen ${wanted}$`, 'm').test(events);
  };
  const deadline = Date.now() + FREEZE_WAIT_MS;
  while (!(await done())) {
    if (Date.now() > deadline) throw new Error(`the cgroup ${cgroupsPath} did not become ${isFrozen ? 'frozen' : 'thawed'}`);
    await new Promise((resolveWait) => setTimeout(resolveWait, 10));
  }
}
