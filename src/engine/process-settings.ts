/**
 * Checks of the process and namespace settings a create asks for, the way dockerd and the
 * OCI runtimes check them, so a value that cannot work is a 400 at create instead of a failed
 * start: `--sysctl` (namespaced ones only), `--pid`/`--ipc`/`--uts`/`--cgroupns` modes, a
 * hostname the kernel takes, `--shm-size`, `--memory-swap`; and which of them a container
 * on its own kernel refuses (a runtime whose traits say it does not share the host's: a VM).
 */
import { InvalidArgumentError } from '../common/index.js';
import type { HostSettings } from './container.js';
import type { RuntimeTraits } from './ports.js';

/** Longest hostname the kernel takes (HOST_NAME_MAX). */
const HOST_NAME_MAX = 64;

/** sysctls that live in the container's IPC namespace (runc's validator and dockerd agree on these). */
const IPC_SYSCTLS = new Set(['kernel.msgmax', 'kernel.msgmnb', 'kernel.msgmni', 'kernel.sem', 'kernel.shmall', 'kernel.shmmax', 'kernel.shmmni', 'kernel.shm_rmid_forced']);

function refuse(message: string): never {
  throw new InvalidArgumentError(message, { code: 'BERTH_INVALID_SETTING' });
}

/** Refuse a sysctl that is not namespaced, or whose namespace the container shares with the host. */
export function checkSysctls(sysctls: Record<string, string>, host: Pick<HostSettings, 'ipcMode' | 'utsMode' | 'networkMode'>): void {
  for (const key of Object.keys(sysctls)) {
    if (IPC_SYSCTLS.has(key) || key.startsWith('fs.mqueue.')) {
      if (host.ipcMode === 'host') refuse(`sysctl "${key}" not allowed in host IPC namespace`);
      continue;
    }
    if (key.startsWith('net.')) {
      if (host.networkMode === 'host') refuse(`sysctl "${key}" not allowed in host network namespace`);
      continue;
    }
    if (key === 'kernel.domainname' || key === 'kernel.hostname') {
      if (host.utsMode === 'host') refuse(`sysctl "${key}" not allowed in host UTS namespace`);
      refuse(`sysctl "${key}" is not allowed: use --hostname or --domainname`);
    }
    refuse(`sysctl "${key}" is not in a separate kernel namespace`);
  }
}

/**
 * `--device` and `--device-cgroup-rule` in forms a start can use (whether the host has the
 * device is the start's question, as in dockerd): an absolute path in the container, permissions
 * from r, w and m, rules as `type major:minor access`.
 */
function checkDevices(host: Pick<HostSettings, 'devices' | 'deviceCgroupRules'>): void {
  for (const device of host.devices ?? []) {
    if (!device.pathOnHost) refuse('invalid device mapping: no host path');
    if (!device.pathInContainer.startsWith('/')) refuse(`${device.pathInContainer} is not an absolute path`);
    const mode = device.cgroupPermissions;
    if (!/^[rwm]+$/.test(mode) || new Set(mode).size !== mode.length) refuse(`invalid device mode: ${mode}`);
  }
  for (const rule of host.deviceCgroupRules ?? []) {
    if (!/^[acb] ([0-9]+|\*):([0-9]+|\*) [rwm]{1,3}$/.test(rule)) refuse(`invalid device cgroup rule format: '${rule}'`);
  }
}

/** A namespace mode: '' or private (its own), host, `container:<ref>` where `canJoin`; anything else refused with the flag's name. */
function checkMode(flag: string, value: string, extra: readonly string[] = [], canJoin = false): void {
  if (value === '' || value === 'private' || value === 'host' || extra.includes(value)) return;
  if (canJoin && value.startsWith('container:')) return;
  refuse(`invalid ${flag} mode: ${value}`);
}

