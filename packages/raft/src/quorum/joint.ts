import type { NodeId } from '../types.js';
import { MajorityConfig } from './majority.js';
import type { AckedIndexer, VoteLookup, VoteResult } from './quorum.js';

const EMPTY = new MajorityConfig();

/**
 * A joint configuration (thesis §4.3): decisions need a majority of `incoming` AND a majority of
 * `outgoing`. Outside a membership change `outgoing` is empty and the joint configuration behaves
 * exactly like `incoming` alone.
 */
export class JointConfig {
  readonly incoming: MajorityConfig;
  readonly outgoing: MajorityConfig;
  /** Every voter of either half, sorted, without duplicates. */
  readonly ids: readonly NodeId[];

  constructor(incoming: MajorityConfig = EMPTY, outgoing: MajorityConfig = EMPTY) {
    this.incoming = incoming;
    this.outgoing = outgoing;
    this.ids =
      outgoing.size === 0 ? incoming.ids : new MajorityConfig([...incoming.ids, ...outgoing.ids]).ids;
  }

  /** True while a membership change is in progress (the outgoing half is non-empty). */
  get isJoint(): boolean {
    return this.outgoing.size > 0;
  }

  /** True when `id` votes in either half. */
  has(id: NodeId): boolean {
    return this.incoming.has(id) || this.outgoing.has(id);
  }

  /** The largest index both halves have committed: the minimum of the two. */
  committedIndex(acked: AckedIndexer): number {
    const a = this.incoming.committedIndex(acked);
    if (this.outgoing.size === 0) return a;
    const b = this.outgoing.committedIndex(acked);
    return Math.min(a, b);
  }

  /**
   * Won only when both halves won; lost as soon as either half lost; otherwise pending (thesis
   * §4.3: "agreement for elections and entry commitment requires separate majorities from both").
   */
  voteResult(votes: VoteLookup): VoteResult {
    const a = this.incoming.voteResult(votes);
    const b = this.outgoing.voteResult(votes);
    if (a === b) return a;
    if (a === 'lost' || b === 'lost') return 'lost';
    return 'pending';
  }

  /** `(1 2 3)` or `(1 2 4)&&(1 2 3)` while joint. */
  toString(): string {
    return this.isJoint ? `${this.incoming}&&${this.outgoing}` : this.incoming.toString();
  }
}
