/** One write the resource accepted. */
export interface FencedWrite<T> {
  readonly token: number;
  readonly value: T;
}

/**
 * A simulated external resource (a file server, a payment API, a storage bucket) protected by
 * fencing tokens: it remembers the largest token it has seen and refuses any write carrying a
 * smaller one. That single check is what makes a lock safe against holders that pause past their
 * lease: once a newer holder (larger token) has written, the old one's writes bounce.
 *
 * Equal tokens are accepted (one holder writing several times). The token must come from the
 * lock (`LockHandle.fencingToken`), never from the client's own counter.
 */
export class FencedResource<T = unknown> {
  #highest = 0;
  readonly #accepted: FencedWrite<T>[] = [];
  #rejected = 0;

  /** Applies `value` if `token` is at least the largest token seen; returns whether it did. */
  write(token: number, value: T): boolean {
    if (!Number.isSafeInteger(token) || token <= 0 || token < this.#highest) {
      this.#rejected++;
      return false;
    }
    this.#highest = token;
    this.#accepted.push({ token, value });
    return true;
  }

  /** The largest token accepted so far (0 before any write). */
  get highestToken(): number {
    return this.#highest;
  }

  /** Every accepted write, in order. */
  get accepted(): readonly FencedWrite<T>[] {
    return this.#accepted;
  }

  /** How many writes were refused. */
  get rejectedCount(): number {
    return this.#rejected;
  }
}
