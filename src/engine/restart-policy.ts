/**
 * Restart policies as dockerd's restart manager applies them: `no`, `on-failure[:N]`,
 * `always`, `unless-stopped`; never after an explicit stop; a backoff that starts at 100 ms,
 * doubles on each restart up to a minute, and starts over once a run lasted 10 seconds.
 * Only the backoff lives in memory; what must survive a daemon restart is in the record.
 */
import { systemClock, type ClockTimer, type EngineClock } from './clock.js';
import type { HostSettings } from './container.js';

const FIRST_DELAY_MS = 100;
const MAX_DELAY_MS = 60_000;
/** A run at least this long resets the backoff. */
const RESET_AFTER_MS = 10_000;

/** What the tracker needs to know about the exit just handled. */
export interface ExitFacts {
  policy: HostSettings['restartPolicy'];
  exitCode: number;
  hasBeenManuallyStopped: boolean;
  restartCount: number;
  /** How long the process ran before this exit. */
  ranMs: number;
}

/** Whether a policy restarts a container after an exit (docker's rules, without the backoff). */
export function policyRestarts(facts: Omit<ExitFacts, 'ranMs'>): boolean {
  switch (facts.policy.name) {
    case 'always':
      return true;
    case 'unless-stopped':
      return !facts.hasBeenManuallyStopped;
    case 'on-failure':
      return facts.exitCode !== 0 && (facts.policy.maximumRetryCount <= 0 || facts.restartCount < facts.policy.maximumRetryCount);
    default:
      return false;
  }
}

/**
 * Per-container restart bookkeeping for one daemon process: which exits were asked for (and
 * so must not restart), the current backoff, and the pending timers.
 */
export class RestartTracker {
  readonly #backoffMs = new Map<string, number>();
  readonly #canceled = new Set<string>();
  readonly #timers = new Map<string, ClockTimer>();
  readonly #clock: EngineClock;

  constructor(clock: EngineClock = systemClock) {
    this.#clock = clock;
  }

  /** The next exit of `id` was asked for (stop, kill with the stop signal, remove): do not restart after it. */
  cancelNext(id: string): void {
    this.#canceled.add(id);
  }

  /** A user started the container again: a new run with a fresh backoff. */
  reset(id: string): void {
    this.#canceled.delete(id);
    this.#backoffMs.delete(id);
  }

  /** The delay before restarting after this exit, or undefined when the container stays down. */
  decide(id: string, facts: ExitFacts): number | undefined {
    if (this.#canceled.delete(id)) return undefined;
    if (!policyRestarts(facts)) return undefined;
    let previous = this.#backoffMs.get(id) ?? 0;
    if (facts.ranMs >= RESET_AFTER_MS) previous = 0;
    const delay = previous === 0 ? FIRST_DELAY_MS : Math.min(previous * 2, MAX_DELAY_MS);
    this.#backoffMs.set(id, delay);
    return delay;
  }

  /** Run `restart` after `delayMs` unless cleared first. */
  schedule(id: string, delayMs: number, restart: () => void): void {
    this.clear(id);
    const timer = this.#clock.schedule(delayMs, () => {
      this.#timers.delete(id);
      restart();
    });
    this.#timers.set(id, timer);
  }

  /** Cancel a pending restart; true when one was pending. */
  clear(id: string): boolean {
    const timer = this.#timers.get(id);
    if (!timer) return false;
    timer.cancel();
    this.#timers.delete(id);
    return true;
  }

  /** Forget everything about a removed container. */
  forget(id: string): void {
    this.clear(id);
    this.#canceled.delete(id);
    this.#backoffMs.delete(id);
  }
}
