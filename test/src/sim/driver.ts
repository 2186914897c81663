/**
 * Moving simulated time: a run's promises (clients, the nemesis, members starting) settle only
 * while the `SimClock` advances, so the runner drives the clock until what it waits for is done.
 */
import type { SimClock } from '@flotilla/replica/testing';

/** A promise with its settlement observable synchronously. */
export interface Tracked<T> {
  readonly promise: Promise<T>;
  readonly done: boolean;
  /** The rejection, once settled with one. */
  readonly error: unknown;
  readonly failed: boolean;
}

/** Wraps `p` so the driver can poll it. */
export function track<T>(p: Promise<T>): Tracked<T> {
  const t = { promise: p, done: false, error: undefined as unknown, failed: false };
  p.then(
    () => {
      t.done = true;
    },
    (err: unknown) => {
      t.done = true;
      t.failed = true;
      t.error = err;
    },
  );
  return t;
}

/**
 * Advances `clock` in steps of `stepMs` until `until()` holds (checked between steps) or `maxMs`
 * of simulated time passed. Returns whether `until()` held.
 */
export async function driveUntil(
  clock: SimClock,
  until: () => boolean,
  maxMs: number,
  stepMs = 10,
): Promise<boolean> {
  const end = clock.now() + maxMs;
  while (!until()) {
    if (clock.now() >= end) return false;
    await clock.advanceAsync(stepMs);
  }
  return true;
}
