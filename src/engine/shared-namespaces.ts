/**
 * `--pid container:<ref>`, `--ipc container:<ref>` and `--network container:<ref>`: a container that joins another's
 * namespace, as dockerd does it (daemon/container_operations_unix.go). The reference is
 * resolved to the target's full id at create (so a rename keeps the link, and inspect shows
 * `container:<id>` as dockerd's); a name that matches no container is refused there, before
 * anything exists, with a 400 (a 404 from create would make the docker CLI pull the image). At
 * each start the target must run, and its namespace is joined by its /proc link.
 */
import { ConflictError, InvalidArgumentError, NotFoundError } from '../common/index.js';
import { isRunningStatus, type ContainerRecord, type HostSettings } from './container.js';

const PREFIX = 'container:';

/** The reference of a `container:<ref>` mode, or undefined for any other mode. */
export function containerModeTarget(mode: string | undefined): string | undefined {
  return mode !== undefined && mode.startsWith(PREFIX) ? mode.slice(PREFIX.length) : undefined;
}

/** The modes that may name a container, with their flags. */
const MODES = [
  ['pidMode', '--pid'],
  ['ipcMode', '--ipc'],
  ['networkMode', '--network'],
] as const;

/**
 * At create: rewrite each `container:<ref>` mode to `container:<full id>`. Throws
 * BERTH_INVALID_SETTING "No such container: <ref>" (dockerd's words, its 400) for a reference
 * that names no container, and for one naming the container itself (which cannot exist yet).
 */
export function resolveContainerModes(host: HostSettings, lookup: (ref: string) => ContainerRecord | undefined): void {
  for (const [key, flag] of MODES) {
    const ref = containerModeTarget(host[key]);
    if (ref === undefined) continue;
    if (ref === '') throw new InvalidArgumentError(`invalid ${flag} mode: ${host[key]}`, { code: 'BERTH_INVALID_SETTING' });
    const target = lookup(ref);
    if (!target) throw new InvalidArgumentError(`No such container: ${ref}`, { code: 'BERTH_INVALID_SETTING' });
    host[key] = `${PREFIX}${target.id}`;
  }
}

/** A container by reference, or undefined when none matches (an ambiguous prefix still throws). */
export function findOrUndefined(resolve: (ref: string) => ContainerRecord, ref: string): ContainerRecord | undefined {
  try {
    return resolve(ref);
  } catch (err) {
    if (err instanceof NotFoundError) return undefined;
    throw err;
  }
}

/** The target container of a shared namespace must be running (and not between restarts): dockerd's errors. */
export function checkNamespaceDonor(target: ContainerRecord | undefined, id: string): ContainerRecord {
  if (!target) throw new InvalidArgumentError(`No such container: ${id}`, { code: 'BERTH_INVALID_SETTING' });
  if (target.state.status === 'restarting') {
    throw new ConflictError('BERTH_CONTAINER_NOT_RUNNING', `Container ${target.id} is restarting, wait until the container is running`);
  }
  if (!isRunningStatus(target.state.status) || target.state.pid === 0) {
    throw new ConflictError('BERTH_CONTAINER_NOT_RUNNING', `container ${target.id} is not running`);
  }
  return target;
}

/**
 * At start: the running container a `container:<id>` mode of `kind` joins; undefined for any
 * other mode. Throws dockerd's errors for a target that is gone, stopped or restarting, and
 * refuses a VM container's (its processes run in the guest, where the host cannot join them).
 */
function donorToJoin(mode: string | undefined, kind: 'PID' | 'IPC', lookup: (ref: string) => ContainerRecord | undefined, runsInGuest: (target: ContainerRecord) => boolean): ContainerRecord | undefined {
  const id = containerModeTarget(mode);
  if (id === undefined) return undefined;
  const target = checkNamespaceDonor(lookup(id), id);
  if (runsInGuest(target)) {
    throw new InvalidArgumentError(`cannot join the ${kind} namespace of VM container ${target.id}: its processes run inside the VM`, { code: 'BERTH_UNSUPPORTED_SETTING' });
  }
  return target;
}

/** At start: the PID namespace to join for `--pid container:<id>`, as a /proc link of the target's init (see donorToJoin). */
export function pidNamespaceToJoin(host: HostSettings, lookup: (ref: string) => ContainerRecord | undefined, runsInGuest: (target: ContainerRecord) => boolean): string | undefined {
  const target = donorToJoin(host.pidMode, 'PID', lookup, runsInGuest);
  return target && `/proc/${target.state.pid}/ns/pid`;
}

/** What `--ipc container:<id>` joins: the donor's IPC namespace and the host directory its /dev/shm is. */
export interface IpcToJoin {
  namespacePath: string;
  shmDir: string;
}

/**
 * At start: the IPC namespace and /dev/shm to share for `--ipc container:<id>` (see
 * donorToJoin). The donor must share its IPC (`--ipc shareable`, `host`, or itself joined to one
 * of those), as dockerd's getIPCContainer checks.
 */
export function ipcToJoin(
  host: HostSettings,
  lookup: (ref: string) => ContainerRecord | undefined,
  runsInGuest: (target: ContainerRecord) => boolean,
  shmDirOf: (target: ContainerRecord) => string,
): IpcToJoin | undefined {
  const target = donorToJoin(host.ipcMode, 'IPC', lookup, runsInGuest);
  if (!target) return undefined;
  const sharedShm = (donor: ContainerRecord): string | undefined =>
    donor.host.ipcMode === 'shareable' ? shmDirOf(donor) : donor.host.ipcMode === 'host' ? '/dev/shm' : undefined;
  // A donor that joined another shares what it joined: the first donor's /dev/shm, which is
  // mounted on the host only while that one runs.
  const upstream = containerModeTarget(target.host.ipcMode);
  const shmDir = sharedShm(target) ?? (upstream === undefined ? undefined : sharedShm(checkNamespaceDonor(lookup(upstream), upstream)));
  if (shmDir === undefined) {
    throw new InvalidArgumentError(`container ${target.id}: non-shareable IPC (hint: use IpcMode:shareable for the donor container)`, { code: 'BERTH_INVALID_SETTING' });
  }
  return { namespacePath: `/proc/${target.state.pid}/ns/ipc`, shmDir };
}
