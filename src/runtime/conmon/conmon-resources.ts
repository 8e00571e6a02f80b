/**
 * The OCI runtime commands that act on a live container's cgroup (pause, resume, update) and
 * the readers `stats` and the OOM flag need. ConmonRuntime's methods delegate here.
 */
import { access, open, writeFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { berthCgroupsPath, cgroupDirsFor, readCgroupStats, readHostCpu, readNetworkCounters, type CommandResult } from '../../sys/index.js';
import { NoSuchRuntimeContainerError, RuntimeError } from '../errors.js';
import { toOciResources } from '../spec/index.js';
import type { RuntimeResources, RuntimeStats } from '../types.js';

/** Runs the OCI runtime binary with its `--root` already given. */
export type RuntimeInvoker = (args: readonly string[]) => Promise<CommandResult>;

function failure(id: string, verb: string, result: CommandResult): Error {
  const message = result.stderr
    .split('\n')
    .map((line) => {
      try {
        const parsed = JSON.parse(line) as { msg?: unknown };
        return typeof parsed.msg === 'string' ? parsed.msg : line;
      } catch {
        return line;
      }
    })
    .filter((line) => line.trim() !== '')
    .join('; ');
  if (/does not exist|not found/i.test(message)) return new NoSuchRuntimeContainerError(id);
  return new RuntimeError(`${verb} ${id}: ${message || `exit status ${result.exitCode}`}`);
}

/** Freeze (`pause`) or thaw (`resume`) every process of the container through the cgroup freezer. */
export async function freeze(run: RuntimeInvoker, id: string, verb: 'pause' | 'resume'): Promise<void> {
  const result = await run([verb, id]);
  if (result.exitCode !== 0) throw failure(id, verb, result);
}

/**
 * Change a live container's cgroup limits with the runtime's `update --resources`; the
 * resources file is written to `scratchDir` and removed afterwards.
 */
export async function updateResources(run: RuntimeInvoker, id: string, resources: RuntimeResources, scratchDir: string): Promise<void> {
  // crun 1.8 writes an unlimited pids limit (-1) into pids.max as it is, which the kernel
  // refuses: "max" is written here instead, into the container's cgroup (the spec's default path).
  const isPidsUnlimited = resources.pidsLimit !== undefined && resources.pidsLimit < 0;
  const oci = toOciResources(isPidsUnlimited ? { ...resources, pidsLimit: undefined } : resources);
  if (isPidsUnlimited) {
    for (const dir of await cgroupDirsFor(berthCgroupsPath(id))) {
      const file = join(dir, 'pids.max');
      // Only the pids hierarchy (or the unified one) has the file; 'r+' never creates one elsewhere.
      const handle = await open(file, 'r+').catch(() => undefined);
      if (!handle) continue;
      try {
        await handle.writeFile('max');
      } catch (err) {
        throw new RuntimeError(`update ${id}: writing pids.max: ${(err as Error).message}`);
      } finally {
        await handle.close();
      }
    }
  }
  if (Object.keys(oci).length === 0) return;
  const file = join(scratchDir, 'update-resources.json');
  await writeFile(file, JSON.stringify(oci), { mode: 0o600 });
  try {
    const result = await run(['update', `--resources=${file}`, id]);
    if (result.exitCode !== 0) throw failure(id, 'update', result);
  } finally {
    await rm(file, { force: true });
  }
}

/** One stats sample of the process `pid` (a container's init); undefined when it is gone. */
export async function sampleStats(pid: number): Promise<RuntimeStats | undefined> {
  const [cgroup, host, networks] = await Promise.all([readCgroupStats(pid), readHostCpu(), readNetworkCounters(pid)]);
  if (cgroup === undefined) return undefined;
  return { readAtMs: Date.now(), cgroup, host, networks: networks ?? {} };
}

/** conmon writes an `oom` file into its persist directory when the kernel OOM-killed a process of the container. */
export async function hasOomFile(persistDir: string): Promise<boolean> {
  try {
    await access(join(persistDir, 'oom'));
    return true;
  } catch {
    return false;
  }
}
