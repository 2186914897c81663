import type { Clock } from '../clock.js';
import { checkDuration, LeaseError } from '../errors.js';

/** A pending timer; `seq` breaks ties between equal due times (creation order). */
class Timer {
  cancelled = false;
  constructor(
    readonly owner: ManualClock,
    readonly dueAt: number,
    readonly seq: number,
    readonly fn: () => void,
  ) {}
}

/**
 * A simulated {@link Clock} for tests and teaching: time stands still until the test moves it.
 * Timers fire by due time, then creation order; during a callback `now()` is its due time.
 *
 * {@link ManualClock.advance} lets promise continuations run before each timer and at the end
 * (one macrotask turn), so async code driven by timers (sessions, locks waiting on watches) makes
 * progress between them, deterministically, as long as it waits only on promises and this clock.
 * (`@flotilla/replica`'s `SimClock` has the same contract; this one keeps the lease package free
 * of that dependency.)
 */
export class ManualClock implements Clock {
  #now: number;
  #seq = 0;
  /** Live timers sorted by (dueAt, seq). Small in tests, so a sorted array is enough. */
  #timers: Timer[] = [];

  constructor(startMs = 0) {
    checkDuration(startMs, 'start time');
    this.#now = startMs;
  }

  now(): number {
    return this.#now;
  }

  setTimeout(fn: () => void, ms: number): unknown {
    if (typeof fn !== 'function') throw new LeaseError('INVALID_ARGUMENT', 'setTimeout needs a function');
    checkDuration(ms, 'setTimeout delay');
    const timer = new Timer(this, this.#now + ms, this.#seq++, fn);
    // Insert after every timer due at or before it (stable: creation order among equals).
    let lo = 0;
    let hi = this.#timers.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((this.#timers[mid] as Timer).dueAt <= timer.dueAt) lo = mid + 1;
      else hi = mid;
    }
    this.#timers.splice(lo, 0, timer);
    return timer;
  }

  clearTimeout(handle: unknown): void {
    if (!(handle instanceof Timer) || handle.owner !== this || handle.cancelled) return;
    handle.cancelled = true;
    this.#timers.splice(this.#timers.indexOf(handle), 1);
  }

  /** Number of timers armed and not yet fired or cleared. */
  get pending(): number {
    return this.#timers.length;
  }

  /**
   * Moves time forward by `ms`, firing every timer due up to `now() + ms` in order (including
   * timers armed by those callbacks inside the window), settling promises before each timer and
   * at the end. Resolves with the number of timers fired.
   */
  async advance(ms: number): Promise<number> {
    checkDuration(ms, 'advance');
    const target = this.#now + ms;
    let fired = 0;
    for (;;) {
      await settle();
      const next = this.#timers[0];
      if (next === undefined || next.dueAt > target) break;
      this.#timers.shift();
      next.cancelled = true;
      if (next.dueAt > this.#now) this.#now = next.dueAt;
      next.fn();
      fired++;
    }
    this.#now = target;
    return fired;
  }

  /** Lets pending promise continuations run (one macrotask turn) without moving time. */
  settle(): Promise<void> {
    return settle();
  }
}

/** One macrotask turn: every queued microtask (and those they queue) runs first. */
function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
