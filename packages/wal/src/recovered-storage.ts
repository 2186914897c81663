import {
  type ConfState,
  EMPTY_HARD_STATE,
  type Entry,
  emptyConfState,
  type HardState,
  MemoryStorage,
  RaftError,
  type Snapshot,
} from '@flotilla/raft';
import type { EntryColumns } from './entry-columns.js';

/**
 * The `MemoryStorage` a recovered WAL hands to Raft: the recovered entries stay in the segment
 * buffers (an {@link EntryColumns}) and become {@link Entry} objects only when Raft reads them;
 * entries saved after recovery are kept as objects, as `MemoryStorage` keeps them.
 *
 * Why: recovering a million-entry log spent most of its time creating a million entry objects
 * and their `data` views, and collecting them (a full garbage collection of the young objects it
 * had just made), before Raft could even start; Raft reads them later in bounded batches
 * (applying, or replicating to a follower), and compaction drops most of them unread.
 *
 * It behaves exactly as `MemoryStorage` (same results, same errors, same rules for snapshots,
 * compaction and conflicting suffixes); the WAL's tests check both side by side on random
 * operation sequences. It overrides every public method, so the base class's own state stays
 * unused; a test fails if `MemoryStorage` gains a method this class does not override.
 *
 * Layout: entry `offset` is the dummy (the snapshot or compaction point, term `offsetTerm`);
 * entries `offset + 1 .. offset + lazyCount` are columns positions `lazyFrom ..` of `lazy`;
 * the entries after them are `tail`. Invariant: `lazyFrom + lazyCount <= lazy.count`, and
 * terms never decrease along the log.
 */
export class RecoveredStorage extends MemoryStorage {
  #hardState: HardState = EMPTY_HARD_STATE;
  #snapshot: Snapshot;
  #offset: number;
  #offsetTerm: number;
  #lazy: EntryColumns | undefined;
  #lazyFrom = 0;
  #lazyCount = 0;
  #tail: Entry[] = [];

