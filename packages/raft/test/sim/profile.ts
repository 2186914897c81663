import type { Random } from '@flotilla/raft';

/**
 * What one simulation run looks like: cluster size, Raft options and the fault mix, all drawn
 * from the run's seed so that seeds cover different corners (3 to 7 members, PreVote and
 * CheckQuorum on or off, small messages and windows, more or fewer crashes and partitions).
 */
export interface SimProfile {
  /** Members bootstrapped as voters: 3 to 7, mostly 3 or 5. */
  readonly initialVoters: number;
  /** Ids available in total (initial voters plus the ones membership changes may add), ≤ 7. */
  readonly poolSize: number;
  readonly preVote: boolean;
  readonly checkQuorum: boolean;
  readonly electionTick: number;
  readonly heartbeatTick: number;
  readonly maxSizePerMsg: number;
  readonly maxInflightMsgs: number;
  readonly maxCommittedSizePerReady: number;
  /** 0 = unlimited; otherwise ≥ maxSizePerMsg. */
  readonly maxInflightBytes: number;
  /** 0 = unlimited. */
  readonly maxUncommittedEntriesSize: number;
  readonly disableProposalForwarding: boolean;
  readonly stepDownOnRemoval: boolean;
  /** Probability that a delivered message is lost. */
  readonly pDrop: number;
  /** Probability that a sent message is duplicated. */
  readonly pDup: number;
  /** Messages are delayed by up to this many ticks (reordering comes from random delivery order). */
  readonly maxDelay: number;
  /** Probability that a taken Ready is persisted at once (else later: a crash in between loses it). */
  readonly pPersistNow: number;
  /** Relative weights of the fault actions. */
  readonly crash: number;
  readonly partition: number;
  readonly confChange: number;
  readonly transfer: number;
  readonly compact: number;
  /** Frequent crashes and quick restarts (a weight multiplier), for elections under churn. */
  readonly churn: number;
  /** Probability of crashing a member right after it sent a granted vote. */
  readonly crashAfterVote: number;
}

export function drawProfile(rng: Random, overrides: Partial<SimProfile> = {}): SimProfile {
  const initialVoters = rng.pick([3, 3, 3, 4, 5, 5, 6, 7]);
  const poolSize = Math.min(7, initialVoters + rng.int(0, 3));
  const electionTick = rng.pick([5, 10, 10]);
  return {
    ...drawn(rng, initialVoters, poolSize, electionTick),
    ...overrides,
  };
}

function drawn(rng: Random, initialVoters: number, poolSize: number, electionTick: number): SimProfile {
  const maxSizePerMsg = rng.pick([0, 16, 64, 1024]);
  return {
    initialVoters,
    poolSize,
    preVote: rng.chance(0.5),
    checkQuorum: rng.chance(0.5),
    electionTick,
    heartbeatTick: rng.pick([1, 1, 2]),
    maxSizePerMsg,
    maxInflightMsgs: rng.pick([1, 2, 4, 256]),
    maxCommittedSizePerReady: rng.pick([0, 32, 4096]),
    maxInflightBytes: rng.pick([0, 0, Math.max(64, maxSizePerMsg) * 4]),
    maxUncommittedEntriesSize: rng.pick([0, 0, 256]),
    disableProposalForwarding: rng.chance(0.2),
    stepDownOnRemoval: rng.chance(0.8),
    pDrop: rng.pick([0, 0.02, 0.05, 0.15]),
    pDup: rng.pick([0, 0.02, 0.1]),
    maxDelay: rng.pick([0, 1, 3, 6]),
    pPersistNow: rng.pick([0.3, 0.7, 1]),
    crash: rng.pick([0, 1, 2, 4]),
    partition: rng.pick([0, 1, 2, 4]),
    confChange: rng.pick([0, 1, 3]),
    transfer: rng.pick([0, 1, 2]),
    compact: rng.pick([0, 1, 3]),
    churn: rng.pick([1, 1, 2, 4, 10]),
    crashAfterVote: rng.pick([0, 0, 0.3]),
  };
}

/** A one-line description of a profile, printed with failures. */
export function describeProfile(p: SimProfile): string {
  return Object.entries(p)
    .map(([k, v]) => `${k}=${String(v)}`)
    .join(' ');
}
