import type { Expirable } from './deadlines.js';
import { ReplicaError } from './errors.js';

/**
 * A caller's pending request (a proposal, a read, a membership change, a transfer): its promise
 * callbacks, its deadline and its abort signal. Settles at most once; whichever of completion,
 * deadline, abort or stop comes first wins, the others are ignored.
 */
export class PendingRequest<T> implements Expirable {
  settled = false;
  readonly deadline: number;
  readonly #resolve: (value: T) => void;
  readonly #reject: (err: unknown) => void;
  /** What the request is, for error messages ("proposal", "read", ...). */
  readonly what: string;
  /** True when a timeout or abort leaves the outcome unknown (the request may still take effect). */
  readonly #mayTakeEffect: boolean;
  #signal: AbortSignal | undefined;
  #onAbort: (() => void) | undefined;

  constructor(
    resolve: (value: T) => void,
    reject: (err: unknown) => void,
    what: string,
    deadline: number,
    mayTakeEffect: boolean,
  ) {
    this.#resolve = resolve;
    this.#reject = reject;
    this.what = what;
    this.deadline = deadline;
    this.#mayTakeEffect = mayTakeEffect;
  }

  /** Rejects with `ABORTED` when `signal` fires (at once if it already has). */
  watch(signal: AbortSignal | undefined): void {
    if (signal === undefined) return;
    if (signal.aborted) {
      this.#abort(signal);
      return;
    }
    this.#signal = signal;
    this.#onAbort = () => this.#abort(signal);
    signal.addEventListener('abort', this.#onAbort, { once: true });
  }

  resolve(value: T): void {
    if (this.settled) return;
    this.#settle();
    this.#resolve(value);
  }

  reject(err: unknown): void {
    if (this.settled) return;
    this.#settle();
    this.#reject(err);
  }

  /** The deadline passed (called by the `DeadlineQueue`). */
  expire(): void {
    this.reject(
      new ReplicaError(
        'TIMEOUT',
        `${this.what} timed out${this.#mayTakeEffect ? '; the outcome is unknown: it may still be committed and applied' : ''}`,
      ),
    );
  }

  /** The replica stopped before the request completed. */
  stop(cause?: unknown): void {
    this.reject(stoppedError(this.what, this.#mayTakeEffect, cause));
  }

  #abort(signal: AbortSignal): void {
    this.reject(
      new ReplicaError(
        'ABORTED',
        `${this.what} aborted${this.#mayTakeEffect ? '; the outcome is unknown: it may still be committed and applied' : ''}`,
        { cause: signal.reason },
      ),
    );
  }

  /** Hook for subclasses: called once when the request settles, however it settles. */
  protected onSettled(): void {}

  #settle(): void {
    this.settled = true;
    this.onSettled();
    if (this.#signal !== undefined && this.#onAbort !== undefined) {
      this.#signal.removeEventListener('abort', this.#onAbort);
      this.#signal = undefined;
      this.#onAbort = undefined;
    }
  }
}

/** The `STOPPED` error pending requests reject with when the replica stops or fails. */
export function stoppedError(what: string, mayTakeEffect: boolean, cause?: unknown): ReplicaError {
  const why = cause === undefined ? 'the replica stopped' : `the replica failed (${String(cause)})`;
  return new ReplicaError(
    'STOPPED',
    `${what}: ${why}${mayTakeEffect ? '; the outcome is unknown: it may still be committed and applied' : ''}`,
    cause === undefined ? {} : { cause },
  );
}
