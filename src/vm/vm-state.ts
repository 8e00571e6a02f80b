/**
 * berth-vm's record of one container: `<root>/<id>/state.json`, written by `create`, and
 * `shim.status`, which the C shim (native/berth-vm-shim/session.c) replaces as the VM moves on, plus the
 * shim's sockets and the VM's console log in the same directory. The shim process is the
 * container's pid (conmon waits for it); the status read back is `stopped` whenever it is gone.
 */
import { readFile, rename, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Names inside the state directory; sockets are reached relative to it (sun_path is short). */
export const AGENT_SOCKET = 'agent.sock';
export const CONTROL_SOCKET = 'ctl.sock';
export const CONSOLE_LOG = 'console.log';
/** QEMU's monitor, for a VM saved as a template or restored from one. */
export const QMP_SOCKET = 'qmp.sock';
const SHIM_STATUS = 'shim.status';
/** Present while `pause` has the VM frozen; `state` then reports `paused` (native/berth-vm.c), as crun and runc do. */
export const PAUSED_MARK = 'paused';

/** What state.json holds, with the shim's status laid over it. */
export interface VmRecord {
  id: string;
  bundle: string;
  /** The shim's pid: the container's pid as conmon and the engine see it. */
  pid: number;
  status: 'creating' | 'created' | 'running' | 'stopped';
  created: string;
  accel?: string;
  exitCode?: number;
  /** Why the VM ended without the container's exit status (guest panic, QEMU died). */
  error?: string;
}

/** The container's state directory. */
export function vmStateDir(root: string, id: string): string {
  return join(root, id);
}

/**
 * Lay the shim's status file (`<created|running|stopped> <pid|exit code>`, then an optional
 * error line) over create's record.
 */
export function withShimStatus(record: VmRecord, statusText: string): VmRecord {
  const [first = '', error = ''] = statusText.split('\n');
  const match = /^(created|running|stopped) (-?\d+)$/.exec(first.trim());
  if (!match) return record;
  const status = match[1] as VmRecord['status'];
  const value = Number(match[2]);
  if (status !== 'stopped') return { ...record, status, pid: value };
  return { ...record, status, exitCode: value, ...(error.trim() ? { error: error.trim() } : {}) };
}

/** Read the container's record; undefined when it does not exist. */
export async function readVmRecord(root: string, id: string): Promise<VmRecord | undefined> {
  let record: VmRecord;
  try {
    record = JSON.parse(await readFile(join(vmStateDir(root, id), 'state.json'), 'utf8')) as VmRecord;
  } catch {
    return undefined;
  }
  const statusText = await readFile(join(vmStateDir(root, id), SHIM_STATUS), 'utf8').catch(() => '');
  return withShimStatus(record, statusText);
}

let writeCount = 0;

/** Replace state.json atomically. */
export async function writeVmRecord(root: string, record: VmRecord): Promise<void> {
  const path = join(vmStateDir(root, record.id), 'state.json');
  // A temp name per write: the shim may have two writes in flight.
  const temp = `${path}.${process.pid}.${++writeCount}.tmp`;
  await writeFile(temp, JSON.stringify(record));
  await rename(temp, path);
}

/** True when pid is alive and is the shim of this container (guards against pid reuse). */
export function isShimAlive(pid: number, id: string): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // A zombie has exited already; conmon has yet to reap it.
    if (/^\d+ \(.*\) Z /.test(stat)) return false;
    const [program = '', mode, dir = ''] = cmdline.split('\0');
    return program.endsWith('berth-vm-shim') && mode === 'run' && dir.endsWith(id);
  } catch {
    return false;
  }
}

/** The status to report: the record's, or stopped once the shim is gone. */
export function effectiveStatus(record: VmRecord): VmRecord['status'] {
  if (record.status === 'stopped') return 'stopped';
  return isShimAlive(record.pid, record.id) ? record.status : 'stopped';
}
