/**
 * Network namespace handles as `ip netns` makes them: an empty file with a new namespace
 * bind-mounted on it, so the namespace outlives every process in it until Berth removes it.
 */
import { access, mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BerthError } from '../common/index.js';
import { runChecked, runCommand, type MountHelper } from '../sys/index.js';

/** A namespace handle berth-mount could not make (unshare's own failures are CommandFailedErrors). */
class NetnsError extends BerthError {
  constructor(message: string) {
    super('internal', 'BERTH_COMMAND_FAILED', message);
  }
}

/**
 * Make `<dir>/<name>` a new network namespace handle; returns its path. With `loopbackUp` its
 * loopback is brought up by the same process, which saves a CNI loopback plugin call on every
 * container start. Through `helper` (berth-mount) when given, else util-linux's unshare.
 */
export async function createNetns(dir: string, name: string, options: { loopbackUp?: boolean; helper?: MountHelper } = {}): Promise<string> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const path = join(dir, name);
  await removeNetns(path, options.helper);
  await writeFile(path, '', { mode: 0o600 });
  try {
    const answer = await options.helper?.makeNetns(path, options.loopbackUp ?? false);
    if (answer === undefined) {
      // util-linux's unshare binds the new namespace onto the file (what `ip netns add` does).
      await runChecked('unshare', [`--net=${path}`, ...(options.loopbackUp ? ['ip', 'link', 'set', 'dev', 'lo', 'up'] : ['true'])]);
    } else if (answer.errno !== 0) {
      throw new NetnsError(`cannot make network namespace ${path}: ${answer.message}`);
    }
  } catch (err) {
    await rm(path, { force: true });
    throw err;
  }
  return path;
}

/** Unmount and delete a handle; a missing one is not an error. */
export async function removeNetns(path: string, helper?: MountHelper): Promise<void> {
  // No file, no mount on it (a mount point cannot be unlinked): spare the umount, the common
  // case for every container without a network of Berth's (`--network none`, `host`).
  if (!(await access(path).then(() => true, () => false))) return;
  const answer = await helper?.unmount(path, true);
  if (answer === undefined) await runCommand('umount', ['-l', path]);
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
