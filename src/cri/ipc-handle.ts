/**
 * A pod's IPC namespace without a pause process: a new namespace bound onto a file (as network
 * namespace handles are), which the pod's containers join by path and which lives until removed.
 * The handle file's making and unbinding serve the pod's PID namespace too (pid-handle.ts).
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { InternalError } from '../common/index.js';
import { runCommand } from '../sys/index.js';

/** The empty file `<dir>/<id>` a namespace is bound onto (the directory made private to root). */
export async function makeHandleFile(dir: string, id: string): Promise<string> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const path = join(dir, id);
  await writeFile(path, '', { mode: 0o600 });
  return path;
}

/** Unbind a namespace handle and delete its file; a missing one is not an error. */
export async function unbindHandle(path: string): Promise<void> {
  await runCommand('umount', ['-l', path]);
  await rm(path, { force: true });
}

/** Make the handle `<dir>/<id>` of a new IPC namespace; returns its path. */
export async function createIpcHandle(dir: string, id: string): Promise<string> {
  const path = await makeHandleFile(dir, id);
  const made = await runCommand('unshare', [`--ipc=${path}`, 'true']);
  if (made.exitCode !== 0) {
    await rm(path, { force: true });
    throw new InternalError(`making the pod's IPC namespace: ${made.stderr.trim().split('\n').pop() ?? `unshare exited ${made.exitCode}`}`);
  }
  return path;
}

/** Unbind and delete an IPC handle; a missing one is not an error. */
export function removeIpcHandle(path: string): Promise<void> {
  return unbindHandle(path);
}
