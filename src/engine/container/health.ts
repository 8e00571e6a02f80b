/**
 * Healthcheck rules as dockerd applies them (moby daemon/health.go and the create-time merge
 * and checks): which command a probe runs, how often, how a result moves the status, and how
 * much of its output is kept. Pure functions; health-monitor.ts runs the probes.
 */
import { InvalidArgumentError } from '../../common/index.js';
import type { ClockTimer } from '../clock.js';
import type { HealthcheckSettings, HealthProbeResult, HealthState } from '../container.js';

/** docker's defaults for a zero field. */
export const DEFAULT_PROBE_INTERVAL_NS = 30e9;
export const DEFAULT_PROBE_TIMEOUT_NS = 30e9;
export const DEFAULT_START_INTERVAL_NS = 5e9;
export const DEFAULT_PROBE_RETRIES = 3;
/** Results kept in State.Health.Log. */
export const MAX_LOG_ENTRIES = 5;
/** Bytes of a probe's output kept; more is cut and marked with `...`. */
export const MAX_OUTPUT_BYTES = 4096;

/** docker's `HealthConfig`, of an image config or a create request (durations in nanoseconds; null as unset). */
export interface ImageHealthcheck {
  Test?: string[] | null;
  Interval?: number | null;
  Timeout?: number | null;
  StartPeriod?: number | null;
  StartInterval?: number | null;
  Retries?: number | null;
}

/** docker's `HealthConfig` (of an image, or of a create request) as settings; unset fields are zero. */
export function healthcheckSettingsOf(config: ImageHealthcheck): HealthcheckSettings {
  return {
    test: config.Test ?? [],
    intervalNs: config.Interval ?? 0,
    timeoutNs: config.Timeout ?? 0,
    startPeriodNs: config.StartPeriod ?? 0,
    startIntervalNs: config.StartInterval ?? 0,
    retries: config.Retries ?? 0,
  };
}

/** The user's healthcheck over the image's, field by field (an unset field takes the image's), as dockerd merges them. */
export function mergeHealthcheck(user: HealthcheckSettings | null, image: ImageHealthcheck | null | undefined): HealthcheckSettings | undefined {
  const fromImage = image ? healthcheckSettingsOf(image) : undefined;
  if (!user) return fromImage;
  if (!fromImage) return user;
  return {
    test: user.test.length > 0 ? user.test : fromImage.test,
    intervalNs: user.intervalNs || fromImage.intervalNs,
    timeoutNs: user.timeoutNs || fromImage.timeoutNs,
    startPeriodNs: user.startPeriodNs || fromImage.startPeriodNs,
    startIntervalNs: user.startIntervalNs || fromImage.startIntervalNs,
    retries: user.retries || fromImage.retries,
  };
}

/** dockerd's create-time checks (400): durations of at least 1ms when set, retries not negative, a known test type. */
export function checkHealthcheck(health: HealthcheckSettings | undefined): void {
  if (!health) return;
  const minimumNs = 1e6;
  const durations: Array<[string, number]> = [
    ['Interval', health.intervalNs],
    ['Timeout', health.timeoutNs],
    ['StartPeriod', health.startPeriodNs],
    ['StartInterval', health.startIntervalNs],
  ];
  for (const [name, ns] of durations) {
    if (ns !== 0 && ns < minimumNs) throw new InvalidArgumentError(`${name} in Healthcheck cannot be less than 1ms`);
  }
  if (health.retries < 0) throw new InvalidArgumentError('Retries in Healthcheck cannot be negative');
}

/**
 * A test type dockerd does not know (not CMD, CMD-SHELL or NONE): as dockerd, the container is
 * created and has a health state that stays `starting`, because no probe ever runs.
 */
export function unknownHealthcheckType(health: HealthcheckSettings | undefined): string | undefined {
  const kind = health?.test[0];
  return kind !== undefined && !['CMD', 'CMD-SHELL', 'NONE'].includes(kind) ? kind : undefined;
}

