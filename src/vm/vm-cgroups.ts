/**
 * The host cgroup of a VM container: the shim joins the spec's cgroupsPath before it starts
 * QEMU, so `top`, `stats` and the OOM and cleanup checks see the VM's host processes (the shim
 * and QEMU) exactly where they look for a process container's, and nothing else.
 */
import { mkdir, rmdir, writeFile } from 'node:fs/promises';
import { berthCgroupsPath, cgroupDirsFor } from '../sys/index.js';

/** The cgroupsPath the spec asks for, or `/berth/<id>` as the spec builder makes it. */
export function vmCgroupsPath(cgroupsPath: string | undefined, id: string): string {
  return cgroupsPath && cgroupsPath.startsWith('/') ? cgroupsPath : berthCgroupsPath(id);
}

/**
 * Move pid into cgroupsPath in every hierarchy that takes it. Hierarchies that refuse (a v1
 * cpuset with no cpus yet, a named one) are skipped: placement is for accounting, not limits,
 * which the VM's size already sets.
 */
export async function joinVmCgroup(cgroupsPath: string, pid: number): Promise<void> {
  for (const dir of await cgroupDirsFor(cgroupsPath).catch(() => [] as string[])) {
    try {
      await mkdir(dir, { recursive: true });
      await writeFile(`${dir}/cgroup.procs`, String(pid));
    } catch {
      // See above.
    }
  }
}

/** Remove cgroupsPath's directories once their processes are gone; retries briefly while they exit. */
export async function removeVmCgroup(cgroupsPath: string): Promise<void> {
  const dirs = await cgroupDirsFor(cgroupsPath).catch(() => [] as string[]);
  for (let attempt = 0; attempt < 50; attempt++) {
    let isBusy = false;
    for (const dir of dirs) {
      try {
        await rmdir(dir);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EBUSY') isBusy = true;
      }
    }
    if (!isBusy) return;
    await new Promise((resolveWait) => setTimeout(resolveWait, 20));
  }
}
