/**
 * What crun lets a caller do without another process: release a created container through its
 * exec fifo (what `crun start` does), and hand it a seccomp filter compiled once instead of
 * compiling the same profile on every create. On this kind of host each process start costs
 * 10-20 ms, and compiling docker's default profile another ~20 ms per create.
 */
import { createHash } from 'node:crypto';
import { constants, open, readFile, rm, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { errnoOf } from '../../common/index.js';
import { isProcessAlive, removeCgroupDirs } from '../../sys/index.js';
import type { RuntimeSpec } from '../../oci/index.js';

/**
 * crun's annotation for a ready seccomp program (base64 of the raw `struct sock_filter` array
 * that `seccomp(SECCOMP_SET_MODE_FILTER)` takes); crun then skips the spec's seccomp section
 * (crun(1), "run.oci.seccomp_bpf_data").
 */
export const SECCOMP_BPF_ANNOTATION = 'run.oci.seccomp_bpf_data';

/** How many compiled profiles are kept: a daemon sees a handful (default, per capability set, custom). */
const MAX_CACHED_FILTERS = 16;

/**
 * Release a container crun created: open its exec fifo for writing (its init waits on the read
 * side), unlink it (crun reads a missing fifo as "started") and write the one byte, in crun's
 * own order (libcrun `libcrun_status_write_exec_fifo`). Returns false, having changed nothing,
 * when there is no fifo or no reader (not created, already started, gone): the caller then asks
 * `crun start`, which says why in crun's words.
 */
export async function releaseThroughExecFifo(runtimeRoot: string, id: string): Promise<boolean> {
  const fifo = join(runtimeRoot, id, 'exec.fifo');
  let handle;
  try {
    // Non-blocking: with no reader the open fails (ENXIO) at once instead of hanging.
    handle = await open(fifo, constants.O_WRONLY | constants.O_NONBLOCK);
  } catch (err) {
    const code = errnoOf(err);
    if (code === 'ENOENT' || code === 'ENXIO' || code === 'ENOTDIR') return false;
    throw err;
  }
  try {
    if (!(await stat(fifo).then((s) => s.isFIFO(), () => false))) return false;
    await unlink(fifo);
    await handle.write(Buffer.from([0]));
  } finally {
    await handle.close();
  }
  return true;
}

/**
 * Delete a container whose process crun recorded as gone, as `crun delete` would: its cgroup
 * directories, then its state directory. Returns false, having removed nothing of crun's state,
 * when crun's record is unreadable or names a process still alive, or when a cgroup still holds
 * a process (`--pid host` children): `crun delete --force` must then kill them.
 */
export async function deleteStoppedDirectly(runtimeRoot: string, id: string, cgroupsPath: string): Promise<boolean> {
  const stateDir = join(runtimeRoot, id);
  let pid: number;
  try {
    pid = Number((JSON.parse(await readFile(join(stateDir, 'status'), 'utf8')) as { pid?: unknown }).pid);
  } catch {
    return false;
  }
  if (!Number.isInteger(pid) || pid <= 0 || isProcessAlive(pid)) return false;
  if ((await removeCgroupDirs(cgroupsPath)).length > 0) return false;
  await rm(stateDir, { recursive: true, force: true });
  return true;
}

/**
 * Compiled seccomp programs by the exact profile they came from. crun writes the program it
 * compiled to `<runtimeRoot>/<id>/seccomp.bpf`; the next create with the same profile gets it
 * through SECCOMP_BPF_ANNOTATION. Keyed by the seccomp section as crun reads it and by the
 * runtime binary (a crun upgrade compiles afresh). A profile with flags is never shortcut:
 * crun applies those from the section itself.
 */
export class SeccompFilterCache {
  readonly #filters = new Map<string, string>();
  readonly #runtimePath: string;
  #runtimeStamp: Promise<string> | undefined;

  constructor(runtimePath: string) {
    this.#runtimePath = runtimePath;
  }

  /** The cache key of `spec`'s profile, or undefined when it has none or one that is never shortcut. */
  async keyOf(spec: RuntimeSpec): Promise<string | undefined> {
    const seccomp = spec.linux?.seccomp;
    if (!seccomp || (seccomp.flags?.length ?? 0) > 0) return undefined;
    if (spec.annotations?.[SECCOMP_BPF_ANNOTATION] !== undefined) return undefined;
    this.#runtimeStamp ??= stat(this.#runtimePath).then((s) => `${s.size}:${s.mtimeMs}:${s.ino}`, () => 'unknown');
    return createHash('sha256').update(await this.#runtimeStamp).update('\0').update(JSON.stringify(seccomp)).digest('hex');
  }

  /** The compiled program for `key`, base64, if one is known. */
  get(key: string): string | undefined {
    return this.#filters.get(key);
  }

  /** After a create that compiled `key`'s profile: keep what crun wrote. A missing file is no error. */
  async learn(key: string, runtimeRoot: string, id: string): Promise<void> {
    if (this.#filters.has(key)) return;
    let program: Buffer;
    try {
      program = await readFile(join(runtimeRoot, id, 'seccomp.bpf'));
    } catch (err) {
      if (errnoOf(err) === 'ENOENT') return;
      throw err;
    }
    // A sock_filter is 8 bytes; anything else is not a program crun wrote whole.
    if (program.length === 0 || program.length % 8 !== 0) return;
    if (this.#filters.size >= MAX_CACHED_FILTERS) this.#filters.delete(this.#filters.keys().next().value!);
    this.#filters.set(key, program.toString('base64'));
  }
}
