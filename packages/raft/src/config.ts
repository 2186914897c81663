import { RaftError } from './errors.js';
import { type Logger, silentLogger } from './logger.js';
import type { Storage } from './storage.js';
import type { NodeId } from './types.js';

/**
 * How a leader answers ReadIndex requests (thesis §6.4).
 *
 * - `'safe'` (default): the leader confirms it is still leader with a heartbeat round to a quorum
 *   before answering. Correct whatever the clocks do.
 * - `'leaseBased'`: the leader answers from its commit index at once while it holds a lease
 *   (thesis §6.4.1): a quorum of voters acknowledged a heartbeat it *sent* less than
 *   `electionTick - leaseMarginTicks` of its ticks ago. Those voters will not vote for anyone
 *   else for `electionTick` of their own ticks after receiving it, so no other leader can exist
 *   before the lease ends. Message delay does not matter (the lease counts from the send time);
 *   what it assumes is that clock rates differ by less than the margin allows: while the leader
 *   counts its lease, no other member may tick more than `leaseMarginTicks - 1` times more than
 *   the leader does. A host must therefore tick from a monotonic clock and, after the process
 *   stalled (a GC pause, SIGSTOP, a suspended VM), deliver the ticks it missed before it steps
 *   anything else: a leader whose clock stood still would trust an expired lease. Without a
 *   lease (a new leader before its first acknowledged heartbeat, a leader cut off from its
 *   quorum, during and after a leadership transfer in the same term) a read is confirmed as in
 *   `'safe'` mode instead. Requires `checkQuorum`. With it, a member that heard from a leader
 *   in the last `electionTick` ticks, or restarted less than `electionTick` ticks ago, neither
 *   votes nor lets `campaign()` start an election (it would end the lease early).
 */
export type ReadOnlyOption = 'safe' | 'leaseBased';

/**
 * The configuration of one Raft member. Times are in ticks (`RawNode.tick()` calls); sizes count
 * entry payload bytes (`Entry.data.byteLength`).
 *
 * @example
 * ```ts
 * const storage = new MemoryStorage();
 * const node = new RawNode({ id: 1, electionTick: 10, heartbeatTick: 1, storage, checkQuorum: true, preVote: true });
 * ```
 */
export interface RaftConfig {
  /** This member's id: a positive safe integer, unique in the cluster. */
  readonly id: NodeId;
  /**
   * Election timeout in ticks. A follower that hears nothing from a leader for a randomized
   * timeout in `[electionTick, 2·electionTick)` ticks starts an election (§5.2). Must be greater
   * than `heartbeatTick`; suggested `10 × heartbeatTick` so a few lost heartbeats do not cause an
   * election.
   */
  readonly electionTick: number;
  /** Ticks between leader heartbeats. Must be > 0; suggested 1. */
  readonly heartbeatTick: number;
  /** The log, hard state and snapshots, as persisted by the host. Raft only reads it. */
  readonly storage: Storage;
  /**
   * The last index the host's state machine has applied (on restart). Raft does not hand out
   * committed entries at or below it again. Default: the storage's compaction point
   * (`storage.firstIndex() - 1`), which is the snapshot index only when the host compacts at
   * every snapshot: a host that restores its state machine from a snapshot newer than the
   * compaction point must pass that snapshot's index here, or entries are applied twice. Must
   * lie between the compaction point and the persisted commit index.
   */
  readonly applied?: number;
  /**
   * Maximum payload bytes of entries in one `app` message (always at least one entry). `0` means
   * one entry per message, as in etcd. Default 1 MiB; suggested 64 KiB-1 MiB: smaller values cost
   * throughput, larger ones delay heartbeats behind big messages.
   */
  readonly maxSizePerMsg?: number;
  /**
   * Maximum payload bytes of `Ready.committedEntries` handed out and not yet applied (commit
   * pagination; always at least one entry). `0` or absent: `maxSizePerMsg`.
   */
  readonly maxCommittedSizePerReady?: number;
  /**
   * Maximum payload bytes of entries the leader holds uncommitted; proposals beyond it are refused
   * with `PROPOSAL_DROPPED`, which bounds memory while a quorum is unreachable. A single proposal
   * larger than the cap is admitted when nothing is uncommitted. `0` (default) = unlimited.
   */
  readonly maxUncommittedEntriesSize?: number;
  /**
   * Maximum number of `app` messages in flight to one follower while it is replicating
   * (optimistic pipelining). Must be > 0. Default 256; suggested 64-512 depending on latency.
   */
  readonly maxInflightMsgs?: number;
  /**
   * Maximum payload bytes in flight to one follower. `0` (default) = unlimited; otherwise it must
   * be ≥ `maxSizePerMsg`.
   */
  readonly maxInflightBytes?: number;
  /**
   * When true a leader steps down when it has not heard from a quorum within an election timeout,
   * and members ignore vote requests while they hear from a leader (vote stickiness, thesis
   * §4.2.3 / §9.6). Default false; suggested true.
   */
  readonly checkQuorum?: boolean;
  /**
   * When true a member first asks whether it could win (PreVote, thesis §9.6) before it bumps its
   * term, so a partitioned member cannot disrupt the cluster when it comes back. Default false;
   * suggested true.
   */
  readonly preVote?: boolean;
  /** How ReadIndex requests are served. Default `'safe'`. `'leaseBased'` requires `checkQuorum`. */
  readonly readOnlyOption?: ReadOnlyOption;
  /**
   * `'leaseBased'` only: how many ticks before the followers' election timeout (`electionTick`)
   * the leader stops trusting a heartbeat round, so its lease lasts `electionTick -
   * leaseMarginTicks` ticks from the moment it sent the heartbeat a quorum acknowledged. One tick
   * covers the tick granularity; each further tick tolerates another member ticking once more
   * than the leader during the lease, so members may tick up to `(leaseMarginTicks - 1) /
   * (electionTick - leaseMarginTicks)` faster than the leader. An integer in `[1, electionTick)`.
   * Default `1 + ceil(electionTick / 10)` (at most `electionTick - 1`): with `electionTick` 10
   * the lease lasts 8 ticks and tolerates members ticking 12.5% faster than the leader. Ignored
   * in `'safe'` mode.
   */
  readonly leaseMarginTicks?: number;
  /** When true, followers refuse proposals (`PROPOSAL_DROPPED`) instead of forwarding them. Default false. */
  readonly disableProposalForwarding?: boolean;
  /**
   * When true (default) a leader that applies a configuration which removes it or makes it a
   * learner steps down at once (etcd's StepDownOnRemoval; etcd-io/etcd#11038).
   */
  readonly stepDownOnRemoval?: boolean;
  /**
   * Seed of the PRNG that draws randomized election timeouts. Default: derived from `id`, so a
   * run is reproducible; give members of one cluster distinct ids (or seeds).
   */
  readonly seed?: number;
  /** Where the core reports events. Default: silent. */
  readonly logger?: Logger;
}

