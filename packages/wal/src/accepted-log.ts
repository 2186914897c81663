import type { Entry, Snapshot } from '@flotilla/raft';
import { invalid } from './errors.js';

/** Where the accepted log ends, and its snapshot. */
export interface AcceptedState {
  lastIndex: number;
  lastTerm: number;
  snapIndex: number;
  snapTerm: number;
}

/**
 * The log as every accepted call leaves it: ahead of `storage` by the calls still queued or in
 * flight. Each call is checked against it at the API boundary (so a bad call is refused before
 * anything is written, and changes nothing), then its effect is recorded here.
 *
 * The checks keep the storage itself well formed, mirroring `MemoryStorage`'s own rules: no gap
 * after the last entry, nothing rewritten at or below the snapshot, terms that never decrease
 * along the log (§5.3, Log Matching), snapshots only newer, and a local snapshot only of an
 * entry the log holds with that term.
 */
export class AcceptedLog {
  readonly #a: AcceptedState;
  /** The term of entry `i` of the accepted log, for snapshot index ≤ i ≤ last index. */
  readonly #termAt: (i: number) => number;

  constructor(start: AcceptedState, termAt: (i: number) => number) {
    this.#a = { ...start };
    this.#termAt = termAt;
  }

  /** Checks a save (a leader's snapshot, then entries after it) and records its effect. */
  acceptSave(entries: readonly Entry[], snap: Snapshot | undefined): void {
    let { snapIndex, snapTerm, lastIndex, lastTerm } = this.#a;
    if (snap !== undefined) {
      const { index, term } = snap.metadata;
      // As MemoryStorage.applySnapshot: only newer, except an index-0 (configuration only) one on an empty log.
      if (index <= snapIndex && !(index === 0 && snapIndex === 0)) {
        throw invalid(`snapshot at ${index} is not newer than the one at ${snapIndex}`);
      }
      snapIndex = lastIndex = index;
      snapTerm = lastTerm = term;
    }
    const first = entries[0];
    const last = entries[entries.length - 1];
    if (first !== undefined && last !== undefined) {
      if (first.index <= snapIndex) {
        throw invalid(`entries from ${first.index} would rewrite the snapshot at ${snapIndex}`);
      }
      if (first.index > lastIndex + 1)
        throw invalid(`entries from ${first.index} leave a gap after ${lastIndex}`);
      const prev = first.index - 1;
      const before = prev === snapIndex ? snapTerm : prev === lastIndex ? lastTerm : this.#termAt(prev);
      if (first.term < before)
        throw invalid(`entry ${first.index} has term ${first.term} after term ${before}`);
      lastIndex = last.index;
      lastTerm = last.term;
    }
    Object.assign(this.#a, { snapIndex, snapTerm, lastIndex, lastTerm });
  }

  /** Checks a local snapshot (newer, of an entry in the log with that term) and records it. */
  acceptSnapshot(snap: Snapshot): void {
    const { index, term } = snap.metadata;
    const a = this.#a;
    if (index <= a.snapIndex)
      throw invalid(`snapshot at ${index} is not newer than the one at ${a.snapIndex}`);
    if (index > a.lastIndex) {
      throw invalid(
        `snapshot at ${index} is beyond the last index ${a.lastIndex} (install a leader's snapshot with save)`,
      );
    }
    const logTerm = index === a.lastIndex ? a.lastTerm : this.#termAt(index);
    if (logTerm !== term)
      throw invalid(`snapshot at ${index} has term ${term} but the log has term ${logTerm} there`);
    a.snapIndex = index;
    a.snapTerm = term;
  }
}
