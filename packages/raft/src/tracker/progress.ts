import { RaftError } from '../errors.js';
import { Inflights } from './inflights.js';

/**
 * How the leader currently replicates to a follower (etcd's design.md):
 *
 * - `'probe'`: the leader does not know where the follower's log matches; it sends at most one
 *   `app` message per heartbeat interval and waits for the answer (which moves `next` back on a
 *   rejection, or switches to `'replicate'` on success).
 * - `'replicate'`: the follower is known to match up to `match`; the leader streams entries
 *   optimistically, advancing `next` as it sends, limited by the inflight window.
 * - `'snapshot'`: the follower needs entries the leader compacted; a snapshot was sent and the
 *   leader sends nothing else until it is reported finished or failed.
 */
export type ProgressStateType = 'probe' | 'replicate' | 'snapshot';

/** Fields to create a {@link Progress} with. */
export interface ProgressInit {
  match: number;
  next: number;
  maxInflight: number;
  maxInflightBytes: number;
  isLearner: boolean;
  recentActive: boolean;
}

/**
 * The leader's view of one member's log (Figure 2's `nextIndex[]`/`matchIndex[]`, plus etcd's
 * flow-control state). Every member has one on every node (its `isLearner` mirrors the
 * configuration), but only the leader's are used for replication.
 *
 * Invariants: `0 ≤ match < next`; in `'snapshot'` state `next === pendingSnapshot + 1`.
 */
export class Progress {
  /** Highest index known to be in the follower's log (matching ours). */
  match: number;
  /** Index of the next entry to send. */
  next: number;
  /**
   * The commit index most recently sent to the follower (in an `app` or heartbeat); used to send
   * an empty `app` when the follower has all entries but not yet the latest commit index.
   */
  sentCommit = 0;
  state: ProgressStateType = 'probe';
  /** In `'snapshot'` state: the index of the snapshot being sent. */
  pendingSnapshot = 0;
  /**
   * Heard from since the last CheckQuorum round (or recently added). The leader's own progress
   * is always active.
   */
  recentActive: boolean;
  /**
   * Sending `app` messages is paused: in `'probe'` after one message until an answer or a
   * heartbeat response arrives; in `'replicate'` while the inflight window is full.
   */
  msgAppFlowPaused = false;
  readonly inflights: Inflights;
  isLearner: boolean;

  constructor(init: ProgressInit) {
    if (!(init.match < init.next)) {
      throw new RaftError('INVARIANT_VIOLATED', `progress match ${init.match} must be < next ${init.next}`);
    }
    this.match = init.match;
    this.next = init.next;
    this.inflights = new Inflights(init.maxInflight, init.maxInflightBytes);
    this.isLearner = init.isLearner;
    this.recentActive = init.recentActive;
  }

  /** A copy with its own inflight window state dropped (a configuration change copies progress). */
  clone(): Progress {
    const p = new Progress({
      match: this.match,
      next: this.next,
      maxInflight: this.inflights.size,
      maxInflightBytes: this.inflights.maxBytes,
      isLearner: this.isLearner,
      recentActive: this.recentActive,
    });
    p.sentCommit = this.sentCommit;
    p.state = this.state;
    p.pendingSnapshot = this.pendingSnapshot;
    p.msgAppFlowPaused = this.msgAppFlowPaused;
    // The copy keeps the in-flight records: etcd shares the Inflights between the copies; here
    // the old Progress is discarded right after, so moving the records over is equivalent.
    p.inflights.copyFrom(this.inflights);
    return p;
  }