/** A validated configuration with every default filled in (internal). */
export interface ResolvedConfig {
  readonly id: NodeId;
  readonly electionTick: number;
  readonly heartbeatTick: number;
  readonly storage: Storage;
  readonly applied: number;
  /** `0` = one entry per message. */
  readonly maxSizePerMsg: number;
  /** Infinity when unlimited. */
  readonly maxCommittedSizePerReady: number;
  /** Infinity when unlimited. */
  readonly maxUncommittedEntriesSize: number;
  readonly maxInflightMsgs: number;
  /** Infinity when unlimited. */
  readonly maxInflightBytes: number;
  readonly checkQuorum: boolean;
  readonly preVote: boolean;
  readonly readOnlyOption: ReadOnlyOption;
  /** In `[1, electionTick)`. */
  readonly leaseMarginTicks: number;
  readonly disableProposalForwarding: boolean;
  readonly stepDownOnRemoval: boolean;
  readonly seed: number;
  readonly logger: Logger;
}

/** Default `maxSizePerMsg`: 1 MiB. */
export const DEFAULT_MAX_SIZE_PER_MSG = 1024 * 1024;
/** Default `maxInflightMsgs`. */
export const DEFAULT_MAX_INFLIGHT_MSGS = 256;

/**
 * Default `leaseMarginTicks`: one tick for granularity plus a tenth of the election timeout for
 * clock drift, leaving the lease at least one tick.
 */
export function defaultLeaseMarginTicks(electionTick: number): number {
  return Math.min(electionTick - 1, 1 + Math.ceil(electionTick / 10));
}

function invalid(message: string): never {
  throw new RaftError('INVALID_CONFIG', message);
}

function isSize(v: number): boolean {
  return v === Number.POSITIVE_INFINITY || (Number.isSafeInteger(v) && v >= 0);
}

function size(name: string, v: number | undefined, dflt: number): number {
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !isSize(v))
    invalid(`${name} must be a non-negative integer, got ${String(v)}`);
  return v;
}

function flag(name: string, v: boolean | undefined, dflt: boolean): boolean {
  if (v === undefined) return dflt;
  if (typeof v !== 'boolean') invalid(`${name} must be a boolean, got ${String(v)}`);
  return v;
}

/**
 * Checks `c` with etcd's rules and fills in defaults. Throws `INVALID_CONFIG` naming the first
 * problem. Pure: `c` is not modified.
 */
