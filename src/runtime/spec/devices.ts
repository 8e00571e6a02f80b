/**
 * `--device` and `--device-cgroup-rule` as dockerd applies them (daemon/oci_linux.go): a host
 * device node (or every node below a host directory) made in the container at its path there,
 * with the cgroup rule that lets the container use it; extra cgroup rules in docker's
 * `type major:minor access` form.
 */
import { readdir, realpath, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { InvalidArgumentError } from '../../common/index.js';
import type { LinuxDevice, LinuxDeviceCgroup } from '../../oci/index.js';
import type { DeviceMapping } from '../types.js';


/** A device's number from `stat`'s rdev (Linux dev_t: major in bits 8-19 and 32+, minor in 0-7 and 20-31). */
export function deviceNumbers(rdev: number): { major: number; minor: number } {
  const major = ((rdev >> 8) & 0xfff) | (Math.floor(rdev / 2 ** 32) & ~0xfff);
  const minor = (rdev & 0xff) | ((rdev >> 12) & 0xfff00);
  return { major, minor };
}

async function deviceAt(hostPath: string, containerPath: string): Promise<LinuxDevice | undefined> {
  const info = await stat(hostPath);
  if (!info.isCharacterDevice() && !info.isBlockDevice()) return undefined;
  const { major, minor } = deviceNumbers(info.rdev);
  return { path: containerPath, type: info.isCharacterDevice() ? 'c' : 'b', major, minor, fileMode: info.mode & 0o7777, uid: info.uid, gid: info.gid };
}

function gatheringError(mapping: DeviceMapping, reason: string): InvalidArgumentError {
  return new InvalidArgumentError(`error gathering device information while adding custom device "${mapping.pathOnHost}": ${reason}`, { code: 'BERTH_INVALID_SETTING' });
}

/** The device nodes and cgroup rules one mapping gives: the node itself, or each node below a directory. */
export async function devicesOf(mapping: DeviceMapping): Promise<{ devices: LinuxDevice[]; rules: LinuxDeviceCgroup[] }> {
  let resolved: string;
  try {
    resolved = await realpath(mapping.pathOnHost);
  } catch {
    throw gatheringError(mapping, 'no such file or directory');
  }
  const devices: LinuxDevice[] = [];
  const single = await deviceAt(resolved, mapping.pathInContainer).catch(() => undefined);
  if (single) {
    devices.push(single);
  } else if ((await stat(resolved)).isDirectory()) {
    const walk = async (dir: string, into: string): Promise<void> => {
      for (const entry of await readdir(dir, { withFileTypes: true })) {
        const from = join(dir, entry.name);
        const to = join(into, entry.name);
        if (entry.isDirectory()) await walk(from, to);
        else if (entry.isCharacterDevice() || entry.isBlockDevice()) {
          const device = await deviceAt(from, to).catch(() => undefined);
          if (device) devices.push(device);
        }
      }
    };
    await walk(resolved, mapping.pathInContainer);
  }
  if (devices.length === 0) throw gatheringError(mapping, 'not a device node');
  const rules = devices.map((d): LinuxDeviceCgroup => ({ allow: true, type: d.type === 'b' ? 'b' : 'c', major: d.major, minor: d.minor, access: mapping.cgroupPermissions }));
  return { devices, rules };
}

const CGROUP_RULE = /^([acb]) ([0-9]+|\*):([0-9]+|\*) ([rwm]{1,3})$/;

/** `c 1:3 rwm`, `a *:* m`, `b 8:* r` as a cgroup rule; dockerd's message for anything else. */
export function parseDeviceCgroupRule(rule: string): LinuxDeviceCgroup {
  const match = CGROUP_RULE.exec(rule);
  if (!match) throw new InvalidArgumentError(`invalid device cgroup rule format: '${rule}'`, { code: 'BERTH_INVALID_SETTING' });
  const parsed: LinuxDeviceCgroup = { allow: true, type: match[1] as 'a' | 'c' | 'b', access: match[4]! };
  if (match[2] !== '*') parsed.major = Number(match[2]);
  if (match[3] !== '*') parsed.minor = Number(match[3]);
  return parsed;
}

/** A mapping's permissions: some of r, w and m, each at most once. */
export function isValidDeviceMode(mode: string): boolean {
  return mode !== '' && /^[rwm]+$/.test(mode) && new Set(mode).size === mode.length;
}
