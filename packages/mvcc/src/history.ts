/**
 * The revision log: every change record in the order it was made, from the compacted revision
 * on. It is what etcd reads from its backend's revision-keyed bucket to catch watchers up, and
 * what `hashKV` and `snapshot` walk. Records are shared with the key index (the log only holds
 * references), so the log costs one array slot per change.
 *
 * Order is etcd's (main, sub) revision order: records are appended in commit order and a
 * transaction appends its changes in the order it made them, so the position in the log is the
 * `sub` part of etcd's revision and need not be stored.
 *
 * Invariants: `main` is non-decreasing along the log; after `compact(c)` every record has
 * `main >= c`, and the records at `main == c` are exactly those compaction kept in the index
 * (live, newest of their key at c), matching what an etcd backend holds after compaction.
 */
import type { KeyRev } from './key-rev.js';

export class History {
  /** Retained records from `start` on; slots before `start` are cleared garbage. */
  private recs: (KeyRev | undefined)[] = [];
  private start = 0;

  /** Number of retained records. */
  get length(): number {
    return this.recs.length - this.start;
  }

  append(rec: KeyRev): void {
    this.recs.push(rec);
  }

  /** The retained record at position `i` (0-based among retained records). */
  at(i: number): KeyRev | undefined {
    return this.recs[this.start + i];
  }

  /** Position of the first retained record with `main >= rev` (`length` when none). */
  firstAtOrAfter(rev: number): number {
    let lo = this.start;
    let hi = this.recs.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const r = this.recs[mid];
      if (r !== undefined && r.main < rev) lo = mid + 1;
      else hi = mid;
    }
    return lo - this.start;
  }

  /**
   * Drops the records before `rev`, and at `rev` those `keep` rejects. Returns every record
   * with `main <= rev` that was retained before the call, in log order: compaction visits
   * their keys, which are exactly the keys changed since the previous compaction.
   */
  compact(rev: number, keep: (rec: KeyRev) => boolean): KeyRev[] {
    const recs = this.recs;
    const begin = this.start;
    const end = begin + this.firstAtOrAfter(rev + 1);
    const touched: KeyRev[] = [];
    for (let i = begin; i < end; i++) {
      const r = recs[i];
      if (r !== undefined) touched.push(r);
    }
    const kept = touched.filter((r) => r.main === rev && keep(r));
    // The kept records move to the end of the compacted span, in order; the rest is cleared
    // so compacted records can be collected.
    const newStart = end - kept.length;
    for (let i = begin; i < newStart; i++) recs[i] = undefined;
    for (let i = 0; i < kept.length; i++) recs[newStart + i] = kept[i];
    this.start = newStart;
    // Copy the survivors once the dead prefix outweighs them: amortized O(1) per record.
    if (newStart > 1024 && newStart > recs.length / 2) {
      this.recs = recs.slice(newStart);
      this.start = 0;
    }
    return touched;
  }
}
