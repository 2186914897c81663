import type { Random } from '@flotilla/raft';

/**
 * Reconnect delays: capped exponential backoff with "equal jitter". Attempt `n` (from 0) waits
 * `d / 2 + random * d / 2` where `d = min(maxMs, initialMs * 2^n)`.
 *
 * Why: exponential growth keeps a dead peer from costing a dial every few milliseconds; the cap
 * bounds how long a recovered peer waits to be noticed; the jitter spreads the reconnects of
 * many members so a restarted node is not hit by all of them at the same instant. Keeping half
 * of the delay fixed ("equal jitter") guarantees a minimum pause between attempts.
 */
export class Backoff {
  readonly #initialMs: number;
  readonly #maxMs: number;
  readonly #random: Random;
  #attempt = 0;

  constructor(initialMs: number, maxMs: number, random: Random) {
    this.#initialMs = initialMs;
    this.#maxMs = maxMs;
    this.#random = random;
  }

  /** Failures since the last success. */
  get attempts(): number {
    return this.#attempt;
  }

  /** The delay before the next attempt; counts one more failure. */
  next(): number {
    // 2^n overflows to Infinity after ~1000 attempts; min() keeps it at the cap.
    const d = Math.min(this.#maxMs, this.#initialMs * 2 ** this.#attempt);
    this.#attempt++;
    return d / 2 + (this.#random.next() * d) / 2;
  }

  /** A connection succeeded: the next failure starts from `initialMs` again. */
  reset(): void {
    this.#attempt = 0;
  }
}
