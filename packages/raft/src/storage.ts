import { RaftError } from './errors.js';
import {
  type ConfState,
  EMPTY_HARD_STATE,
  type Entry,
  emptyConfState,
  type HardState,
  type Snapshot,
} from './types.js';

/**
 * What Raft reads from the host's log (etcd's Storage). Raft never writes through it: the host
 * persists each `Ready` and then makes the result visible here. All methods are synchronous;
 * a host with a disk log keeps the live tail in memory (as `@flotilla/wal` does with
 * {@link MemoryStorage}).
 *
 * Errors are {@link RaftError}s with code `COMPACTED` (index at or below the compaction point),
 * `UNAVAILABLE` (index above the last) or `SNAPSHOT_TEMPORARILY_UNAVAILABLE` (retry later). Any
 * other error is fatal for the node.
 */
export interface Storage {
  /** The persisted hard state and the configuration as of the last snapshot/applied change. */
  initialState(): { hardState: HardState; confState: ConfState };
  /**
   * Entries in `[lo, hi)`, at most `maxSize` payload bytes in total but always at least one
   * entry when the range is non-empty. Throws `COMPACTED` when `lo` ≤ the snapshot index and
   * `UNAVAILABLE` when `hi` > lastIndex + 1. The returned array is the caller's to keep.
   */
  entries(lo: number, hi: number, maxSize?: number): Entry[];
  /**
   * The term of entry `i`, for `i` in `[firstIndex() - 1, lastIndex()]` (the term at
   * `firstIndex() - 1` is the snapshot's, kept so the log-matching check works at the seam).
   */
  term(i: number): number;
  /** Index of the first entry available through `entries` (snapshot index + 1). */
  firstIndex(): number;
  /** Index of the last entry (firstIndex() - 1 when the log is empty). */
  lastIndex(): number;
  /** The most recent snapshot. */
  snapshot(): Snapshot;
}

/**
 * An in-memory {@link Storage}, and the live tail of a replica's durable log.
 *
 * Layout (as etcd's): `ents[0]` is a dummy entry holding the index and term of the last
 * snapshot (or 0/0), so `ents[i - offset]` is entry `i` and `term(offset)` answers the
 * log-matching check at the snapshot seam without keeping the compacted entry.
 *
 * Invariants: `ents` is non-empty; `ents[k].index === offset + k`; terms never decrease.
 */