/** BERTH_UNSUPPORTED_SETTING for `flag` on a container that runs on its own kernel (a VM's), at create or update. */
export function refuseOnOwnKernel(flag: string, isolation: string): never {
  throw new InvalidArgumentError(`${flag} is not supported with --isolation=${isolation}: the container runs on its own kernel`, { code: 'BERTH_UNSUPPORTED_SETTING' });
}

/**
 * Check what a create asks of the process and its namespaces. Throws BERTH_INVALID_SETTING
 * (400) for a value no container could start with, BERTH_UNSUPPORTED_SETTING for one its
 * runtime cannot honour (host-kernel settings on a runtime that does not share the host's kernel).
 */
export function checkProcessSettings(host: HostSettings, traits: Pick<RuntimeTraits, 'sharesHostKernel'>, hostname: string, domainname: string): void {
  if (hostname.length > HOST_NAME_MAX) refuse(`invalid hostname: "${hostname.slice(0, 20)}..." is longer than ${HOST_NAME_MAX} characters`);
  if (domainname.length > HOST_NAME_MAX) refuse(`invalid domainname: longer than ${HOST_NAME_MAX} characters`);
  if (host.shmSizeBytes < 0) refuse('SHM size can not be less than 0');
  if (host.memorySwapBytes < -1) refuse(`invalid memory swap ${host.memorySwapBytes}: use -1 for unlimited swap`);
  checkMode('--pid', host.pidMode ?? '', [], true);
  checkMode('--ipc', host.ipcMode ?? '', ['shareable', 'none'], true);
  checkMode('--uts', host.utsMode ?? '');
  const oom = host.oomScoreAdj ?? 0;
  if (oom < -1000 || oom > 1000) refuse(`Invalid value ${oom}, range for oom score adj is [-1000, 1000]`);
  checkSysctls(host.sysctls ?? {}, host);
  checkDevices(host);
  if (!traits.sharesHostKernel) {
    const asked: Array<[boolean, string]> = [
      [host.pidMode === 'host', '--pid host'],
      [(host.pidMode ?? '').startsWith('container:'), '--pid container:<id>'],
      [(host.links ?? []).length > 0, '--link'],
      [host.ipcMode === 'host', '--ipc host'],
      [host.ipcMode === 'shareable', '--ipc shareable'],
      [host.ipcMode === 'none', '--ipc none'],
      [(host.ipcMode ?? '').startsWith('container:'), '--ipc container:<id>'],
      [host.utsMode === 'host', '--uts host'],
      [host.cgroupnsMode === 'host', '--cgroupns host'],
      [(host.groupAdd ?? []).length > 0, '--group-add'],
      [Object.keys(host.sysctls ?? {}).length > 0, '--sysctl'],
      [oom !== 0, '--oom-score-adj'],
      [(host.cpuQuota ?? 0) !== 0 || (host.cpuPeriod ?? 0) !== 0, '--cpu-quota/--cpu-period'],
      [(host.cpuRealtimePeriod ?? 0) !== 0 || (host.cpuRealtimeRuntime ?? 0) !== 0, '--cpu-rt-period/--cpu-rt-runtime'],
      [(host.memorySwappiness ?? -1) !== -1, '--memory-swappiness'],
      [(host.blkioWeight ?? 0) !== 0, '--blkio-weight'],
      [(host.blkioWeightDevices ?? []).length > 0, '--blkio-weight-device'],
      [(host.blkioDeviceReadBps ?? []).length > 0, '--device-read-bps'],
      [(host.blkioDeviceWriteBps ?? []).length > 0, '--device-write-bps'],
      [(host.blkioDeviceReadIops ?? []).length > 0, '--device-read-iops'],
      [(host.blkioDeviceWriteIops ?? []).length > 0, '--device-write-iops'],
      [domainname !== '', '--domainname'],
      [(host.devices ?? []).length > 0, '--device'],
      [(host.deviceCgroupRules ?? []).length > 0, '--device-cgroup-rule'],
    ];
    for (const [isSet, flag] of asked) {
      if (isSet) refuseOnOwnKernel(flag, host.isolation);
    }
  }
}
