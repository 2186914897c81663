import type { JointConfig } from './quorum/joint.js';
import type { AckedIndexer } from './quorum/quorum.js';
import type { ReadIndexRequest } from './read-only.js';
import type { NodeId } from './types.js';

/** A read waiting for a quorum to acknowledge heartbeat `seq` (the lease could not answer it). */
interface WaitingRead {
  /** The first heartbeat sequence broadcast after the request arrived. */
  readonly seq: number;
  readonly req: ReadIndexRequest;
}

/**
 * The leader's lease for `'leaseBased'` reads (thesis §6.4.1), measured in the leader's own
 * ticks and started at the moment a heartbeat was *sent*, never when its answers arrive.
 *
 * Why a heartbeat's send time bounds every other election: a follower restarts its election
 * timer on every message from the leader, and with CheckQuorum it ignores (pre)vote requests
 * until `electionTick` of its ticks have passed since then (raft.ts, "lease is not expired"; in
 * lease mode `leaderContactElapsed` keeps that true across a change of term, a restart and a
 * host's `campaign()`, which etcd's rule forgets). Only a leadership transfer bypasses it,
 * hence {@link revoke}. So once a quorum of voters (the leader among them) acknowledged the heartbeat sent at tick
 * `sentAt`, each of them received it after `sentAt` and will not vote before `electionTick` of
 * its ticks later; any new leader needs one of their votes (quorums intersect, also across a
 * joint configuration), so none can be elected before `sentAt + electionTick`. The leader serves
 * a read at once only while `now < sentAt + electionTick - marginTicks`: the margin covers the
 * tick granularity (a follower's first tick can come just after the heartbeat arrived, and a
 * leader's tick spans a whole period: 1 tick) and the difference between clock rates over an
 * election timeout (the rest). Message delay does not matter: a late answer proves contact at
 * the send time only, which is what the lease counts from.
 *
 * Mechanism: in `'leaseBased'` mode every heartbeat broadcast carries a fresh sequence in the
 * heartbeat's `readSeq` field (followers echo it); this class remembers the tick each recent
 * sequence was sent at and each member's highest echoed sequence. The sequence a quorum has
 * acknowledged is computed with the commit-index rule over the voters (`JointConfig.
 * committedIndex`, as `ReadOnly` does), so joint configurations need both majorities.
 *
 * When the lease does not hold (a new leader before its first acknowledged heartbeat, a leader
 * cut off from its quorum, a leadership transfer) a read falls back to the `'safe'` rule
 * (thesis §6.4): it waits for a quorum to acknowledge a heartbeat broadcast after it arrived,
 * and is answered with the commit index it arrived at. Nothing is dropped unless leadership is
 * lost (the whole object is discarded with the term).
 *
 * One instance lives for one leadership term: `Raft.reset` replaces it.
 */
export class LeaderLease {
  /** Ticks of the follower election timeout the lease is measured against. */
  readonly #electionTick: number;
  /** Ticks before that timeout at which the leader stops trusting its lease. */
  readonly #marginTicks: number;
  /** Leader ticks since this term's leadership began: the lease's monotonic clock. */
  #now = 0;
  /** The last heartbeat sequence broadcast (sequences start at 1; 0 means none). */
  #seq = 0;
  /**
   * `#sentAt[k]` is the tick sequence `#firstSeq + k` was sent at (non-decreasing). Only
   * sequences that could still give a valid lease are kept: older ones are pruned on tick.
   */
  #sentAt: number[] = [];
  #firstSeq = 1;
  /** Highest sequence each member echoed. */
  readonly #acks = new Map<NodeId, number>();
  readonly #acked: AckedIndexer = (id) => this.#acks.get(id);
  /** Reads waiting for a quorum round, in arrival order (so with non-decreasing `seq`). */
  #waiting: WaitingRead[] = [];
  /** Set once a `timeoutNow` left this term: see {@link revoke}. */
  #revoked = false;

  constructor(electionTick: number, marginTicks: number) {
    this.#electionTick = electionTick;
    this.#marginTicks = marginTicks;
  }

  /** One leader tick: advance the clock and forget sequences too old to lease anything. */
  tick(): void {
    this.#now++;
    // A sequence sent at `at` can lease nothing once `now >= at + lease length`; as send ticks
    // never decrease, those sequences form a prefix.
    const len = this.#electionTick - this.#marginTicks;
    let k = 0;
    while (k < this.#sentAt.length && (this.#sentAt[k] as number) + len <= this.#now) k++;
    if (k > 0) {
      this.#sentAt.splice(0, k);
      this.#firstSeq += k;
    }
  }

  /**
   * A heartbeat broadcast leaves now: returns its sequence. The leader acknowledges its own
   * heartbeat at once (`self`): it counts toward the quorum when it is a voter.
   */
  nextHeartbeat(self: NodeId): number {
    this.#seq++;
    this.#sentAt.push(this.#now);
    this.recvAck(self, this.#seq);
    return this.#seq;
  }

  /** Records that `from` echoed heartbeat sequence `seq` (0 = none). */
  recvAck(from: NodeId, seq: number): void {
    // A sequence we never sent cannot come from an honest follower of this term; ignore it
    // rather than let it extend anything.
    if (seq <= 0 || seq > this.#seq) return;
    const prev = this.#acks.get(from);
    if (prev === undefined || prev < seq) this.#acks.set(from, seq);
  }

  /** The highest sequence a quorum of `voters` echoed (0 when none). */
  quorumSeq(voters: JointConfig): number {
    const q = voters.committedIndex(this.#acked);
    // An empty configuration reports +Infinity; it can confirm nothing.
    return Number.isFinite(q) ? q : 0;
  }

  /**
   * Whether a read may be answered at once: the heartbeat a quorum acknowledged was sent less
   * than `electionTick - marginTicks` ticks ago, and no leadership transfer is under way or
   * happened in this term (`transferring`: the leader has a `leadTransferee`; see
   * {@link revoke}).
   */
  valid(voters: JointConfig, transferring: boolean): boolean {
    if (this.#revoked || transferring) return false;
    const at = this.#sentAt[this.quorumSeq(voters) - this.#firstSeq];
    return at !== undefined && this.#now < at + this.#electionTick - this.#marginTicks;
  }

  /**
   * Ends the lease for the rest of the term: the leader sent `timeoutNow`. Its transferee
   * campaigns with vote requests marked as a transfer, which followers grant even while they
   * hear from us (thesis §3.10), so no heartbeat can bound that election any more. The message
   * may arrive after the transfer was aborted, so aborting does not give the lease back; reads
   * fall back to quorum rounds until the term ends.
   */
  revoke(): void {
    this.#revoked = true;
  }

  /** Queues a read to be answered once a quorum acknowledged heartbeat `seq` or a later one. */
  wait(seq: number, req: ReadIndexRequest): void {
    this.#waiting.push({ seq, req });
  }

  /** Removes and returns the waiting reads a quorum of `voters` has confirmed, oldest first. */
  confirmed(voters: JointConfig): ReadIndexRequest[] {
    if (this.#waiting.length === 0) return [];
    const q = this.quorumSeq(voters);
    let n = 0;
    while (n < this.#waiting.length && (this.#waiting[n] as WaitingRead).seq <= q) n++;
    if (n === 0) return [];
    const done = this.#waiting.slice(0, n).map((w) => w.req);
    this.#waiting = this.#waiting.slice(n);
    return done;
  }
}
