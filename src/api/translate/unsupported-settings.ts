/**
 * The fields of the container create and update bodies Berth cannot honour yet: each is
 * refused (400) when set to anything but its unset value, with a one-line message naming the
 * field, its docker flag and the isolation levels, never accepted and ignored. A field leaves
 * this list when it is honoured, with an effect test (see unsupported-settings.test.ts, which
 * walks every key of the schemas).
 */
import { InvalidArgumentError } from '../../common/index.js';
import { compareApiVersions } from '../version.js';

/** One field Berth refuses, by its path in the body (`HostConfig.BlkioWeight`) and the docker flag that sets it. */
export interface UnsupportedSetting {
  path: string;
  flag: string;
  /** Whether a value means "set" (docker's clients send unset fields as 0, '', [], null, false; swappiness as -1). */
  isSet?: (value: unknown) => boolean;
  /** Why it is refused, when not because neither isolation level can honour it. */
  why?: string;
}

/** docker's clients' "unset": null, 0, '', false, [], {}. */
export function isSetValue(value: unknown): boolean {
  if (value === null || value === undefined || value === false || value === 0 || value === '') return false;
  if (Array.isArray(value)) return value.length > 0;
  if (typeof value === 'object') return Object.keys(value).length > 0;
  return true;
}

/** Resource fields a create honours (where the host can: see engine/resources.ts) but `update` cannot change yet. */
// dockerd's update leaves these as they are without a word; berth says so instead.
const createOnly = 'berth sets it when the container is created, and update does not change it (nor does dockerd\'s)';
const createOnlyResourceFields: UnsupportedSetting[] = [
  { path: 'BlkioWeightDevice', flag: '--blkio-weight-device', why: createOnly },
  { path: 'BlkioDeviceReadBps', flag: '--device-read-bps', why: createOnly },
  { path: 'BlkioDeviceWriteBps', flag: '--device-write-bps', why: createOnly },
  { path: 'BlkioDeviceReadIOps', flag: '--device-read-iops', why: createOnly },
  { path: 'BlkioDeviceWriteIOps', flag: '--device-write-iops', why: createOnly },
  // docker's CLI sends -1 for "not set".
  { path: 'MemorySwappiness', flag: '--memory-swappiness', isSet: (value) => value !== -1 && isSetValue(value), why: createOnly },
];

const resourceFields: UnsupportedSetting[] = [
  { path: 'CgroupParent', flag: '--cgroup-parent' },
  { path: 'CpusetMems', flag: '--cpuset-mems' },
  { path: 'DeviceRequests', flag: '--gpus' },
  { path: 'KernelMemoryTCP', flag: '--kernel-memory-tcp' },
  { path: 'CpuCount', flag: '--cpu-count' },
  { path: 'CpuPercent', flag: '--cpu-percent' },
  { path: 'IOMaximumIOps', flag: '--io-maxiops' },
  { path: 'IOMaximumBandwidth', flag: '--io-maxbandwidth' },
];

/** Create-body fields Berth refuses when set (paths from the body's top). */
export const UNSUPPORTED_CREATE_SETTINGS: readonly UnsupportedSetting[] = [
  { path: 'OnBuild', flag: 'ONBUILD' },
  { path: 'NetworkDisabled', flag: '--network none (NetworkDisabled)' },
  { path: 'Shell', flag: 'SHELL' },
  { path: 'ArgsEscaped', flag: 'ArgsEscaped (Windows only)' },
  ...resourceFields.map((field) => ({ ...field, path: `HostConfig.${field.path}` })),
  { path: 'HostConfig.Annotations', flag: '--annotation' },
  { path: 'HostConfig.Cgroup', flag: '--cgroup' },
  { path: 'HostConfig.StorageOpt', flag: '--storage-opt' },
  { path: 'HostConfig.UsernsMode', flag: '--userns', isSet: (value) => isSetValue(value) && value !== 'host' },
  { path: 'HostConfig.MaskedPaths', flag: 'MaskedPaths' },
  { path: 'HostConfig.ReadonlyPaths', flag: 'ReadonlyPaths' },
];

