/**
 * The engine's clock: the time records carry (started, finished) and the timers the restart
 * policy waits on. The daemon uses the system's; tests inject a manual one to step through
 * backoff sequences without sleeping.
 */

/** A pending timer, to be cancelled with the clock that made it. */
export interface ClockTimer {
  cancel(): void;
}

export interface EngineClock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Run `callback` once after `delayMs`; the timer never keeps the process alive. */
  schedule(delayMs: number, callback: () => void): ClockTimer;
}

/** The real time and Node's timers. */
export const systemClock: EngineClock = {
  now: () => Date.now(),
  schedule(delayMs, callback) {
    const timer = setTimeout(callback, delayMs);
    timer.unref();
    return { cancel: () => clearTimeout(timer) };
  },
};

/** A clock that moves only when told to (`advance`), firing the timers that come due in order. */
export class ManualClock implements EngineClock {
  #nowMs: number;
  #timers: Array<{ dueMs: number; callback: () => void; cancelled: boolean }> = [];

  constructor(startMs = Date.parse('2026-01-01T00:00:00Z')) {
    this.#nowMs = startMs;
  }

  now(): number {
    return this.#nowMs;
  }

  schedule(delayMs: number, callback: () => void): ClockTimer {
    const timer = { dueMs: this.#nowMs + delayMs, callback, cancelled: false };
    this.#timers.push(timer);
    return { cancel: () => void (timer.cancelled = true) };
  }

  /** Delays of the timers still pending, from now, soonest first. */
  pendingDelays(): number[] {
    return this.#timers.filter((t) => !t.cancelled).map((t) => t.dueMs - this.#nowMs).sort((a, b) => a - b);
  }

  /** Move the time forward by `ms`, running every timer that comes due. */
  advance(ms: number): void {
    const target = this.#nowMs + ms;
    for (;;) {
      const next = this.#timers.filter((t) => !t.cancelled && t.dueMs <= target).sort((a, b) => a.dueMs - b.dueMs)[0];
      if (!next) break;
      this.#timers = this.#timers.filter((t) => t !== next);
      this.#nowMs = Math.max(this.#nowMs, next.dueMs);
      next.callback();
    }
    this.#nowMs = target;
  }
}
