/** Whether a process exists, asked with signal 0 (EPERM means it exists under another user). */
import { errnoOf } from '../common/index.js';

/** True while `pid` names a live (or zombie) process. */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return errnoOf(err) === 'EPERM';
  }
}
