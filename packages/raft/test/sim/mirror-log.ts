import type { Entry, MemoryStorage } from '@flotilla/raft';

/**
 * The simulation's copy of one node's log as the host has seen it: the persisted log plus the
 * entries of Readies taken but not yet persisted. Raft hands out every entry it appends in some
 * Ready, so at the moment a Ready is taken this is exactly the node's log (what the invariant
 * checker needs to judge a leader), without reaching into the core.
 *
 * Layout: entries after a snapshot point (`snapIndex`, `snapTerm`); `entries[k]` has index
 * `snapIndex + 1 + k`.
 */
export class MirrorLog {
  snapIndex = 0;
  snapTerm = 0;
  entries: Entry[] = [];

  /** Rebuilds the mirror from what `storage` holds (after a restart). */
  static fromStorage(storage: MemoryStorage): MirrorLog {
    const m = new MirrorLog();
    const first = storage.firstIndex();
    const last = storage.lastIndex();
    m.snapIndex = first - 1;
    m.snapTerm = storage.term(first - 1);
    m.entries = last >= first ? storage.entries(first, last + 1) : [];
    return m;
  }

  lastIndex(): number {
    return this.snapIndex + this.entries.length;
  }

  firstIndex(): number {
    return this.snapIndex + 1;
  }

  /** Term at `i`, for `i` in [snapIndex, lastIndex]; undefined otherwise. */
  term(i: number): number | undefined {
    if (i === this.snapIndex) return this.snapTerm;
    return this.entries[i - this.snapIndex - 1]?.term;
  }

  /** The entry at `i`, or undefined (compacted or beyond the end). */
  entry = (i: number): Entry | undefined => this.entries[i - this.snapIndex - 1];

  /** Appends entries that may overwrite a suffix (as the host's storage does). */
  append(ents: readonly Entry[]): void {
    const first = ents[0];
    if (first === undefined) return;
    if (first.index <= this.snapIndex) {
      const skip = this.snapIndex + 1 - first.index;
      this.append(ents.slice(skip));
      return;
    }
    if (first.index > this.lastIndex() + 1) {
      throw new Error(`mirror log: gap before ${first.index} (last ${this.lastIndex()})`);
    }
    this.entries.length = first.index - this.snapIndex - 1;
    for (const e of ents) this.entries.push(e);
  }

  /** A snapshot at (`index`, `term`) replaces the log. */
  restore(index: number, term: number): void {
    this.snapIndex = index;
    this.snapTerm = term;
    this.entries = [];
  }
}
