/**
 * A pod's shared process namespace (`shareProcessNamespace`, namespace mode POD) without a pause
 * container: a small init (Debian's tini, the one `--init` uses) started as PID 1 of a new PID
 * namespace, which is bound onto a handle file the pod's containers join by path. A PID namespace
 * takes new members only while its init lives, so the init stays until the pod stops; its end
 * ends every process left in the namespace, as the pause container's does.
 */
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { InternalError } from '../common/index.js';
import { makeHandleFile, unbindHandle } from './ipc-handle.js';

/** The pod's PID namespace while it is ready. */
export interface PidHandle {
  /** The handle its containers join (an nsfs bind of the namespace). */
  path: string;
  /** The `unshare` that holds the init (its death kills the init: --kill-child). */
  holderPid: number;
}

const TINI = '/usr/bin/tini';
const READY_WAIT_MS = 5000;

/** Whether `path` is a mount point now (the namespace is bound onto it). */
async function isBound(path: string): Promise<boolean> {
  const mounts = await readFile('/proc/self/mountinfo', 'utf8').catch(() => '');
  return mounts.split('\n').some((line) => line.split(' ')[4] === path);
}

/** Whether `pid` is still the holder this module started (pids are reused). */
async function isHolder(pid: number, path: string): Promise<boolean> {
  const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
  return cmdline.split('\0').includes(`--pid=${path}`);
}

/** Start the pod's init in a new PID namespace bound at `<dir>/<id>`; resolves once members can join. */
export async function createPidHandle(dir: string, id: string): Promise<PidHandle> {
  const path = await makeHandleFile(dir, id);
  // setsid and its own stdio: the init outlives berthd, as the pod does.
  const holder = spawn('unshare', [`--pid=${path}`, '--fork', '--kill-child', TINI, '-s', '--', 'sleep', 'infinity'], { detached: true, stdio: 'ignore' });
  holder.unref();
  const failed = new Promise<string>((resolve) => {
    holder.once('error', (err) => resolve(err.message));
    holder.once('exit', (code, signal) => resolve(`unshare exited ${code ?? signal}`));
  });
  const deadline = Date.now() + READY_WAIT_MS;
  for (;;) {
    if (await isBound(path)) return { path, holderPid: holder.pid ?? 0 };
    const early = await Promise.race([failed, new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 20))]);
    if (early !== undefined || Date.now() > deadline) {
      if (holder.pid) await removePidHandle({ path, holderPid: holder.pid });
      throw new InternalError(`making the pod's process namespace: ${early ?? 'the namespace was not bound in time'}`);
    }
  }
}

/** End the pod's init (and so every process left in its namespace), then unbind and delete the handle. */
export async function removePidHandle(handle: PidHandle): Promise<void> {
  if (handle.holderPid > 0 && (await isHolder(handle.holderPid, handle.path))) {
    try {
      // unshare --fork ignores SIGTERM while it waits; its death sends the init SIGKILL (--kill-child).
      process.kill(handle.holderPid, 'SIGKILL');
    } catch {
      // Gone already.
    }
  }
  await unbindHandle(handle.path);
}