/** The command a probe runs in the container, or undefined when the healthcheck is off (none, NONE, no command). */
export function probeCommand(health: HealthcheckSettings | undefined): string[] | undefined {
  if (!health || health.test.length < 2) return undefined;
  const [kind, ...rest] = health.test;
  if (kind === 'CMD') return rest;
  if (kind === 'CMD-SHELL') return ['/bin/sh', '-c', ...rest];
  return undefined;
}

export function probeTimeoutNs(health: HealthcheckSettings): number {
  return health.timeoutNs || DEFAULT_PROBE_TIMEOUT_NS;
}

/** The wait before the next probe: the start interval while starting within the start period, else the interval. */
export function nextProbeDelayMs(health: HealthcheckSettings, status: HealthState['status'], sinceStartMs: number): number {
  const intervalNs = health.intervalNs || DEFAULT_PROBE_INTERVAL_NS;
  const startPeriodMs = health.startPeriodNs / 1e6;
  if (sinceStartMs >= startPeriodMs || status !== 'starting') return intervalNs / 1e6;
  return (health.startIntervalNs || DEFAULT_START_INTERVAL_NS) / 1e6;
}

/**
 * The health after one result: a success makes it healthy and clears the streak; a failure
 * counts (except while starting within the start period) and makes it unhealthy once the
 * streak reaches the retries. The log keeps the last five results.
 */
export function nextHealth(health: HealthState, result: HealthProbeResult, settings: HealthcheckSettings, runStartedMs: number): HealthState {
  const log = [...health.log, result].slice(-MAX_LOG_ENTRIES);
  if (result.exitCode === 0) return { status: 'healthy', failingStreak: 0, log };
  const inStartPeriod = health.status === 'starting' && Date.parse(result.start) - runStartedMs < settings.startPeriodNs / 1e6;
  if (inStartPeriod) return { ...health, log };
  const failingStreak = health.failingStreak + 1;
  const retries = settings.retries > 0 ? settings.retries : DEFAULT_PROBE_RETRIES;
  return { status: failingStreak >= retries ? 'unhealthy' : health.status, failingStreak, log };
}

/**
 * A probe's output as docker keeps it: stdout and stderr together, from the runtime's
 * multiplexed frames (8-byte header, then the payload), the first 4096 bytes, `...` when cut.
 */
export class ProbeOutput {
  #pending: Buffer = Buffer.alloc(0);
  #kept: Buffer[] = [];
  #keptBytes = 0;
  #isTruncated = false;

  write(chunk: Buffer): void {
    this.#pending = this.#pending.length === 0 ? chunk : Buffer.concat([this.#pending, chunk]);
    while (this.#pending.length >= 8) {
      const size = this.#pending.readUInt32BE(4);
      if (this.#pending.length < 8 + size) break;
      this.#keep(this.#pending.subarray(8, 8 + size));
      this.#pending = this.#pending.subarray(8 + size);
    }
  }

  #keep(payload: Buffer): void {
    const room = MAX_OUTPUT_BYTES - this.#keptBytes;
    if (payload.length > room) this.#isTruncated = true;
    const kept = payload.subarray(0, Math.max(0, room));
    if (kept.length === 0) return;
    this.#kept.push(Buffer.from(kept));
    this.#keptBytes += kept.length;
  }

  /** Keep `text` instead of what came (a probe that never started: the runtime's reason). */
  replace(text: string): void {
    this.#pending = Buffer.alloc(0);
    this.#kept = [];
    this.#keptBytes = 0;
    this.#isTruncated = false;
    this.#keep(Buffer.from(text));
  }

  text(): string {
    const text = Buffer.concat(this.#kept).toString('utf8');
    return this.#isTruncated ? `${text}...` : text;
  }
}

/** One container's loop: its next timer, the probe under way, the write of its last change. */
export interface HealthWatch {
  runStartedAt: string;
  timer: ClockTimer | undefined;
  killProbe: (() => void) | undefined;
  saving: Promise<void> | undefined;
  isStopped: boolean;
}
