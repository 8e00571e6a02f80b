/** `--blkio-weight-device` and the `--device-{read,write}-{bps,iops}` values as docker's CLI parses them (its opts/throttledevice.go, weightdevice.go). */
import type { ThrottleDevice } from '../../api/wire/index.js';
import { bytesFlag, flagError } from './flag-values.js';

function splitDevice(value: string, flag: string): { path: string; rate: string } {
  const colon = value.lastIndexOf(':');
  if (colon <= 0) throw flagError(value, flag, `bad format: ${value}`);
  const path = value.slice(0, colon);
  if (!path.startsWith('/dev/')) throw flagError(value, flag, `bad format for device path: ${value}`);
  return { path, rate: value.slice(colon + 1) };
}

/** `--device-read-bps /dev/sda:1mb`: a rate in bytes per second (docker's size units). */
export function parseBpsDevice(value: string, flag: string): ThrottleDevice {
  const { path, rate } = splitDevice(value, flag);
  const bytes = bytesFlag(rate, flag);
  return { Path: path, Rate: bytes ?? 0 };
}

/** `--device-read-iops /dev/sda:1000`: operations per second. */
export function parseIopsDevice(value: string, flag: string): ThrottleDevice {
  const { path, rate } = splitDevice(value, flag);
  if (!/^\d+$/.test(rate)) throw flagError(value, flag, `invalid rate for device: ${value}. The correct format is <device-path>:<number>. Number must be a positive integer`);
  return { Path: path, Rate: Number(rate) };
}

/** `--blkio-weight-device /dev/sda:300`: a weight from 10 to 1000. */
export function parseWeightDevice(value: string, flag: string): { Path: string; Weight: number } {
  const { path, rate } = splitDevice(value, flag);
  const weight = Number(rate);
  if (!/^\d+$/.test(rate) || (weight !== 0 && (weight < 10 || weight > 1000))) throw flagError(value, flag, `invalid weight for device: ${value}`);
  return { Path: path, Weight: weight };
}
