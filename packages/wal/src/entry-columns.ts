import type { Entry } from '@flotilla/raft';

/** Initial capacity of the columns; they double when full. */
const INITIAL_CAPACITY = 256;

/**
 * Recovered entries described by where their bytes lie in the segment buffers, in columns
 * (typed arrays), so that recovery creates no object per entry: an {@link Entry} is made only
 * when Raft reads it. At a million entries, creating the entry objects and their `data` views
 * (about 170 bytes of young objects each) and collecting them cost more than reading and
 * checking the segments (measured, see the README).
 *
 * Position `k` holds entry `first + k` for `k < count`. The `data` of an entry is a view of the
 * segment buffer it was read from, as eager decoding made it before: no copy.
 *
 * Invariant: buffer numbers never decrease along the positions (segments are replayed in order,
 * and a truncated suffix is only replaced by entries from the same or a later segment), so every
 * buffer below the first remaining entry's can be released once the entries before it are gone.
 */
export class EntryColumns {
  /** The segment buffers the entries point into (index = `buffer` column). */
  readonly buffers: Uint8Array[] = [];
  /** The index of the entry at position 0. */
  readonly first: number;
  #count = 0;
  #terms = new Float64Array(INITIAL_CAPACITY);
  #confChange = new Uint8Array(INITIAL_CAPACITY);
  #buffer = new Uint32Array(INITIAL_CAPACITY);
  #at = new Float64Array(INITIAL_CAPACITY);
  #length = new Uint32Array(INITIAL_CAPACITY);

  constructor(first: number) {
    this.first = first;
  }

  /** Number of entries. */
  get count(): number {
    return this.#count;
  }

  /** Adds a segment buffer; returns its number for {@link push}. */
  addBuffer(buf: Uint8Array): number {
    this.buffers.push(buf);
    return this.buffers.length - 1;
  }

  /** Appends the next entry: `length` bytes at offset `at` of buffer `buffer`. */
  push(term: number, confChange: boolean, buffer: number, at: number, length: number): void {
    const k = this.#count;
    if (k === this.#terms.length) this.#grow();
    this.#terms[k] = term;
    this.#confChange[k] = confChange ? 1 : 0;
    this.#buffer[k] = buffer;
    this.#at[k] = at;
    this.#length[k] = length;
    this.#count = k + 1;
  }

  /** Keeps the first `count` entries (a conflicting suffix being replaced, §5.3). */
  truncate(count: number): void {
    if (count < this.#count) this.#count = count;
  }

  /** The term of the entry at position `k` (`0 <= k < count`). */
  term(k: number): number {
    return this.#terms[k] as number;
  }

  /** The payload size of the entry at position `k`. */
  size(k: number): number {
    return this.#length[k] as number;
  }

  /** The segment buffer number of the entry at position `k`. */
  bufferOf(k: number): number {
    return this.#buffer[k] as number;
  }

  /** Makes the entry at position `k` (a fresh object; its data is a view, not a copy). */
  entry(k: number): Entry {
    const buf = this.buffers[this.#buffer[k] as number] as Uint8Array;
    return {
      term: this.#terms[k] as number,
      index: this.first + k,
      type: this.#confChange[k] === 1 ? 'confChange' : 'normal',
      data: new Uint8Array(buf.buffer, buf.byteOffset + (this.#at[k] as number), this.#length[k] as number),
    };
  }

  /** Forgets the buffers below number `keep` (no remaining entry points into them). */
  release(keep: number): void {
    for (let b = 0; b < keep; b++) this.buffers[b] = EMPTY;
  }

  #grow(): void {
    const cap = this.#terms.length * 2;
    const terms = new Float64Array(cap);
    terms.set(this.#terms);
    this.#terms = terms;
    const confChange = new Uint8Array(cap);
    confChange.set(this.#confChange);
    this.#confChange = confChange;
    const buffer = new Uint32Array(cap);
    buffer.set(this.#buffer);
    this.#buffer = buffer;
    const at = new Float64Array(cap);
    at.set(this.#at);
    this.#at = at;
    const length = new Uint32Array(cap);
    length.set(this.#length);
    this.#length = length;
  }
}

const EMPTY = new Uint8Array(0);
