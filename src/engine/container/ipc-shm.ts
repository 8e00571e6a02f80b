/**
 * IPC shared between containers, as dockerd does it: a `--ipc shareable` container's /dev/shm is
 * a tmpfs on the host (below its directory) bound into it, so a container started with `--ipc
 * container:<id>` can bind the same one beside joining its IPC namespace. The tmpfs lives while
 * the donor runs: mounted at its start, unmounted at its exit (a joiner keeps its own bind).
 */
import { mkdir } from 'node:fs/promises';
import { InvalidArgumentError } from '../../common/index.js';
import type { ContainerRecord } from '../container.js';
import type { ContainerMount } from '../ports.js';
import { ipcToJoin } from '../shared-namespaces.js';
import type { ContainerContext } from './context.js';

/** What a start sets up for the container's IPC: the namespace it joins, and its /dev/shm bind. */
export interface IpcAtStart {
  namespacePath?: string;
  shmMount?: ContainerMount;
}

function shmBind(source: string): ContainerMount {
  return { type: 'bind', source, destination: '/dev/shm', isReadOnly: false, options: ['rprivate', 'nosuid', 'nodev', 'noexec'] };
}

/** A user mount at /dev/shm replaces the shared one, as in dockerd. */
function hasOwnShm(record: ContainerRecord): boolean {
  return (record.host.mounts ?? []).some((mount) => mount.destination.replace(/\/+$/, '') === '/dev/shm');
}

/**
 * Set up `record`'s IPC for a start: the shareable tmpfs, or the donor's namespace and tmpfs
 * (`lookup` finds a donor by reference). A start that fails later undoes it with releaseShm.
 */
export async function prepareIpc(ctx: ContainerContext, record: ContainerRecord, lookup: (ref: string) => ContainerRecord | undefined): Promise<IpcAtStart> {
  if (record.host.ipcMode === 'shareable') {
    const mounter = ctx.options.hostMounter;
    if (!mounter) throw new InvalidArgumentError('--ipc shareable is not available on this daemon', { code: 'BERTH_UNSUPPORTED_SETTING' });
    if (hasOwnShm(record)) return {};
    const dir = ctx.pathsOf(record.id).shm;
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await mounter.mount({ source: 'shm', target: dir, type: 'tmpfs', options: ['nosuid', 'nodev', 'noexec', 'mode=1777', `size=${record.host.shmSizeBytes}`] });
    return { shmMount: shmBind(dir) };
  }
  const joined = ipcToJoin(record.host, lookup, (target) => ctx.runtimeOf(target).traits.listsProcesses, (target) => ctx.pathsOf(target.id).shm);
  if (!joined) return {};
  return { namespacePath: joined.namespacePath, ...(hasOwnShm(record) ? {} : { shmMount: shmBind(joined.shmDir) }) };
}

/** Unmount a shareable container's tmpfs (after its exit, or a start that failed); idempotent, nothing to do for other modes. */
export async function releaseShm(ctx: ContainerContext, record: ContainerRecord): Promise<void> {
  if (record.host.ipcMode !== 'shareable' || !ctx.options.hostMounter) return;
  await ctx.options.hostMounter.unmount(ctx.pathsOf(record.id).shm);
}
