/** Flag values as docker's CLI parses them (its opts/ package): sizes, integers, CPUs, key=value lists; errors in its words. */
import { parseBytes } from '../../common/index.js';
import { UsageError } from '../exit.js';

/** docker's `invalid argument "<value>" for "<flag>" flag: <reason>`. */
export function flagError(value: string, flag: string, reason: string): UsageError {
  return new UsageError(`invalid argument "${value}" for "${flag}" flag: ${reason}`);
}

/** A size flag (`512m`, `1g`) in bytes; undefined when not given. */
export function bytesFlag(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  try {
    return parseBytes(value);
  } catch {
    throw flagError(value, flag, `invalid size: '${value}'`);
  }
}

/** An integer flag, refused as Go's strconv.ParseInt refuses it; undefined when not given. */
export function intFlag(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  if (!/^[+-]?\d+$/.test(value.trim())) throw flagError(value, flag, `strconv.ParseInt: parsing "${value}": invalid syntax`);
  return Number(value);
}

/** `--cpus 1.5` in nano CPUs. */
export function parseCpus(value: string): number {
  if (!/^\d*\.?\d+$/.test(value.trim())) throw flagError(value, '--cpus', `failed to parse ${value} as a rational number`);
  const nano = Math.round(Number(value) * 1e9);
  return nano;
}

/** Repeated `key=value` (or bare `key`) flags as a map. */
export function keyValues(entries: string[], flag: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const entry of entries) {
    const eq = entry.indexOf('=');
    if (eq === 0) throw flagError(entry, flag, 'invalid key');
    if (eq < 0) out[entry] = '';
    else out[entry.slice(0, eq)] = entry.slice(eq + 1);
  }
  return out;
}

/** Why `--kernel-memory` is not sent: as docker's CLI on API 1.42+, but said (run, create and update share it). */
export const KERNEL_MEMORY_NOT_SENT = '--kernel-memory: kernel memory limits are no longer supported (API 1.42 and later)';
