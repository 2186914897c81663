import type { Random } from '@flotilla/raft';

/** How a simulated crash treats a file's unsynced writes. */
export type TearMode = 'drop' | 'torn' | 'garbage' | 'pages';

/** A change not yet made durable by a sync, kept in order so a crash can replay a prefix. */
type PendingOp =
  | { readonly kind: 'write'; readonly position: number; readonly data: Uint8Array }
  | { readonly kind: 'resize'; readonly size: number };

/** The page size a `'pages'` crash loses or keeps independently (a Linux page-cache page). */
const PAGE = 4096;

/**
 * The content of one simulated file: the bytes that would survive a power loss (`durable`) and
 * the writes since the last successful sync (`pending`). What a reader sees is the durable bytes
 * with the pending writes replayed over them, as in a page cache.
 *
 * Cost model (the verification suite crashes thousands of times, so this matters): a write
 * copies its bytes once, a sync copies them once more into the durable image, a read copies the
 * file. Nothing is ever proportional to the file size on the write path, which is why the
 * content is not kept twice.
 *
 * Invariants: `buf` bytes at or beyond `durableLength` are zero (content past `buf.length` is
 * implicitly zero, so preallocating a large file costs nothing until it is written);
 * `length` is the size a reader sees.
 */
export class SimFile {
  #buf: Uint8Array = new Uint8Array(0);
  #durableLength = 0;
  #pending: PendingOp[] = [];
  #length = 0;

  /** The size a reader sees. */
  get length(): number {
    return this.#length;
  }

  /** True when some write or resize is not yet durable. */
  get dirty(): boolean {
    return this.#pending.length > 0;
  }

  write(data: Uint8Array, position: number): void {
    this.#pending.push({ kind: 'write', position, data: data.slice() });
    this.#length = Math.max(this.#length, position + data.byteLength);
  }

  resize(size: number): void {
    this.#pending.push({ kind: 'resize', size });
    this.#length = size;
  }

  /** A copy of what a reader sees. */
  read(): Uint8Array {
    const out = new Uint8Array(this.#length);
    out.set(this.#buf.subarray(0, Math.min(this.#durableLength, this.#length)));
    let length = this.#durableLength;
    for (const op of this.#pending) {
      if (op.kind === 'resize') {
        // Shrinking then growing again must read zeros in between.
        if (op.size < length) out.fill(0, op.size, Math.min(length, out.length));
        length = op.size;
      } else {
        const end = Math.min(op.position + op.data.byteLength, out.length);
        if (op.position < end) out.set(op.data.subarray(0, end - op.position), op.position);
        length = Math.max(length, op.position + op.data.byteLength);
      }
    }
    return out;
  }

  /** A successful fsync: every pending change becomes durable. */
  sync(): void {
    for (const op of this.#pending) this.#apply(op);
    this.#pending = [];
  }

  /**
   * A failed fsync. The simulation takes the harsh reading of Linux's behaviour: the unsynced
   * writes are gone (their pages were dropped), and readers no longer see them either.
   */
  failSync(): void {
    this.#pending = [];
    this.#length = this.#durableLength;
  }

  /** Replaces the content at once and durably (bit rot, an operator's edit). */
  replace(content: Uint8Array): void {
    this.#buf = content.slice();
    this.#durableLength = content.byteLength;
    this.#pending = [];
    this.#length = content.byteLength;
  }

  /**
   * Power loss. `'drop'` loses every pending change; `'torn'` keeps the changes up to a random
   * byte of the pending writes, cutting the write that holds that byte; `'garbage'` does the
   * same but fills the rest of the cut write with random bytes (a torn sector full of noise);
   * `'pages'` keeps or loses each 4 KiB page of every pending write independently (writeback
   * out of order), except that of the writes into one page only a prefix survives.
   */
  crash(mode: TearMode, rng: Random): void {
    const pending = this.#pending;
    this.#pending = [];
    if (mode === 'drop' || pending.length === 0) {
      this.#length = this.#durableLength;
      return;
    }
    if (mode === 'pages') {
      // A page is written back with its content at that moment, so of the writes into one page a
      // crash keeps a prefix (in write order): once one is lost, every later one into that page
      // is lost too. (Losing an earlier write while keeping a later one in the same page is
      // impossible on a real disk, and leaves holes smaller than a sector.)
      const lostPages = new Set<number>();
      for (const op of pending) {
        if (op.kind === 'resize') {
          this.#apply(op);
          continue;
        }
        const end = op.position + op.data.byteLength;
        for (let page = op.position - (op.position % PAGE); page < end; page += PAGE) {
          if (!rng.chance(0.5) || lostPages.has(page)) {
            lostPages.add(page);
            continue;
          }
          const from = Math.max(page, op.position);
          const to = Math.min(page + PAGE, end);
          this.#apply({
            kind: 'write',
            position: from,
            data: op.data.subarray(from - op.position, to - op.position),
          });
        }
      }
      this.#length = this.#durableLength;
      return;
    }
    let total = 0;
    for (const op of pending) if (op.kind === 'write') total += op.data.byteLength;
    let budget = rng.int(0, total + 1);
    for (const op of pending) {
      if (op.kind === 'resize') {
        this.#apply(op);
        continue;
      }
      if (budget >= op.data.byteLength) {
        this.#apply(op);
        budget -= op.data.byteLength;
        continue;
      }
      // The write the power loss interrupted.
      const torn = op.data.slice();
      if (mode === 'garbage') for (let i = budget; i < torn.length; i++) torn[i] = rng.int(0, 256);
      this.#apply({
        kind: 'write',
        position: op.position,
        data: mode === 'garbage' ? torn : torn.subarray(0, budget),
      });
      break;
    }
    this.#length = this.#durableLength;
  }

  #apply(op: PendingOp): void {
    if (op.kind === 'resize') {
      if (op.size < this.#durableLength)
        this.#buf.fill(0, op.size, Math.min(this.#durableLength, this.#buf.length));
      this.#durableLength = op.size;
      return;
    }
    const end = op.position + op.data.byteLength;
    if (end > this.#buf.length) {
      const grown = new Uint8Array(Math.max(end, this.#buf.length * 2, 256));
      grown.set(this.#buf.subarray(0, Math.min(this.#durableLength, this.#buf.length)));
      this.#buf = grown;
    }
    this.#buf.set(op.data, op.position);
    this.#durableLength = Math.max(this.#durableLength, end);
  }
}
