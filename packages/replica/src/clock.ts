import { performance } from 'node:perf_hooks';

/**
 * Time, injected. Everything in Flotilla that waits (the replica's tick, a transport's reconnect
 * backoff, a lease's expiry) reads time and arms timers through a `Clock`, never through the
 * globals, so tests can run on {@link SimClock} and a whole cluster replays from one seed.
 *
 * `now()` is monotonic milliseconds from an arbitrary origin: use it to measure intervals, never
 * as a wall-clock date. Leases depend on that: a lease's remaining time is measured on a
 * monotonic clock so a wall-clock jump can neither expire nor extend it (the same choice as
 * etcd's lessor).
 */
export interface Clock {
  /** Milliseconds since an arbitrary origin; never decreases (except under {@link SkewedClock}'s
   * deliberate `setOffset` jumps). May be fractional. */
  now(): number;
  /**
   * Runs `fn` once, `ms` milliseconds from now (`ms` ≥ 0). Returns a handle for
   * {@link Clock.clearTimeout}. `fn` always runs asynchronously, never inside this call.
   */
  setTimeout(fn: () => void, ms: number): unknown;
  /** Cancels a timer; ignores handles that already fired, were cleared or are not its own. */
  clearTimeout(handle: unknown): void;
}

/**
 * The real clock: `performance.now()` (monotonic, unaffected by wall-clock changes) and Node's
 * timers. Its timers keep the process alive like any `setTimeout`; whoever arms one clears it
 * when it stops.
 */
export const systemClock: Clock = Object.freeze({
  now: () => performance.now(),
  setTimeout: (fn: () => void, ms: number): unknown => setTimeout(fn, ms),
  clearTimeout(handle: unknown): void {
    // Node's clearTimeout accepts anything, but only its own Timeout objects (or their numeric
    // ids) mean something; filter so a foreign handle is ignored as the contract says.
    if (typeof handle === 'object' || typeof handle === 'number' || typeof handle === 'string') {
      clearTimeout(handle as Parameters<typeof clearTimeout>[0]);
    }
  },
});