export class MemoryStorage implements Storage {
  #hardState: HardState = EMPTY_HARD_STATE;
  #snapshot: Snapshot = {
    metadata: { index: 0, term: 0, confState: emptyConfState() },
    data: new Uint8Array(0),
  };
  /** ents[0] is the dummy entry at the snapshot index. */
  #ents: Entry[] = [{ index: 0, term: 0, type: 'normal', data: new Uint8Array(0) }];

  initialState(): { hardState: HardState; confState: ConfState } {
    return { hardState: this.#hardState, confState: this.#snapshot.metadata.confState };
  }

  /** Records the hard state the host has persisted. */
  setHardState(hs: HardState): void {
    this.#hardState = hs;
  }

  entries(lo: number, hi: number, maxSize?: number): Entry[] {
    const offset = this.#offset();
    if (lo <= offset)
      throw new RaftError(
        'COMPACTED',
        `entries [${lo}, ${hi}): index ${lo} is compacted (first index ${offset + 1})`,
      );
    if (hi > this.lastIndex() + 1) {
      throw new RaftError('UNAVAILABLE', `entries [${lo}, ${hi}): beyond last index ${this.lastIndex()}`);
    }
    if (lo >= hi) return [];
    // One pass to find the cut, one slice: this sits on the replication hot path.
    const ents = this.#ents;
    const start = lo - offset;
    let end = hi - offset;
    if (maxSize !== undefined) {
      let size = (ents[start] as Entry).data.byteLength;
      for (let k = start + 1; k < end; k++) {
        size += (ents[k] as Entry).data.byteLength;
        if (size > maxSize) {
          end = k;
          break;
        }
      }
    }
    return ents.slice(start, end);
  }

  term(i: number): number {
    const offset = this.#offset();
    if (i < offset) throw new RaftError('COMPACTED', `term(${i}): compacted (first index ${offset + 1})`);
    const e = this.#ents[i - offset];
    if (e === undefined)
      throw new RaftError('UNAVAILABLE', `term(${i}): beyond last index ${this.lastIndex()}`);
    return e.term;
  }

  firstIndex(): number {
    return this.#offset() + 1;
  }

  lastIndex(): number {
    return this.#offset() + this.#ents.length - 1;
  }

  snapshot(): Snapshot {
    return this.#snapshot;
  }

  /**
   * Replaces the storage's contents with `snap` (a follower installing a leader's snapshot, or a
   * replica restoring at start). Throws `SNAP_OUT_OF_DATE` when `snap` is older than the current
   * snapshot; an index-0 snapshot carrying only a configuration is allowed on empty storage.
   */
  applySnapshot(snap: Snapshot): void {
    const current = this.#snapshot.metadata.index;
    if (current >= snap.metadata.index && !(current === 0 && snap.metadata.index === 0)) {
      throw new RaftError(
        'SNAP_OUT_OF_DATE',
        `snapshot at ${snap.metadata.index} is not newer than the current one at ${current}`,
      );
    }
    this.#snapshot = snap;
    this.#ents = [
      { index: snap.metadata.index, term: snap.metadata.term, type: 'normal', data: new Uint8Array(0) },
    ];
  }

  /**
   * Makes a snapshot at applied index `i` with the given configuration and state-machine data,
   * and returns it. Entries stay until {@link compact} is called (so slow followers can still be
   * fed from the log). Throws `SNAP_OUT_OF_DATE` when `i` ≤ the current snapshot index and
   * `UNAVAILABLE` when `i` > lastIndex.
   */
  createSnapshot(i: number, confState: ConfState, data: Uint8Array): Snapshot {
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

  /**
   * Discards every entry at or below `compactIndex` (which must be ≤ the applied index; the host
   * ensures it). Throws `COMPACTED` when already compacted that far and `UNAVAILABLE` when
   * `compactIndex` > lastIndex.
   */
  compact(compactIndex: number): void {
    const offset = this.#offset();
    if (compactIndex <= offset)
      throw new RaftError('COMPACTED', `compact(${compactIndex}): already compacted to ${offset}`);
    if (compactIndex > this.lastIndex()) {
      throw new RaftError('UNAVAILABLE', `compact(${compactIndex}): beyond last index ${this.lastIndex()}`);
    }
    const cut = this.#ents[compactIndex - offset];
    if (cut === undefined)
      throw new RaftError('INVARIANT_VIOLATED', `compact(${compactIndex}): missing entry`);
    const dummy: Entry = { index: cut.index, term: cut.term, type: 'normal', data: new Uint8Array(0) };
    this.#ents = [dummy, ...this.#ents.slice(compactIndex - offset + 1)];
  }

  /**
   * Appends entries the host has persisted. Entries at or below the compaction point are
   * ignored; an entry at an index that already exists replaces it and everything after it (the
   * conflicting suffix a new leader overwrote, §5.3). A gap (first index > lastIndex + 1) throws
   * `UNAVAILABLE` and changes nothing.
   */
  append(entries: readonly Entry[]): void {
    if (entries.length === 0) return;
    const first = entries[0];
    const lastNew = entries[entries.length - 1];
    if (first === undefined || lastNew === undefined) return;
    const offset = this.#offset();
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
    const ents = this.#ents;
    // Truncate the suffix that the new entries replace (no-op when appending at the end).
    ents.length = start - offset;
    for (let k = skip; k < entries.length; k++) {
      const e = entries[k];
      if (e !== undefined) ents.push(e);
    }
  }

  #offset(): number {
    const dummy = this.#ents[0];
    if (dummy === undefined) throw new RaftError('INVARIANT_VIOLATED', 'MemoryStorage lost its dummy entry');
    return dummy.index;
  }
}
