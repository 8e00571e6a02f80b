/**
 * Network namespace handles as `ip netns` makes them: an empty file with a new namespace
 * bind-mounted on it, so the namespace outlives every process in it until Berth removes it.
 */
import { access, mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runChecked, runCommand } from '../sys/index.js';

/**
 * Make `<dir>/<name>` a new network namespace handle; returns its path. With `loopbackUp` its
 * loopback is brought up by the same process (`ip` run inside the new namespace), which saves
 * a CNI loopback plugin call on every container start.
 */
export async function createNetns(dir: string, name: string, options: { loopbackUp?: boolean } = {}): Promise<string> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const path = join(dir, name);
  await removeNetns(path);
  await writeFile(path, '', { mode: 0o600 });
  try {
    // util-linux's unshare binds the new namespace onto the file (what `ip netns add` does).
    await runChecked('unshare', [`--net=${path}`, ...(options.loopbackUp ? ['ip', 'link', 'set', 'dev', 'lo', 'up'] : ['true'])]);
  } catch (err) {
    await rm(path, { force: true });
    throw err;
  }
  return path;
}

/** Unmount and delete a handle; a missing one is not an error. */
export async function removeNetns(path: string): Promise<void> {
  // No file, no mount on it (a mount point cannot be unlinked): spare the umount process, the
  // common case for every container without a network of Berth's (`--network none`, `host`).
  if (!(await access(path).then(() => true, () => false))) return;
  await runCommand('umount', ['-l', path]);
  await rm(path, { force: true });
}

/** The handles present under `dir` (names only). */
export async function listNetns(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir)).filter((name) => !name.startsWith('.'));
  } catch {
    return [];
  }
}