  #resetState(state: ProgressStateType): void {
    this.msgAppFlowPaused = false;
    this.pendingSnapshot = 0;
    this.state = state;
    this.inflights.reset();
  }

  /**
   * Back to probing from the match point. Coming from `'snapshot'`, probing starts after the
   * snapshot if it was sent (the follower likely has it by now).
   */
  becomeProbe(): void {
    if (this.state === 'snapshot') {
      const pending = this.pendingSnapshot;
      this.#resetState('probe');
      this.next = Math.max(this.match + 1, pending + 1);
    } else {
      this.#resetState('probe');
      this.next = this.match + 1;
    }
    this.sentCommit = Math.min(this.sentCommit, this.next - 1);
  }

  /** Starts optimistic pipelining right after the match point. */
  becomeReplicate(): void {
    this.#resetState('replicate');
    this.next = this.match + 1;
  }

  /** A snapshot at `snapshotIndex` is being sent; nothing else is sent until it is reported. */
  becomeSnapshot(snapshotIndex: number): void {
    this.#resetState('snapshot');
    this.pendingSnapshot = snapshotIndex;
    this.next = snapshotIndex + 1;
    this.sentCommit = snapshotIndex;
  }

  /**
   * Records an `app` message carrying `entries` entries and `bytes` payload bytes. In
   * `'replicate'` state `next` advances optimistically and the window records the message; in
   * `'probe'` state one message with entries pauses sending until the answer.
   */
  sentEntries(entries: number, bytes: number): void {
    if (this.state === 'replicate') {
      if (entries > 0) {
        this.next += entries;
        this.inflights.add(this.next - 1, bytes);
      }
      this.msgAppFlowPaused = this.inflights.full();
    } else if (this.state === 'probe') {
      if (entries > 0) this.msgAppFlowPaused = true;
    } else {
      throw new RaftError('INVARIANT_VIOLATED', `sending entries in state ${this.state}`);
    }
  }

  /**
   * True when the follower should get an (empty) `app` to learn commit index `index`: it was sent
   * an older commit index and it has entries beyond it that the new commit would cover.
   */
  canBumpCommit(index: number): boolean {
    return index > this.sentCommit && this.sentCommit < this.next - 1;
  }

  /** Records that commit index `commit` was sent to the follower. */
  setSentCommit(commit: number): void {
    this.sentCommit = commit;
  }

  /**
   * The follower acknowledged index `n`. Returns false for a stale acknowledgement (`n ≤ match`),
   * otherwise raises `match` (and `next` if needed) and unpauses sending.
   */
  maybeUpdate(n: number): boolean {
    if (n <= this.match) return false;
    this.match = n;
    if (this.next < n + 1) this.next = n + 1;
    this.msgAppFlowPaused = false;
    return true;
  }

  /**
   * The follower rejected an `app` whose previous index was `rejected`, hinting that its log
   * may match up to `matchHint` (fast back-off, §5.3's optimisation). Returns false when the
   * rejection is stale (out of order); otherwise moves `next` back.
   *
   * In `'replicate'` state a rejection above `match` means the pipeline broke: restart from
   * `match + 1`. In `'probe'` state only the answer to the one outstanding probe (`next - 1 ===
   * rejected`) counts; `next` moves to the hint, never below `match + 1`.
   */
  maybeDecrTo(rejected: number, matchHint: number): boolean {
    if (this.state === 'replicate') {
      if (rejected <= this.match) return false;
      this.next = this.match + 1;
      this.sentCommit = Math.min(this.sentCommit, this.next - 1);
      return true;
    }
    if (this.next - 1 !== rejected) return false;
    this.next = Math.max(Math.min(rejected, matchHint + 1), this.match + 1);
    this.sentCommit = Math.min(this.sentCommit, this.next - 1);
    this.msgAppFlowPaused = false;
    return true;
  }

  /** True when the leader must not send `app` messages to this follower now. */
  isPaused(): boolean {
    return this.state === 'snapshot' || this.msgAppFlowPaused;
  }

  /** `replicate match=5 next=6 inflight=1`, as etcd prints a Progress. */
  toString(): string {
    let s = `${this.state} match=${this.match} next=${this.next}`;
    if (this.isLearner) s += ' learner';
    if (this.isPaused()) s += ' paused';
    if (this.pendingSnapshot > 0) s += ` pendingSnap=${this.pendingSnapshot}`;
    if (!this.recentActive) s += ' inactive';
    const n = this.inflights.count;
    if (n > 0) {
      s += ` inflight=${n}`;
      if (this.inflights.full()) s += '[full]';
    }
    return s;
  }
}
