import { JointConfig } from '../quorum/joint.js';
import type { AckedIndexer, VoteLookup, VoteResult } from '../quorum/quorum.js';
import type { ConfState, NodeId } from '../types.js';
import type { Progress } from './progress.js';

/**
 * A membership configuration as the tracker holds it (etcd's tracker.Config).
 *
 * Invariants (checked by the confchange Changer): learners are never voters of either half;
 * `learnersNext` ⊆ outgoing voters and not yet learners; outside a joint configuration
 * `learnersNext` is empty and `autoLeave` is false.
 */
export interface TrackerConfig {
  readonly voters: JointConfig;
  /** Members that receive the log but do not vote. */
  readonly learners: ReadonlySet<NodeId>;
  /**
   * Outgoing voters that become learners when the joint configuration is left (a voter can not be
   * both a voter and a learner at once, so demotion waits for the leave, etcd's LearnersNext).
   */
  readonly learnersNext: ReadonlySet<NodeId>;
  /** Leave the joint configuration automatically once it is applied. */
  readonly autoLeave: boolean;
}

/** The configuration with no members. */
export const EMPTY_TRACKER_CONFIG: TrackerConfig = Object.freeze({
  voters: new JointConfig(),
  learners: new Set<NodeId>(),
  learnersNext: new Set<NodeId>(),
  autoLeave: false,
});

const sorted = (s: ReadonlySet<NodeId>): NodeId[] => [...s].sort((a, b) => a - b);

/** The {@link ConfState} describing `c` (all lists sorted). */
export function confStateOf(c: TrackerConfig): ConfState {
  return {
    voters: [...c.voters.incoming.ids],
    learners: sorted(c.learners),
    votersOutgoing: [...c.voters.outgoing.ids],
    learnersNext: sorted(c.learnersNext),
    autoLeave: c.autoLeave,
  };
}

/** `voters=(1 2 3) learners=(4)`, as etcd prints a configuration. */
export function describeTrackerConfig(c: TrackerConfig): string {
  let s = `voters=${c.voters}`;
  if (c.learners.size > 0) s += ` learners=(${sorted(c.learners).join(' ')})`;
  if (c.learnersNext.size > 0) s += ` learners_next=(${sorted(c.learnersNext).join(' ')})`;
  if (c.autoLeave) s += ' autoleave';
  return s;
}

/**
 * The current configuration plus every member's {@link Progress} and the votes of the current
 * election (etcd's ProgressTracker).
 *
 * Invariant: `progress` has exactly one entry per member (voter of either half or learner);
 * `ids` lists those members sorted, so visiting them is deterministic.
 */
export class ProgressTracker {
  config: TrackerConfig = EMPTY_TRACKER_CONFIG;
  #progress: Map<NodeId, Progress> = new Map();
  /** The members, sorted (kept in step with `progress`). */
  ids: readonly NodeId[] = [];
  /** Votes received in the current election: true = granted. */
  readonly votes: Map<NodeId, boolean> = new Map();
  readonly maxInflight: number;
  readonly maxInflightBytes: number;

  /** The match index of a member, for the commit rule (bound once: no closure per call). */
  readonly #matchIndex: AckedIndexer = (id) => this.#progress.get(id)?.match;
  readonly #vote: VoteLookup = (id) => this.votes.get(id);
  readonly #active: VoteLookup = (id) => {
    const pr = this.#progress.get(id);
    return pr === undefined ? undefined : pr.recentActive;
  };

  constructor(maxInflight: number, maxInflightBytes: number) {
    this.maxInflight = maxInflight;
    this.maxInflightBytes = maxInflightBytes;
  }

  /** Every member's progress. Replace it only through {@link setConfig}. */
  get progress(): ReadonlyMap<NodeId, Progress> {
    return this.#progress;
  }

  /** Installs a new configuration and its progress map (from the Changer). */
  setConfig(config: TrackerConfig, progress: Map<NodeId, Progress>): void {
    this.config = config;
    this.#progress = progress;
    this.ids = [...progress.keys()].sort((a, b) => a - b);
  }

  /** The configuration as a {@link ConfState}. */
  confState(): ConfState {
    return confStateOf(this.config);
  }

  /** True when this is a one-voter, non-joint configuration (a leader can decide alone). */
  isSingleton(): boolean {
    const v = this.config.voters;
    return v.incoming.size === 1 && !v.isJoint;
  }

  /** The largest index replicated on a quorum of voters (of both halves when joint). */
  committed(): number {
    return this.config.voters.committedIndex(this.#matchIndex);
  }

  /**
   * Whether a quorum of voters was recently active (CheckQuorum, thesis §6.2: a leader that
   * cannot reach a quorum for an election timeout steps down).
   */
  quorumActive(): boolean {
    return this.config.voters.voteResult(this.#active) === 'won';
  }

  /** The voters of both halves, sorted. */
  voterNodes(): readonly NodeId[] {
    return this.config.voters.ids;
  }

  /** Forgets the votes of the previous election. */
  resetVotes(): void {
    this.votes.clear();
  }

  /** Records `id`'s vote; only the first vote of a member in an election counts. */
  recordVote(id: NodeId, granted: boolean): void {
    if (!this.votes.has(id)) this.votes.set(id, granted);
  }

  /** Counts granted and rejected votes of voters, and the election's result. */
  tallyVotes(): { granted: number; rejected: number; result: VoteResult } {
    let granted = 0;
    let rejected = 0;
    for (const id of this.ids) {
      const pr = this.#progress.get(id);
      if (pr === undefined || pr.isLearner) continue;
      const v = this.votes.get(id);
      if (v === undefined) continue;
      if (v) granted++;
      else rejected++;
    }
    return { granted, rejected, result: this.config.voters.voteResult(this.#vote) };
  }
}
