import { RaftError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { Entry, Snapshot } from '../types.js';
import { limitCount, NO_ENTRIES } from './limit.js';

/**
 * The part of the log the host has not yet persisted (etcd's `unstable`): entries appended since
 * the last persisted Ready, and possibly a snapshot received from the leader. Raft reads it
 * before Storage, so it sees its own log immediately while the host writes in the background.
 *
 * Entries are handed to the host once (`nextEntries`, then `acceptInProgress` marks them "in
 * progress") and dropped when the host reports them persisted (`stableTo`).
 *
 * Layout: `#ents[#start + k]` is the entry at index `offset + k`. Persisted entries are dropped
 * by moving `#start` forward and the array is compacted only when the dead prefix is large, so
 * every operation is O(1) amortized per entry.
 *
 * Invariants: `offset ≤ offsetInProgress ≤ offset + length`; when a snapshot is present,
 * `offset === snapshot.metadata.index + 1`; entries are contiguous.
 */
export class Unstable {
  /** A snapshot received from the leader and not yet persisted. */
  snapshot: Snapshot | undefined = undefined;
  /** The snapshot was handed to the host (in a Ready) and not yet reported persisted. */
  snapshotInProgress = false;
  /** Index of the first unstable entry. */
  offset: number;
  /** Entries below this index were handed to the host and await persistence. */
  offsetInProgress: number;
  #ents: Entry[] = [];
  #start = 0;
  readonly #logger: Logger;

  constructor(offset: number, logger: Logger) {
    this.offset = offset;
    this.offsetInProgress = offset;
    this.#logger = logger;
  }

  /** Number of unstable entries. */
  get length(): number {
    return this.#ents.length - this.#start;
  }

  /** The first index the log has if a snapshot is pending (snapshot index + 1). */
  maybeFirstIndex(): number | undefined {
    return this.snapshot === undefined ? undefined : this.snapshot.metadata.index + 1;
  }

  /** The last index held here (last entry, else the snapshot's index), if any. */
  maybeLastIndex(): number | undefined {
    const n = this.length;
    if (n > 0) return this.offset + n - 1;
    return this.snapshot === undefined ? undefined : this.snapshot.metadata.index;
  }

  /** The term of entry `i` if it is held here (an entry, or the snapshot's last entry). */
  maybeTerm(i: number): number | undefined {
    if (i < this.offset) {
      const s = this.snapshot;
      return s !== undefined && s.metadata.index === i ? s.metadata.term : undefined;
    }
    const k = i - this.offset;
    if (k >= this.length) return undefined;
    return (this.#ents[this.#start + k] as Entry).term;
  }

  /** The last unstable entry (callers check `length > 0`). */
  lastEntry(): Entry | undefined {
    return this.#ents[this.#ents.length - 1];
  }

  /** Entries not yet handed to the host. */
  nextEntries(): readonly Entry[] {
    const inProgress = this.offsetInProgress - this.offset;
    if (inProgress >= this.length) return NO_ENTRIES;
    return this.#ents.slice(this.#start + inProgress);
  }

  /** True when some entries were not yet handed to the host. */
  hasNextEntries(): boolean {
    return this.offsetInProgress - this.offset < this.length;
  }

  /** The snapshot if it was not yet handed to the host. */
  nextSnapshot(): Snapshot | undefined {
    return this.snapshotInProgress ? undefined : this.snapshot;
  }

  /** Marks everything held as handed to the host (called when a Ready is accepted). */
  acceptInProgress(): void {
    if (this.length > 0) this.offsetInProgress = this.offset + this.length;
    if (this.snapshot !== undefined) this.snapshotInProgress = true;
  }

  /**
   * The host persisted entries up to (`index`, `term`): drop them. Ignored when the entry is no
   * longer here or was overwritten with another term since (the host persisted an older
   * version; the newer one is still unstable).
   */
  stableTo(index: number, term: number): void {
    const t = this.maybeTerm(index);
    if (t === undefined || index < this.offset) {
      this.#logger.debug(`entry ${index} is not in the unstable log; ignoring stableTo`);
      return;
    }
    if (t !== term) {
      this.#logger.debug(`entry ${index} has term ${t}, not ${term}, in the unstable log; ignoring stableTo`);
      return;
    }
    this.#start += index + 1 - this.offset;
    this.offset = index + 1;
    if (this.offsetInProgress < this.offset) this.offsetInProgress = this.offset;
    if (this.#start === this.#ents.length) {
      this.#ents = [];
      this.#start = 0;
    } else if (this.#start > 1024 && this.#start * 2 > this.#ents.length) {
      // Compact the dead prefix once it dominates: amortized O(1) per entry.
      this.#ents = this.#ents.slice(this.#start);
      this.#start = 0;
    }
  }

  /** The host persisted the snapshot at `index`: forget it. */
  stableSnapTo(index: number): void {
    if (this.snapshot !== undefined && this.snapshot.metadata.index === index) {
      this.snapshot = undefined;
      this.snapshotInProgress = false;
    }
  }

  /** Replaces everything with snapshot `s` (a follower installing the leader's snapshot). */
  restore(s: Snapshot): void {
    this.offset = s.metadata.index + 1;
    this.offsetInProgress = this.offset;
    this.#ents = [];
    this.#start = 0;
    this.snapshot = s;
    this.snapshotInProgress = false;
  }

  /** Appends one entry that directly follows the last one (the leader's proposals). */
  appendOne(e: Entry): void {
    if (e.index !== this.offset + this.length) {
      throw new RaftError(
        'INVARIANT_VIOLATED',
        `unstable append of ${e.index} after ${this.offset + this.length - 1}`,
      );
    }
    this.#ents.push(e);
  }

  /**
   * Appends `ents[from..]`, first truncating any entries at or after the first new index (they
   * conflict with the leader's log, §5.3). The first new index must be ≤ the last index + 1.
   */
  truncateAndAppend(ents: readonly Entry[], from = 0): void {
    const first = (ents[from] as Entry).index;
    const end = this.offset + this.length;
    if (first === end) {
      // The common case: straight append.
      for (let i = from; i < ents.length; i++) this.#ents.push(ents[i] as Entry);
    } else if (first <= this.offset) {
      // Everything here is replaced; the host will overwrite its log from `first` on.
      this.#logger.info(`replace the unstable entries from index ${first}`);
      this.#ents = ents.slice(from);
      this.#start = 0;
      this.offset = first;
      this.offsetInProgress = first;
    } else if (first < end) {
      this.#logger.info(`truncate the unstable entries before index ${first}`);
      this.#ents.length = this.#start + (first - this.offset);
      for (let i = from; i < ents.length; i++) this.#ents.push(ents[i] as Entry);
      if (this.offsetInProgress > first) this.offsetInProgress = first;
    } else {
      throw new RaftError('INVARIANT_VIOLATED', `unstable append at ${first} leaves a gap after ${end - 1}`);
    }
  }

  /**
   * Entries in `[lo, hi)` limited to `maxSize` payload bytes (at least one). The range must lie
   * within the unstable entries.
   */
  slice(lo: number, hi: number, maxSize: number = Number.POSITIVE_INFINITY): Entry[] {
    if (lo > hi || lo < this.offset || hi > this.offset + this.length) {
      throw new RaftError(
        'INVARIANT_VIOLATED',
        `unstable slice [${lo}, ${hi}) out of bounds [${this.offset}, ${this.offset + this.length})`,
      );
    }
    const a = this.#start + lo - this.offset;
    const n = limitCount(this.#ents, a, this.#start + hi - this.offset, maxSize);
    return this.#ents.slice(a, a + n);
  }
}
