/** The `--health-*` and `--no-healthcheck` flags as a create body's Healthcheck, with the docker CLI's checks and words. */
import type { HealthConfig } from '../../api/wire/index.js';
import { parseDurationMs } from '../../common/index.js';
import { UsageError } from '../exit.js';
import { flagError, intFlag } from './flag-values.js';

export interface HealthFlags {
  healthCmd?: string;
  healthInterval?: string;
  healthTimeout?: string;
  healthRetries?: string;
  healthStartPeriod?: string;
  healthStartInterval?: string;
  /** false with `--no-healthcheck` (commander's negated option). */
  healthcheck?: boolean;
}

/** A Go duration flag (`30s`, `1m30s`, `-1s`) in nanoseconds; 0 when not given. */
function durationNsFlag(value: string | undefined, flag: string): number {
  if (value === undefined) return 0;
  const negative = value.trim().startsWith('-');
  try {
    const ms = parseDurationMs(negative ? value.trim().slice(1) : value);
    return Math.round(ms * 1e6) * (negative ? -1 : 1);
  } catch {
    throw flagError(value, flag, `time: invalid duration "${value}"`);
  }
}

/** The Healthcheck the flags ask for: undefined without any (the image's applies), `NONE` with --no-healthcheck. */
export function healthcheckOf(flags: HealthFlags): HealthConfig | undefined {
  const interval = durationNsFlag(flags.healthInterval, '--health-interval');
  const timeout = durationNsFlag(flags.healthTimeout, '--health-timeout');
  const startPeriod = durationNsFlag(flags.healthStartPeriod, '--health-start-period');
  const startInterval = durationNsFlag(flags.healthStartInterval, '--health-start-interval');
  const retries = intFlag(flags.healthRetries, '--health-retries') ?? 0;
  const hasSettings = Boolean(flags.healthCmd) || interval !== 0 || timeout !== 0 || startPeriod !== 0 || startInterval !== 0 || retries !== 0;
  if (flags.healthcheck === false) {
    if (hasSettings) throw new UsageError('--no-healthcheck conflicts with --health-* options');
    return { Test: ['NONE'] };
  }
  if (!hasSettings) return undefined;
  if (interval < 0) throw new UsageError('--health-interval cannot be negative');
  if (timeout < 0) throw new UsageError('--health-timeout cannot be negative');
  if (retries < 0) throw new UsageError('--health-retries cannot be negative');
  if (startPeriod < 0) throw new UsageError('--health-start-period cannot be negative');
  if (startInterval < 0) throw new UsageError('--health-start-interval cannot be negative');
  return {
    Test: flags.healthCmd ? ['CMD-SHELL', flags.healthCmd] : null,
    Interval: interval,
    Timeout: timeout,
    StartPeriod: startPeriod,
    StartInterval: startInterval,
    Retries: retries,
  };
}
