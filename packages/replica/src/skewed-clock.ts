import type { Clock } from './clock.js';
import { ReplicaError } from './errors.js';

/** How a {@link SkewedClock} departs from its base clock. */
export interface ClockSkew {
  /** Added to every reading, in ms (default 0). Jumps `now()`; does not move timers. */
  readonly offsetMs?: number;
  /**
   * How fast this clock runs relative to its base (default 1). `1.1` runs 10% fast: `now()`
   * advances 1.1 ms per base ms and a 110 ms timer fires after 100 base ms. Must be > 0.
   */
  readonly rate?: number;
}

/**
 * A {@link Clock} that runs off another one with an offset and a rate: the clock-skew nemesis
 * of the verification suite (Jepsen's clock faults) gives each replica its own skewed view of
 * one shared {@link SimClock}.
 *
 * Two kinds of skew, with different meaning:
 * - `rate` is drift, the realistic fault: a node whose clock runs fast fires its election and
 *   lease timers early. Raft's safety must not depend on it (only liveness may); leases must
 *   tolerate the drift bound they assume.
 * - `offsetMs` is a step of the reading. A monotonic clock never steps backwards in production;
 *   `setOffset` with a smaller value does exactly that, to test code that must not trust it.
 *
 * Changing the rate re-anchors the reading (no jump) and applies to timers armed afterwards;
 * timers already armed keep the base delay they were given.
 *
 * @example
 * ```ts
 * const base = new SimClock();
 * const fast = new SkewedClock(base, { rate: 1.5 });
 * base.advance(100); // fast.now() === 150
 * ```
 */
export class SkewedClock implements Clock {
  readonly #base: Clock;
  #rate = 1;
  #offset = 0;
  /** Base reading and local (unskewed-by-offset) reading at the last re-anchor. */
  #anchorBase: number;
  #anchorLocal: number;

  constructor(base: Clock, skew: ClockSkew = {}) {
    this.#base = base;
    this.#anchorBase = base.now();
    this.#anchorLocal = this.#anchorBase;
    this.setRate(skew.rate ?? 1);
    this.setOffset(skew.offsetMs ?? 0);
  }

  /** The current rate (see {@link ClockSkew.rate}). */
  get rate(): number {
    return this.#rate;
  }

  /** The current offset in ms (see {@link ClockSkew.offsetMs}). */
  get offsetMs(): number {
    return this.#offset;
  }

  now(): number {
    return this.#local() + this.#offset;
  }

  /** Changes the drift from now on, without a jump in `now()`. */
  setRate(rate: number): void {
    if (typeof rate !== 'number' || !Number.isFinite(rate) || rate <= 0) {
      throw new ReplicaError('INVALID_ARGUMENT', `clock rate must be a finite number > 0, got ${rate}`);
    }
    this.#anchorLocal = this.#local();
    this.#anchorBase = this.#base.now();
    this.#rate = rate;
  }

  /** Sets the offset: `now()` jumps by the difference (possibly backwards). */
  setOffset(offsetMs: number): void {
    if (typeof offsetMs !== 'number' || !Number.isFinite(offsetMs)) {
      throw new ReplicaError('INVALID_ARGUMENT', `clock offset must be a finite number, got ${offsetMs}`);
    }
    this.#offset = offsetMs;
  }

  setTimeout(fn: () => void, ms: number): unknown {
    if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0) {
      throw new ReplicaError('INVALID_ARGUMENT', `setTimeout delay must be a finite number ≥ 0, got ${ms}`);
    }
    // `ms` of this clock's time pass in `ms / rate` of the base's.
    return this.#base.setTimeout(fn, ms / this.#rate);
  }

  clearTimeout(handle: unknown): void {
    this.#base.clearTimeout(handle);
  }

  #local(): number {
    return this.#anchorLocal + (this.#base.now() - this.#anchorBase) * this.#rate;
  }
}
