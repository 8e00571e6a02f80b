/**
 * Log drivers as docker names them (`json-file`, the default; `local`; `none`) and their
 * options, checked at create the way dockerd's logger factory and drivers check them
 * (moby daemon/logger: ValidateLogOpts, jsonfilelog.New, local.New), so a bad option fails
 * the create instead of the start. Underneath every reading driver sits conmon's log file;
 * what the user sees (names, rotation, logs across rotated files) is json-file's.
 */
import { BerthError, InvalidArgumentError } from '../common/index.js';
import type { LogFileOptions } from './ports.js';

/** The drivers Berth has. `k8s-file` is what records made before json-file was named held. */
export type LogDriverName = 'json-file' | 'local' | 'none';

/** The default driver (docker's, and what `info` reports). */
export const DEFAULT_LOG_DRIVER: LogDriverName = 'json-file';

/** How the container's log file is kept: rotation at `maxSizeBytes`, `maxFiles` in all, older ones gzipped. */
export interface LogPolicy {
  driver: LogDriverName;
  /** 0: no size cap (json-file's default). */
  maxSizeBytes: number;
  /** The current file plus the rotated ones (1: truncate instead of rotating). */
  maxFiles: number;
  compress: boolean;
}

/** docker's message for `logs` of a container whose driver keeps nothing (HTTP 501). */
export class LogsNotReadableError extends BerthError {
  constructor() {
    super('not-implemented', 'BERTH_LOGS_NOT_READABLE', 'configured logging driver does not support reading');
  }
}

function invalidLogConfig(message: string): InvalidArgumentError {
  return new InvalidArgumentError(message, { code: 'BERTH_INVALID_LOG_CONFIG' });
}

const UNIT_MULTIPLIERS: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4, p: 1024 ** 5 };

/** go-units RAMInBytes: `10m`, `1.5g`, `512KiB` in binary units; docker's `invalid size: 'x'` otherwise. */
export function parseRamSize(text: string): number {
  const match = /^(\d+(?:\.\d+)*) ?([kKmMgGtTpP])?[iI]?[bB]?$/.exec(text);
  if (!match) throw invalidLogConfig(`invalid size: '${text}'`);
  return Math.floor(Number(match[1]) * UNIT_MULTIPLIERS[(match[2] ?? '').toLowerCase()]!);
}

function parseBool(text: string, option: string): boolean {
  // Go's strconv.ParseBool.
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(text)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(text)) return false;
  throw invalidLogConfig(`strconv.ParseBool: parsing "${text}": invalid syntax (log opt ${option})`);
}

/** Options every driver but none accepts (moby's builtInLogOpts). */
function checkModeOptions(options: Record<string, string>): void {
  const mode = options['mode'] ?? '';
  if (mode !== '' && mode !== 'blocking' && mode !== 'non-blocking') throw invalidLogConfig(`logger: logging mode not supported: ${mode}`);
  if (options['max-buffer-size'] !== undefined && mode !== 'non-blocking') {
    throw invalidLogConfig("logger: max-buffer-size option is only supported with 'mode=non-blocking'");
  }
  // conmon writes each record before it reads the next: there is no buffer to drop from.
  if (mode === 'non-blocking') throw invalidLogConfig('log opt mode=non-blocking is not supported: berth writes container logs in blocking mode');
}

// json-file options Berth has no use for yet (they tag records with attributes only `logs --details` shows).
const UNSUPPORTED_JSON_FILE_OPTS = new Set(['labels', 'labels-regex', 'env', 'env-regex', 'tag']);

/**
 * The policy for a create's `LogConfig`: '' is the default driver. Throws InvalidArgumentError
 * with dockerd's words for an unknown driver or option and a bad value.
 */
export function checkLogConfig(type: string, options: Record<string, string>): LogPolicy {
  const driver = type === '' ? DEFAULT_LOG_DRIVER : type;
  if (driver === 'none') {
    const [first] = Object.keys(options);
    if (first !== undefined) throw invalidLogConfig(`unknown log opt '${first}' for none log driver`);
    return { driver, maxSizeBytes: 0, maxFiles: 1, compress: false };
  }
  if (driver !== 'json-file' && driver !== 'local') {
    throw invalidLogConfig(`failed to validate log opts: logger: no log driver named '${driver}' is registered`);
  }
  checkModeOptions(options);
  for (const key of Object.keys(options)) {
    if (key === 'mode' || key === 'max-buffer-size' || key === 'max-size' || key === 'max-file' || key === 'compress') continue;
    if (driver === 'json-file' && UNSUPPORTED_JSON_FILE_OPTS.has(key)) {
      throw invalidLogConfig(`log opt '${key}' of the json-file log driver is not supported by berth`);
    }
    throw invalidLogConfig(`unknown log opt '${key}' for ${driver} log driver`);
  }
  // local's defaults: 20 MiB, 5 files, compressed; json-file's: no cap, one file.
  const isLocal = driver === 'local';
  let maxSizeBytes = isLocal ? 20 * 1024 ** 2 : 0;
  if (options['max-size'] !== undefined) {
    maxSizeBytes = parseRamSize(options['max-size']);
    if (maxSizeBytes <= 0) throw invalidLogConfig('max-size must be a positive number');
  }
  let maxFiles = isLocal ? 5 : 1;
  if (options['max-file'] !== undefined) {
    const text = options['max-file'];
    if (!/^[+-]?\d+$/.test(text)) throw invalidLogConfig(`strconv.Atoi: parsing "${text}": invalid syntax`);
    maxFiles = Number(text);
    if (maxFiles < 1) throw invalidLogConfig('max-file cannot be less than 1');
  }
  let compress = isLocal;
  if (options['compress'] !== undefined) compress = parseBool(options['compress'], 'compress');
  if (compress && !isLocal && (maxFiles === 1 || maxSizeBytes === 0)) {
    throw invalidLogConfig('compress cannot be true when max-file is less than 2 or max-size is not set');
  }
  // local with one file has nothing to compress.
  if (maxFiles === 1) compress = false;
  return { driver, maxSizeBytes, maxFiles, compress };
}

/** The driver name inspect shows for a record (records made before json-file was named say k8s-file). */
export function logDriverName(type: string): LogDriverName {
  return type === '' || type === 'k8s-file' ? DEFAULT_LOG_DRIVER : (type as LogDriverName);
}

/**
 * The policy of a stored record's log config. Records made before options were checked may
 * hold ones checkLogConfig refuses: those keep their log as they always had it, one uncapped file.
 */
export function logPolicyOf(logConfig: { type: string; config: Record<string, string> }): LogPolicy {
  try {
    return checkLogConfig(logDriverName(logConfig.type), logConfig.config);
  } catch {
    return { driver: logDriverName(logConfig.type) === 'none' ? 'none' : DEFAULT_LOG_DRIVER, maxSizeBytes: 0, maxFiles: 1, compress: false };
  }
}

/** How the runtime keeps the log file of a container with this policy. */
export function logFileOptionsOf(policy: LogPolicy): LogFileOptions {
  return { isDisabled: policy.driver === 'none', maxSizeBytes: policy.maxSizeBytes, maxFiles: policy.maxFiles, compress: policy.compress };
}
