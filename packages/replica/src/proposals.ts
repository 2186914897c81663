import type { Entry } from '@flotilla/raft';
import { decodeEnvelope, type ProposalHeader } from './envelope.js';
import { ReplicaError } from './errors.js';
import { PendingRequest } from './requests.js';

/** What `propose` resolves with: the entry's log index and the state machine's return value. */
export interface ProposeResult<R> {
  readonly index: number;
  readonly result: R;
}

/** A proposal waiting for its entry to be applied. */
export class ProposalRequest<R> extends PendingRequest<ProposeResult<R>> {
  /** The index it was last seen appended at in this replica's log (0 = not yet seen). */
  index = 0;

  constructor(
    readonly tracker: ProposalTracker<R>,
    readonly seq: number,
    resolve: (value: ProposeResult<R>) => void,
    reject: (err: unknown) => void,
    deadline: number,
  ) {
    super(resolve, reject, 'proposal', deadline, true);
  }

  protected override onSettled(): void {
    this.tracker.forget(this.seq);
  }
}

/**
 * This replica's pending proposals, found again among the committed entries by the (session,
 * seq) of their envelope (see `envelope.ts`).
 *
 * Two ways a proposal ends besides its deadline:
 * - its entry is applied: resolved with the index and the state machine's result;
 * - another entry is applied at the index where this replica last saw it appended: a new
 *   leader overwrote it (§5.3: a leader's log wins over the followers' uncommitted suffixes),
 *   and the index is committed now, so the proposal certainly failed: `PROPOSAL_DROPPED`.
 *   A proposal never seen appended (a forwarded one lost on the way) can only time out.
 */
export class ProposalTracker<R> {
  readonly #pending = new Map<number, ProposalRequest<R>>();
  /**
   * Proposals in the order their entries were appended to this replica's log, from `#head` on.
   * Indexes increase along the queue: a truncation (a new leader's entries replacing ours)
   * first removes the records at and after the first replaced index.
   */
  #appended: ProposalRequest<R>[] = [];
  #head = 0;
  #seq = 0;

  /** The next sequence number of this session (1, 2, ...). */
  nextSeq(): number {
    return ++this.#seq;
  }

  get size(): number {
    return this.#pending.size;
  }

  add(req: ProposalRequest<R>): void {
    this.#pending.set(req.seq, req);
  }

  /** Called when a request settles, however. */
  forget(seq: number): void {
    this.#pending.delete(seq);
  }

  /** The pending proposal with `seq` (it leaves the tracker when it settles). */
  get(seq: number): ProposalRequest<R> | undefined {
    return this.#pending.get(seq);
  }

  /**
   * Notes where this session's pending proposals were appended (a Ready's `entries`, about to be
   * persisted). Cheap when nothing is pending.
   */
  noteAppended(entries: readonly Entry[], session: number, h: ProposalHeader): void {
    if (this.#pending.size === 0) return;
    const q = this.#appended;
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i] as Entry;
      if (e.type !== 'normal' || !decodeEnvelope(e.data, h) || h.session !== session) continue;
      const req = this.#pending.get(h.seq);
      if (req === undefined) continue;
      // Records at or after this index describe entries this append replaces (§5.3): what
      // became of those proposals is unknown now; they can still complete, or time out.
      while (q.length > this.#head && (q[q.length - 1] as ProposalRequest<R>).index >= e.index) q.pop();
      req.index = e.index;
      q.push(req);
    }
  }

  /**
   * Index `index` was applied (whatever entry it held, after the entry's own proposal, if any,
   * was resolved). A proposal last seen at that index and still pending was overwritten.
   */
  appliedIndex(index: number): void {
    const q = this.#appended;
    let head = this.#head;
    while (head < q.length) {
      const req = q[head] as ProposalRequest<R>;
      if (req.index > index) break;
      head++;
      if (!req.settled && req.index === index) {
        req.reject(
          new ReplicaError(
            'PROPOSAL_DROPPED',
            `proposal dropped: another entry was committed at index ${index}, where it had been appended (a new leader overwrote it)`,
          ),
        );
      }
    }
    if (head === q.length) {
      if (head > 0) {
        q.length = 0;
        this.#head = 0;
      }
      return;
    }
    this.#head = head;
    if (head > 1024 && head * 2 > q.length) {
      this.#appended = q.slice(head);
      this.#head = 0;
    }
  }

  /**
   * A snapshot up to `index` was installed: the entries it covers will not be applied here.
   * Forget their records (the proposals can now only time out: whether their entries made it
   * into the snapshot is unknown).
   */
  skippedTo(index: number): void {
    const q = this.#appended;
    while (this.#head < q.length && (q[this.#head] as ProposalRequest<R>).index <= index) this.#head++;
  }
}
