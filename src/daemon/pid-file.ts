/**
 * berthd's pid file: refuses a second daemon on the same state, replaces a stale file.
 */
import { readFile, rm } from 'node:fs/promises';
import { BerthError, errnoOf, writeFileAtomic } from '../common/index.js';

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return errnoOf(err) === 'EPERM';
  }
}

/** Write our pid, unless a live process already owns the file. */
export async function claimPidFile(path: string): Promise<void> {
  try {
    const pid = Number((await readFile(path, 'utf8')).trim());
    if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && isAlive(pid)) {
      throw new BerthError('conflict', 'BERTH_DAEMON_RUNNING', `berthd is already running as pid ${pid} (pid file ${path})`);
    }
  } catch (err) {
    if (err instanceof BerthError) throw err;
    if (errnoOf(err) !== 'ENOENT') throw err;
  }
  await writeFileAtomic(path, `${process.pid}\n`, 0o644);
}

export async function releasePidFile(path: string): Promise<void> {
  try {
    if (Number((await readFile(path, 'utf8')).trim()) === process.pid) await rm(path, { force: true });
  } catch {
    // Already gone.
  }
}
