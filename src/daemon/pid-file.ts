/**
 * berthd's pid file: refuses a second daemon on the same state, replaces a stale file.
 */
import { readFileSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { BerthError, errnoOf, writeFileAtomic } from '../common/index.js';

/** A live berthd: not a zombie (a SIGKILLed daemon not yet reaped) and not a reused pid. */
function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    if (state === 'Z' || state === 'X') return false;
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('berthd');
  } catch {
    return false;
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
