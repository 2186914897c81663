import type { Clock } from '@flotilla/replica';
import { SkewedClock } from '@flotilla/replica/testing';

/** A timer armed on a {@link NodeClock}: what to run, and whether it was cleared or has run. */
interface NodeTimer {
  readonly fn: () => void;
  inner: unknown;
  done: boolean;
}

/**
 * The clock of one simulated machine (a cluster member or a client process): a
 * {@link SkewedClock} over the run's shared `SimClock` (drift and steps, the clock nemesis) that
 * can also be **paused**, like a process stopped with SIGSTOP.
 *
 * While paused, timers that fall due do not run: they wait, in the order they fell due, and run
 * on resume. Everything a Flotilla member does over time is armed on its clock (Raft ticks,
 * request deadlines, the lease timer, the simulated disk's fsync latency, a session's
 * keep-alives), so a paused member stops ticking, stops expiring leases and finishes no fsync;
 * together with `MemoryNetwork.pause` (its inbound messages wait) it is frozen. Code already
 * running when the pause starts finishes its current step (a promise chain in flight), which a
 * real SIGSTOP can also interrupt at any instruction: the simulation's pause lands between steps.
 *
 * `now()` keeps counting during a pause, as a monotonic clock does while a process is stopped.
 */
export class NodeClock implements Clock {
  readonly skew: SkewedClock;
  #paused = false;
  /** Timers that fell due during the pause, in firing order. */
  #held: NodeTimer[] = [];
  private readonly base: Clock;

  constructor(base: Clock) {
    this.base = base;
    this.skew = new SkewedClock(base);
  }

  /** True while paused. */
  get paused(): boolean {
    return this.#paused;
  }

  now(): number {
    return this.skew.now();
  }

  setTimeout(fn: () => void, ms: number): unknown {
    const timer: NodeTimer = { fn, inner: undefined, done: false };
    timer.inner = this.skew.setTimeout(() => this.#fire(timer), ms);
    return timer;
  }

  clearTimeout(handle: unknown): void {
    if (typeof handle !== 'object' || handle === null || !('fn' in handle)) return;
    const timer = handle as NodeTimer;
    if (timer.done) return;
    timer.done = true;
    this.skew.clearTimeout(timer.inner);
  }

  /** Stops running timers until {@link resume}. Idempotent. */
  pause(): void {
    this.#paused = true;
  }

  /**
   * Runs the timers held during the pause, in order, on the next turn of the base clock (so the
   * caller can first release the member's held network deliveries, which then interleave by
   * their own timers), and lets later timers run normally.
   */
  resume(): void {
    if (!this.#paused) return;
    this.#paused = false;
    const held = this.#held;
    this.#held = [];
    if (held.length === 0) return;
    this.base.setTimeout(() => {
      for (const t of held) this.#run(t);
    }, 0);
  }

  #fire(timer: NodeTimer): void {
    if (timer.done) return;
    if (this.#paused) {
      this.#held.push(timer);
      return;
    }
    this.#run(timer);
  }

  #run(timer: NodeTimer): void {
    if (timer.done) return;
    // A resume followed by a new pause before the held timers ran: keep holding them.
    if (this.#paused) {
      this.#held.push(timer);
      return;
    }
    timer.done = true;
    timer.fn();
  }
}
