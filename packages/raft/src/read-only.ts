import type { JointConfig } from './quorum/joint.js';
import type { AckedIndexer } from './quorum/quorum.js';
import type { NodeId } from './types.js';

/** A ReadIndex request waiting for the leader to confirm its leadership. */
export interface ReadIndexRequest {
  /** Who asked: the leader itself (a local `readIndex`) or a follower that forwarded it. */
  readonly from: NodeId;
  /** The requester's context, returned with the answer. */
  readonly context: Uint8Array;
  /** The leader's commit index when the request arrived: the read index (thesis §6.4 step 1). */
  readonly index: number;
}

/**
 * The leader's state for ReadIndex reads in `'safe'` mode (thesis §6.4), after etcd-io/raft#397:
 *
 * 1. A request records the current commit index as its read index and gets a position in a FIFO
 *    queue; positions are numbered by a sequence the leader generates (never the user's context,
 *    so two requests with equal contexts can not be confused, etcd-io/etcd#20418).
 * 2. Every heartbeat carries the position of the newest unconfirmed request (`readSeq`), and
 *    followers echo it back.
 * 3. A request is confirmed once a quorum of voters (counting the leader) echoed a sequence at or
 *    after its position: they still accepted this leader after the request arrived, so no newer
 *    leader could have committed anything the read index misses. Confirmation is FIFO: all
 *    requests up to the quorum's position are answered at once.
 *
 * A new leader does not accept requests until it committed an entry of its own term (the caller
 * parks them): before that its commit index may lag what the previous leader committed
 * (etcd #7331).
 */
export class ReadOnly {
  /** Highest sequence each member acknowledged. */
  readonly #acks = new Map<NodeId, number>();
  #queue: ReadIndexRequest[] = [];
  /** Requests confirmed so far; the sequence of `#queue[k]` is `#confirmed + k + 1`. */
  #confirmed = 0;
  readonly #acked: AckedIndexer = (id) => this.#acks.get(id);

  /** Number of requests waiting for confirmation. */
  get pending(): number {
    return this.#queue.length;
  }

  /** Queues a request with read index `index`. */
  addRequest(index: number, from: NodeId, context: Uint8Array): void {
    this.#queue.push({ from, context, index });
  }

  /** Records that `from` acknowledged heartbeat sequence `seq` (0 = none). */
  recvAck(from: NodeId, seq: number): void {
    if (seq === 0) return;
    const prev = this.#acks.get(from);
    if (prev === undefined || prev < seq) this.#acks.set(from, seq);
  }

  /**
   * Confirms and returns every request a quorum of `voters` has acknowledged, oldest first.
   */
  maybeAdvance(voters: JointConfig): ReadIndexRequest[] {
    const confirmed = voters.committedIndex(this.#acked);
    if (confirmed <= this.#confirmed || confirmed === Number.POSITIVE_INFINITY) return [];
    const n = Math.min(confirmed - this.#confirmed, this.#queue.length);
    const done = this.#queue.slice(0, n);
    this.#queue = this.#queue.slice(n);
    this.#confirmed += n;
    return done;
  }

  /** The sequence a heartbeat must carry to confirm every queued request (0 when none). */
  heartbeatSeq(): number {
    return this.#queue.length === 0 ? 0 : this.#confirmed + this.#queue.length;
  }
}