export function resolveConfig(c: RaftConfig): ResolvedConfig {
  if (typeof c !== 'object' || c === null) invalid('config must be an object');
  if (!Number.isSafeInteger(c.id) || c.id <= 0)
    invalid(`id must be a positive safe integer, got ${String(c.id)}`);
  if (!Number.isSafeInteger(c.heartbeatTick) || c.heartbeatTick <= 0) {
    invalid(`heartbeatTick must be a positive integer, got ${String(c.heartbeatTick)}`);
  }
  if (!Number.isSafeInteger(c.electionTick) || c.electionTick <= c.heartbeatTick) {
    invalid(
      `electionTick (${String(c.electionTick)}) must be an integer greater than heartbeatTick (${c.heartbeatTick})`,
    );
  }
  const s = c.storage as Partial<Storage> | undefined;
  if (
    typeof s !== 'object' ||
    s === null ||
    typeof s.initialState !== 'function' ||
    typeof s.entries !== 'function' ||
    typeof s.term !== 'function' ||
    typeof s.firstIndex !== 'function' ||
    typeof s.lastIndex !== 'function' ||
    typeof s.snapshot !== 'function'
  ) {
    invalid('storage must implement Storage');
  }
  const applied = size('applied', c.applied, 0);
  if (applied === Number.POSITIVE_INFINITY) invalid('applied must be finite');
  const maxSizePerMsg = size('maxSizePerMsg', c.maxSizePerMsg, DEFAULT_MAX_SIZE_PER_MSG);
  // etcd: MaxCommittedSizePerReady defaults to MaxSizePerMsg. We keep "0 = one entry" for it too.
  const committedRaw = size('maxCommittedSizePerReady', c.maxCommittedSizePerReady, 0);
  const maxCommittedSizePerReady = committedRaw === 0 ? maxSizePerMsg : committedRaw;
  const uncommitted = size('maxUncommittedEntriesSize', c.maxUncommittedEntriesSize, 0);
  const maxInflightMsgs = c.maxInflightMsgs ?? DEFAULT_MAX_INFLIGHT_MSGS;
  if (!Number.isSafeInteger(maxInflightMsgs) || maxInflightMsgs <= 0) {
    invalid(`maxInflightMsgs must be a positive integer, got ${String(maxInflightMsgs)}`);
  }
  const inflightBytes = size('maxInflightBytes', c.maxInflightBytes, 0);
  if (inflightBytes !== 0 && inflightBytes < maxSizePerMsg) {
    invalid(`maxInflightBytes (${inflightBytes}) must be >= maxSizePerMsg (${maxSizePerMsg}) or 0`);
  }
  const readOnlyOption = c.readOnlyOption ?? 'safe';
  if (readOnlyOption !== 'safe' && readOnlyOption !== 'leaseBased') {
    invalid(`readOnlyOption must be 'safe' or 'leaseBased', got ${String(readOnlyOption)}`);
  }
  const checkQuorum = flag('checkQuorum', c.checkQuorum, false);
  // A lease is only sound if the leader steps down when it loses its quorum (thesis §6.4.1).
  if (readOnlyOption === 'leaseBased' && !checkQuorum) {
    invalid("readOnlyOption 'leaseBased' requires checkQuorum");
  }
  const leaseMarginTicks = c.leaseMarginTicks ?? defaultLeaseMarginTicks(c.electionTick);
  if (!Number.isSafeInteger(leaseMarginTicks) || leaseMarginTicks < 1 || leaseMarginTicks >= c.electionTick) {
    invalid(
      `leaseMarginTicks must be an integer in [1, electionTick (${c.electionTick})), got ${String(leaseMarginTicks)}`,
    );
  }
  const seed = c.seed ?? c.id;
  if (!Number.isSafeInteger(seed)) invalid(`seed must be a safe integer, got ${String(seed)}`);
  const logger = c.logger ?? silentLogger;
  if (
    typeof logger !== 'object' ||
    logger === null ||
    typeof logger.debug !== 'function' ||
    typeof logger.info !== 'function' ||
    typeof logger.warn !== 'function' ||
    typeof logger.error !== 'function'
  ) {
    invalid('logger must have debug, info, warn and error functions');
  }
  return {
    id: c.id,
    electionTick: c.electionTick,
    heartbeatTick: c.heartbeatTick,
    storage: c.storage,
    applied,
    maxSizePerMsg,
    maxCommittedSizePerReady: maxCommittedSizePerReady,
    maxUncommittedEntriesSize: uncommitted === 0 ? Number.POSITIVE_INFINITY : uncommitted,
    maxInflightMsgs,
    maxInflightBytes: inflightBytes === 0 ? Number.POSITIVE_INFINITY : inflightBytes,
    checkQuorum,
    preVote: flag('preVote', c.preVote, false),
    readOnlyOption,
    leaseMarginTicks,
    disableProposalForwarding: flag('disableProposalForwarding', c.disableProposalForwarding, false),
    stepDownOnRemoval: flag('stepDownOnRemoval', c.stepDownOnRemoval, true),
    seed,
    logger,
  };
}