  /**
   * A storage holding `snapshot` (if any), then the entries of `columns`, which must start
   * right after the snapshot, and `hardState`.
   */
  constructor(snapshot: Snapshot | undefined, columns: EntryColumns, hardState: HardState) {
    super();
    this.#snapshot = snapshot ?? {
      metadata: { index: 0, term: 0, confState: emptyConfState() },
      data: new Uint8Array(0),
    };
    this.#offset = this.#snapshot.metadata.index;
    this.#offsetTerm = this.#snapshot.metadata.term;
    if (columns.first !== this.#offset + 1) {
      throw new RaftError(
        'INVARIANT_VIOLATED',
        `recovered entries start at ${columns.first}, not after the snapshot at ${this.#offset}`,
      );
    }
    this.#lazy = columns;
    this.#lazyCount = columns.count;
    this.#hardState = hardState;
  }

  override initialState(): { hardState: HardState; confState: ConfState } {
    return { hardState: this.#hardState, confState: this.#snapshot.metadata.confState };
  }

  override setHardState(hs: HardState): void {
    this.#hardState = hs;
  }

  override entries(lo: number, hi: number, maxSize?: number): Entry[] {
    const offset = this.#offset;
    if (lo <= offset)
      throw new RaftError(
        'COMPACTED',
        `entries [${lo}, ${hi}): index ${lo} is compacted (first index ${offset + 1})`,
      );
    if (hi > this.lastIndex() + 1) {
      throw new RaftError('UNAVAILABLE', `entries [${lo}, ${hi}): beyond last index ${this.lastIndex()}`);
    }
    if (lo >= hi) return [];
    // As MemoryStorage: the first entry always, then more while the total stays <= maxSize.
    const out: Entry[] = [];
    let size = 0;
    for (let i = lo; i < hi; i++) {
      const bytes = this.#size(i);
      if (maxSize !== undefined && out.length > 0 && size + bytes > maxSize) break;
      size += bytes;
      out.push(this.#entry(i));
    }
    return out;
  }

  override term(i: number): number {
    const offset = this.#offset;
    if (i < offset) throw new RaftError('COMPACTED', `term(${i}): compacted (first index ${offset + 1})`);
    if (i === offset) return this.#offsetTerm;
    if (i > this.lastIndex())
      throw new RaftError('UNAVAILABLE', `term(${i}): beyond last index ${this.lastIndex()}`);
    const k = i - offset - 1;
    const lazy = this.#lazy;
    if (lazy !== undefined && k < this.#lazyCount) return lazy.term(this.#lazyFrom + k);
    return (this.#tail[k - this.#lazyCount] as Entry).term;
  }

  override firstIndex(): number {
    return this.#offset + 1;
  }

  override lastIndex(): number {
    return this.#offset + this.#lazyCount + this.#tail.length;
  }

  override snapshot(): Snapshot {
    return this.#snapshot;
  }

  override applySnapshot(snap: Snapshot): void {
    const current = this.#snapshot.metadata.index;
    if (current >= snap.metadata.index && !(current === 0 && snap.metadata.index === 0)) {
      throw new RaftError(
        'SNAP_OUT_OF_DATE',
        `snapshot at ${snap.metadata.index} is not newer than the current one at ${current}`,
      );
    }
    this.#snapshot = snap;
    this.#offset = snap.metadata.index;
    this.#offsetTerm = snap.metadata.term;
    this.#dropLazy();
    this.#tail = [];
  }

  override createSnapshot(i: number, confState: ConfState, data: Uint8Array): Snapshot {
    if (i <= this.#snapshot.metadata.index) {
      throw new RaftError(
        'SNAP_OUT_OF_DATE',
        `snapshot at ${i} is not newer than ${this.#snapshot.metadata.index}`,
      );
    }
    if (i > this.lastIndex()) {
      throw new RaftError('UNAVAILABLE', `snapshot at ${i} is beyond last index ${this.lastIndex()}`);
    }
    const term = this.term(i);
    this.#snapshot = { metadata: { index: i, term, confState }, data };
    return this.#snapshot;
  }

  override compact(compactIndex: number): void {
    const offset = this.#offset;
    if (compactIndex <= offset)
      throw new RaftError('COMPACTED', `compact(${compactIndex}): already compacted to ${offset}`);
    if (compactIndex > this.lastIndex()) {
      throw new RaftError('UNAVAILABLE', `compact(${compactIndex}): beyond last index ${this.lastIndex()}`);
    }
    const term = this.term(compactIndex);
    const drop = compactIndex - offset;
    const lazy = this.#lazy;
    if (lazy !== undefined && drop < this.#lazyCount) {
      this.#lazyFrom += drop;
      this.#lazyCount -= drop;
      // Segment buffers that no remaining entry points into can be collected.
      lazy.release(lazy.bufferOf(this.#lazyFrom));
    } else {
      this.#tail = this.#tail.slice(drop - this.#lazyCount);
      this.#dropLazy();
    }
    this.#offset = compactIndex;
    this.#offsetTerm = term;
  }

  override append(entries: readonly Entry[]): void {
    if (entries.length === 0) return;
    const first = entries[0];
    const lastNew = entries[entries.length - 1];
    if (first === undefined || lastNew === undefined) return;
    const offset = this.#offset;
    // Everything is already compacted away.
    if (lastNew.index <= offset) return;
    if (first.index > this.lastIndex() + 1) {
      throw new RaftError(
        'UNAVAILABLE',
        `append: missing log entries [last ${this.lastIndex()}, appending at ${first.index}]`,
      );
    }
    // Skip the part that is already compacted.
    const skip = first.index <= offset ? offset + 1 - first.index : 0;
    const start = first.index + skip; // index of the first entry we keep
    // Truncate the suffix that the new entries replace (no-op when appending at the end).
    const keep = start - offset - 1; // entries kept after the dummy
    if (keep < this.#lazyCount) {
      this.#lazyCount = keep;
      this.#tail = [];
      if (keep === 0) this.#dropLazy();
    } else {
      this.#tail.length = keep - this.#lazyCount;
    }
    for (let k = skip; k < entries.length; k++) {
      const e = entries[k];
      if (e !== undefined) this.#tail.push(e);
    }
  }

  /** The payload size of entry `i` (offset < i <= lastIndex) without materializing it. */
  #size(i: number): number {
    const k = i - this.#offset - 1;
    const lazy = this.#lazy;
    if (lazy !== undefined && k < this.#lazyCount) return lazy.size(this.#lazyFrom + k);
    return (this.#tail[k - this.#lazyCount] as Entry).data.byteLength;
  }

  /** Entry `i` (offset < i <= lastIndex). */
  #entry(i: number): Entry {
    const k = i - this.#offset - 1;
    const lazy = this.#lazy;
    if (lazy !== undefined && k < this.#lazyCount) return lazy.entry(this.#lazyFrom + k);
    return this.#tail[k - this.#lazyCount] as Entry;
  }

  #dropLazy(): void {
    this.#lazy = undefined;
    this.#lazyFrom = 0;
    this.#lazyCount = 0;
  }
}
