/**
 * The window of `app` messages in flight to one follower while it is replicating (etcd's
 * Inflights): a ring buffer of (last index, payload bytes) per message. The leader adds a record
 * per message sent and frees a prefix when the follower acknowledges an index. The window is
 * full when it holds `size` messages or, with a byte limit, at least `maxBytes` bytes; then the
 * leader pauses optimistic sending until acknowledgements arrive (flow control, etcd's
 * design.md).
 *
 * Invariants: indexes are added in increasing order; `count ≤ size`; `bytes` is the sum of the
 * records held. The buffer grows lazily (doubling up to `size`) so idle followers cost nothing.
 */
export class Inflights {
  /** Maximum number of messages in flight. */
  readonly size: number;
  /** Maximum bytes in flight (Infinity = unlimited). */
  readonly maxBytes: number;
  #start = 0;
  #count = 0;
  #bytes = 0;
  #indexes: Float64Array = new Float64Array(0);
  #sizes: Float64Array = new Float64Array(0);

  constructor(size: number, maxBytes: number = Number.POSITIVE_INFINITY) {
    this.size = size;
    this.maxBytes = maxBytes;
  }

  /** Number of messages in flight. */
  get count(): number {
    return this.#count;
  }

  /** Payload bytes in flight. */
  get bytes(): number {
    return this.#bytes;
  }

  /**
   * Records a message whose last entry is `index` carrying `bytes` payload bytes. Must not be
   * called when {@link full}; `index` must exceed every index already held.
   */
  add(index: number, bytes: number): void {
    if (this.full()) throw new RangeError('Inflights.add on a full window');
    let next = this.#start + this.#count;
    if (next >= this.size) next -= this.size;
    if (next >= this.#indexes.length) this.#grow();
    this.#indexes[next] = index;
    this.#sizes[next] = bytes;
    this.#count++;
    this.#bytes += bytes;
  }

  #grow(): void {
    let n = this.#indexes.length * 2;
    if (n === 0) n = 1;
    else if (n > this.size) n = this.size;
    const idx = new Float64Array(n);
    const sz = new Float64Array(n);
    // The ring only wraps once the buffer has reached `size`, so before growing the live records
    // are contiguous from 0 and a plain copy keeps their positions.
    idx.set(this.#indexes);
    sz.set(this.#sizes);
    this.#indexes = idx;
    this.#sizes = sz;
  }

  /** Frees every message whose last index is ≤ `to` (they were acknowledged). */
  freeLE(to: number): void {
    if (this.#count === 0 || to < (this.#indexes[this.#start] as number)) return;
    let idx = this.#start;
    let i = 0;
    let bytes = 0;
    for (; i < this.#count; i++) {
      if (to < (this.#indexes[idx] as number)) break;
      bytes += this.#sizes[idx] as number;
      idx++;
      if (idx >= this.size) idx -= this.size;
    }
    this.#count -= i;
    this.#bytes -= bytes;
    this.#start = this.#count === 0 ? 0 : idx;
  }

  /** True when no more messages may be sent: `size` messages or `maxBytes` bytes in flight. */
  full(): boolean {
    return this.#count === this.size || this.#bytes >= this.maxBytes;
  }

  /** Replaces this window's records with a copy of `other`'s (same size limits assumed). */
  copyFrom(other: Inflights): void {
    this.#start = other.#start;
    this.#count = other.#count;
    this.#bytes = other.#bytes;
    this.#indexes = other.#indexes.slice();
    this.#sizes = other.#sizes.slice();
  }

  /** Forgets everything in flight (on a state change of the follower's progress). */
  reset(): void {
    this.#start = 0;
    this.#count = 0;
    this.#bytes = 0;
  }
}
