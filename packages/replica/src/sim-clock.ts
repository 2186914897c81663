import type { Clock } from './clock.js';
import { ReplicaError } from './errors.js';

/** The handle {@link SimClock.setTimeout} returns. Opaque: pass it to `clearTimeout` only. */
export interface SimTimer {
  /** The simulated time at which the timer fires. */
  readonly dueAt: number;
}

/** A pending timer. `seq` is the creation order, the tie-break between equal due times. */
class Timer implements SimTimer {
  cancelled = false;
  constructor(
    readonly owner: SimClock,
    readonly dueAt: number,
    readonly seq: number,
    readonly fn: () => void,
  ) {}
}

/** True when `a` fires before `b`: earlier due time first, then earlier creation. */
function before(a: Timer, b: Timer): boolean {
  return a.dueAt < b.dueAt || (a.dueAt === b.dueAt && a.seq < b.seq);
}

/** Options of {@link SimClock.runUntilIdle}. */
export interface RunUntilIdleOptions {
  /** Most timers to fire before giving up with `CLOCK_NOT_IDLE`. Default 100,000. */
  readonly maxTimers?: number;
}

/**
 * A simulated {@link Clock}: time stands still until the test moves it, and timers fire in a
 * fixed order, so a run on a `SimClock` is a pure function of its inputs and seed.
 *
 * Ordering rule (the invariant every simulation relies on): timers fire by due time, and timers
 * due at the same time fire in the order they were created. A timer created while another fires
 * is due at (the firing timer's time + its delay); if that falls inside the window an
 * `advance` is covering, it fires in the same `advance`. During a callback `now()` is the
 * callback's own due time.
 *
 * A callback that throws aborts the `advance` with that error: `now()` stays at that timer's due
 * time and the timers not yet fired stay pending, so the caller may inspect and continue.
 *
 * @example
 * ```ts
 * const clock = new SimClock();
 * const fired: string[] = [];
 * clock.setTimeout(() => fired.push('b'), 10);
 * clock.setTimeout(() => fired.push('a'), 5);
 * clock.advance(10); // fired = ['a', 'b'], clock.now() = 10
 * ```
 */
export class SimClock implements Clock {
  #now: number;
  #seq = 0;
  /** A binary min-heap ordered by {@link before}; cancelled timers are removed lazily. */
  #heap: Timer[] = [];
  #live = 0;

  /** Starts at `startMs` (default 0). */
  constructor(startMs = 0) {
    if (!Number.isFinite(startMs)) {
      throw new ReplicaError('INVALID_ARGUMENT', `SimClock start must be a finite number, got ${startMs}`);
    }
    this.#now = startMs;
  }

  now(): number {
    return this.#now;
  }

  setTimeout(fn: () => void, ms: number): SimTimer {
    if (typeof fn !== 'function') throw new ReplicaError('INVALID_ARGUMENT', 'setTimeout needs a function');
    checkDuration('setTimeout delay', ms);
    const timer = new Timer(this, this.#now + ms, this.#seq++, fn);
    this.#push(timer);
    this.#live++;
    return timer;
  }

  clearTimeout(handle: unknown): void {
    if (!(handle instanceof Timer) || handle.owner !== this || handle.cancelled) return;
    handle.cancelled = true;
    this.#live--;
  }

  /** Number of timers armed and not yet fired or cleared. */
  get pending(): number {
    return this.#live;
  }

  /** The due time of the next timer to fire, or `undefined` when none is pending. */
  nextDueAt(): number | undefined {
    return this.#peek()?.dueAt;
  }

  /**
   * Moves time forward by `ms`, firing every timer due up to and including `now() + ms` in
   * order (including timers those callbacks arm inside the window). Returns how many fired.
   */
  advance(ms: number): number {
    checkDuration('advance', ms);
    const target = this.#now + ms;
    let fired = 0;
    for (;;) {
      const next = this.#peek();
      if (next === undefined || next.dueAt > target) break;
      this.#fire(next);
      fired++;
    }
    this.#now = target;
    return fired;
  }

  /**
   * Like {@link SimClock.advance}, but lets promise continuations settle before each timer and
   * at the end (one macrotask turn through `setImmediate`), so async code driven by timers (a
   * replica awaiting its storage) makes progress between them. Deterministic as long as the
   * code under test waits only on promises and this clock, never on real I/O.
   */
  async advanceAsync(ms: number): Promise<number> {
    checkDuration('advanceAsync', ms);
    const target = this.#now + ms;
    let fired = 0;
    for (;;) {
      await settle();
      const next = this.#peek();
      if (next === undefined || next.dueAt > target) break;
      this.#fire(next);
      fired++;
    }
    this.#now = target;
    return fired;
  }

  /** Fires the next timer, moving time to its due time. Returns false when none is pending. */
  runNext(): boolean {
    const next = this.#peek();
    if (next === undefined) return false;
    this.#fire(next);
    return true;
  }

  /**
   * Fires timers (moving time forward to each) until none is pending. Throws `CLOCK_NOT_IDLE`
   * after `maxTimers` timers if some remain: a timer that re-arms itself never idles.
   * Returns how many fired.
   */
  runUntilIdle(options: RunUntilIdleOptions = {}): number {
    const max = options.maxTimers ?? 100_000;
    if (!Number.isSafeInteger(max) || max < 0) {
      throw new ReplicaError('INVALID_ARGUMENT', `maxTimers must be a non-negative integer, got ${max}`);
    }
    let fired = 0;
    while (this.#live > 0) {
      if (fired >= max) {
        throw new ReplicaError(
          'CLOCK_NOT_IDLE',
          `runUntilIdle fired ${fired} timers and ${this.#live} remain (a timer re-arms itself?)`,
          { details: { fired, pending: this.#live, now: this.#now } },
        );
      }
      this.runNext();
      fired++;
    }
    return fired;
  }

  /** Pops `timer` (the heap's top) and runs it at its due time. */
  #fire(timer: Timer): void {
    this.#pop();
    timer.cancelled = true;
    this.#live--;
    // Time never moves backwards, even for a timer armed with a delay of 0 during a callback.
    if (timer.dueAt > this.#now) this.#now = timer.dueAt;
    timer.fn();
  }

  /** The earliest live timer, discarding cancelled ones found on top. */
  #peek(): Timer | undefined {
    for (;;) {
      const top = this.#heap[0];
      if (top === undefined || !top.cancelled) return top;
      this.#pop();
    }
  }

  #push(timer: Timer): void {
    const heap = this.#heap;
    heap.push(timer);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = heap[parent] as Timer;
      if (!before(timer, p)) break;
      heap[i] = p;
      i = parent;
    }
    heap[i] = timer;
  }

  #pop(): void {
    const heap = this.#heap;
    const last = heap.pop();
    if (last === undefined || heap.length === 0) return;
    // Sift `last` down from the root.
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= heap.length) break;
      const r = l + 1;
      const right = heap[r];
      let child = l;
      if (right !== undefined && before(right, heap[l] as Timer)) child = r;
      const c = heap[child] as Timer;
      if (!before(c, last)) break;
      heap[i] = c;
      i = child;
    }
    heap[i] = last;
  }
}

function checkDuration(what: string, ms: number): void {
  if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0) {
    throw new ReplicaError('INVALID_ARGUMENT', `${what} must be a finite number ≥ 0 (ms), got ${ms}`);
  }
}

/** One macrotask turn: every pending microtask (promise continuation) runs first. */
function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