/** Update-body (`docker update`) fields Berth refuses when set. */
export const UNSUPPORTED_UPDATE_SETTINGS: readonly UnsupportedSetting[] = [
  ...resourceFields,
  ...createOnlyResourceFields,
  { path: 'OomKillDisable', flag: '--oom-kill-disable' },
  { path: 'Ulimits', flag: '--ulimit' },
  { path: 'Init', flag: '--init' },
  { path: 'Devices', flag: '--device' },
  { path: 'DeviceCgroupRules', flag: '--device-cgroup-rule' },
];

/** Per-network endpoint fields (NetworkingConfig.EndpointsConfig.<net>.X and network connect's EndpointConfig.X) Berth refuses. */
export const UNSUPPORTED_ENDPOINT_SETTINGS: readonly UnsupportedSetting[] = [
  { path: 'DriverOpts', flag: '--driver-opt' },
  { path: 'GwPriority', flag: '--gw-priority' },
  { path: 'IPAMConfig.LinkLocalIPs', flag: '--link-local-ip' },
];

function valueAt(body: unknown, path: string): unknown {
  let value = body;
  for (const key of path.split('.')) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}

function refuse(path: string, setting: UnsupportedSetting): never {
  const why = setting.why ?? 'it cannot honour it with process or vm isolation';
  throw new InvalidArgumentError(`${path} (${setting.flag}) is not supported by berth: ${why}`, { code: 'BERTH_UNSUPPORTED_SETTING' });
}

function refuseSet(body: unknown, settings: readonly UnsupportedSetting[], prefix: string): void {
  for (const setting of settings) {
    if ((setting.isSet ?? isSetValue)(valueAt(body, setting.path))) refuse(`${prefix}${setting.path}`, setting);
  }
}

/** Throw BERTH_UNSUPPORTED_SETTING (400) for the first field of a create body Berth cannot honour. */
export function refuseUnsupportedCreateSettings(body: unknown): void {
  refuseSet(body, UNSUPPORTED_CREATE_SETTINGS, '');
  const endpoints = valueAt(body, 'NetworkingConfig.EndpointsConfig');
  if (endpoints && typeof endpoints === 'object') {
    for (const [network, endpoint] of Object.entries(endpoints)) refuseSet(endpoint, UNSUPPORTED_ENDPOINT_SETTINGS, `NetworkingConfig.EndpointsConfig.${network}.`);
  }
}

/** Throw BERTH_UNSUPPORTED_SETTING (400) for the first field of an update body Berth cannot honour. */
export function refuseUnsupportedUpdateSettings(body: unknown): void {
  refuseSet(body, UNSUPPORTED_UPDATE_SETTINGS, '');
}

/** Throw BERTH_UNSUPPORTED_SETTING (400) for a network connect's endpoint field Berth cannot honour. */
export function refuseUnsupportedEndpointSettings(endpoint: unknown): void {
  refuseSet(endpoint, UNSUPPORTED_ENDPOINT_SETTINGS, 'EndpointConfig.');
}

/** dockerd's words when it discards a kernel memory limit (daemon/daemon_unix.go). */
export const KERNEL_MEMORY_DISCARDED = 'Your kernel does not support kernel memory limit capabilities or the cgroup is not mounted. Limitation discarded.';

/**
 * `KernelMemory` (`--kernel-memory`), as dockerd 25+ treats it: from API 1.42 the field is gone
 * and ignored (the docker CLI no longer sends it); older clients that set it get dockerd's
 * warning and the limit is discarded, because kernels since 5.4 deprecate it and recent ones
 * accept the write without applying it. Returns the create or update response's warnings.
 */
export function kernelMemoryWarnings(apiVersion: string, resources: unknown): string[] {
  if (compareApiVersions(apiVersion, '1.42') >= 0) return [];
  const value = valueAt(resources, 'KernelMemory');
  return typeof value === 'number' && value > 0 ? [KERNEL_MEMORY_DISCARDED] : [];
}
