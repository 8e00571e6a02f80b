/** `--device` and `--device-cgroup-rule` as the docker CLI parses and checks them (opts/parse.go, opts.go), in its words. */
import type { DeviceMapping } from '../../api/wire/index.js';
import { flagError } from './flag-values.js';

/** Some of r, w and m, each once. */
function isDeviceMode(mode: string): boolean {
  return mode !== '' && /^[rwm]+$/.test(mode) && new Set(mode).size === mode.length;
}

/** `host[:container][:rwm]`; the container path defaults to the host's, the permissions to rwm. */
export function parseDevice(spec: string): DeviceMapping {
  const parts = spec.split(':');
  if (parts.length > 3 || parts[0] === '') throw flagError(spec, '--device', `bad format for path: ${spec}`);
  let inContainer = parts[0]!;
  let permissions = 'rwm';
  if (parts.length === 2) {
    if (isDeviceMode(parts[1]!)) permissions = parts[1]!;
    else inContainer = parts[1]!;
  } else if (parts.length === 3) {
    inContainer = parts[1]!;
    if (!isDeviceMode(parts[2]!)) throw flagError(spec, '--device', `bad mode specified: ${parts[2]}`);
    permissions = parts[2]!;
  }
  if (!inContainer.startsWith('/')) throw flagError(spec, '--device', `${inContainer} is not an absolute path`);
  return { PathOnHost: parts[0]!, PathInContainer: inContainer, CgroupPermissions: permissions };
}

/** `type major:minor access`, as `c 1:3 rwm` or `a *:* m`. */
export function checkDeviceCgroupRule(rule: string): string {
  if (!/^[acb] ([0-9]+|\*):([0-9]+|\*) [rwm]{1,3}$/.test(rule)) throw flagError(rule, '--device-cgroup-rule', `invalid device cgroup format '${rule}'`);
  return rule;
}
