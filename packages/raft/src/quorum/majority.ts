import type { NodeId } from '../types.js';
import type { AckedIndexer, VoteLookup, VoteResult } from './quorum.js';

/**
 * Scratch space for {@link MajorityConfig.committedIndex}: the sort needs one number per voter and
 * allocating it on every acknowledgement would sit on the replication hot path. JavaScript runs
 * this single-threaded and the function does not re-enter, so one shared buffer is safe.
 */
let scratch = new Float64Array(16);

/**
 * A set of voters decided by simple majority (§5.2, §5.3): ⌊n/2⌋ + 1 of them make a quorum.
 * Immutable; `ids` is sorted so every iteration (and everything derived from it) is
 * deterministic.
 */
export class MajorityConfig {
  /** The voters, sorted ascending, without duplicates. */
  readonly ids: readonly NodeId[];
  readonly #set: ReadonlySet<NodeId>;

  constructor(ids: Iterable<NodeId> = []) {
    const set = new Set(ids);
    this.#set = set;
    this.ids = [...set].sort((a, b) => a - b);
  }

  /** The number of voters. */
  get size(): number {
    return this.ids.length;
  }

  /** True when `id` is a voter of this configuration. */
  has(id: NodeId): boolean {
    return this.#set.has(id);
  }

  /**
   * The largest index acknowledged by a quorum: sort the acknowledged indexes and take the one a
   * majority has reached (§5.3, "a log entry is committed once the leader that created the entry
   * has replicated it on a majority of the servers"). Members without an acknowledgement count as
   * 0. An empty configuration returns +Infinity so that, in a joint configuration, the empty half
   * never holds back the other (`min(∞, x) = x`).
   */
  committedIndex(acked: AckedIndexer): number {
    const n = this.ids.length;
    if (n === 0) return Number.POSITIVE_INFINITY;
    if (scratch.length < n) scratch = new Float64Array(n * 2);
    const srt = scratch;
    // Insertion sort: n is a handful of voters, and it allocates nothing.
    for (let i = 0; i < n; i++) {
      const v = acked(this.ids[i] as NodeId) ?? 0;
      let j = i - 1;
      while (j >= 0 && (srt[j] as number) > v) {
        srt[j + 1] = srt[j] as number;
        j--;
      }
      srt[j + 1] = v;
    }
    // With the indexes sorted ascending, the quorum of the n/2+1 largest all reached
    // srt[n - (n/2 + 1)]. Example n=5, sorted [1 3 5 7 9]: position 2 → 5 (three voters ≥ 5).
    return srt[n - (Math.floor(n / 2) + 1)] as number;
  }

  /**
   * Tallies a vote: `'won'` with a majority of yes, `'lost'` when the missing votes could no
   * longer make a majority, else `'pending'`. An empty configuration wins (it never blocks the
   * other half of a joint configuration).
   */
  voteResult(votes: VoteLookup): VoteResult {
    const n = this.ids.length;
    if (n === 0) return 'won';
    let yes = 0;
    let missing = 0;
    for (const id of this.ids) {
      const v = votes(id);
      if (v === undefined) missing++;
      else if (v) yes++;
    }
    const q = Math.floor(n / 2) + 1;
    if (yes >= q) return 'won';
    if (yes + missing >= q) return 'pending';
    return 'lost';
  }

  /** `(1 2 3)`, as etcd prints configurations. */
  toString(): string {
    return `(${this.ids.join(' ')})`;
  }
}
