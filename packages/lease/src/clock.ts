import { performance } from 'node:perf_hooks';

/**
 * Time, injected: what {@link LeaseTimer} and {@link Session} read and arm timers on.
 *
 * Declared here structurally so this package does not depend on `@flotilla/replica`; that
 * package's `Clock` (and its `SimClock`) has exactly this shape and can be passed as is.
 *
 * `now()` is monotonic milliseconds from an arbitrary origin. Leases are measured on it and never
 * on wall time, so a wall-clock jump can neither expire nor extend a lease (etcd's lessor makes
 * the same choice with Go's monotonic clock readings).
 */
export interface Clock {
  /** Milliseconds since an arbitrary origin; never decreases. May be fractional. */
  now(): number;
  /** Runs `fn` once, `ms` (≥ 0) milliseconds from now, never synchronously. Returns a handle. */
  setTimeout(fn: () => void, ms: number): unknown;
  /** Cancels a timer armed by this clock; ignores handles that fired, were cleared or are foreign. */
  clearTimeout(handle: unknown): void;
}

/**
 * The real clock: `performance.now()` (monotonic) and Node's timers. The default of
 * {@link Session}; servers and tests pass their own clock.
 */
export const systemClock: Clock = Object.freeze({
  now: () => performance.now(),
  setTimeout: (fn: () => void, ms: number): unknown => setTimeout(fn, ms),
  clearTimeout(handle: unknown): void {
    if (typeof handle === 'object' || typeof handle === 'number') {
      clearTimeout(handle as Parameters<typeof clearTimeout>[0]);
    }
  },
});
