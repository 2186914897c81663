import type { NodeId, RaftConfig } from '@flotilla/raft';
import type { ReplicaStorage } from '@flotilla/wal';
import type { Clock } from './clock.js';
import { ReplicaError } from './errors.js';
import type { StateMachine } from './state-machine.js';
import type { Logger } from './transport/logger.js';
import type { Transport } from './transport.js';

/** The Raft settings a replica passes through (everything but what the replica owns). */
export type ReplicaRaftConfig = Partial<
  Omit<RaftConfig, 'id' | 'storage' | 'applied' | 'logger' | 'disableProposalForwarding'>
>;

/** Options of {@link Replica.create}. */
export interface ReplicaOptions<R = unknown> {
  /** This member's id: a positive safe integer, unique in the cluster. */
  readonly id: NodeId;
  /**
   * The voters of a brand-new cluster, this member included. Used only on the very first start
   * (empty storage), when every founding member is started with the same list; ignored later.
   */
  readonly peers?: readonly NodeId[];
  /**
   * Start empty and wait to be added by the cluster (`addVoter`/`addLearner` on a member),
   * instead of founding a cluster with `peers`. Ignored once the storage holds state.
   */
  readonly join?: boolean;
  /** Directory of the WAL and snapshots (opened with `openReplicaStorage`). */
  readonly dataDir?: string;
  /**
   * An open storage to use instead of `dataDir` (for example on a `SimFileSystem`). The
   * replica owns it from now on and closes it on stop. Exactly one of `dataDir`/`storage`.
   */
  readonly storage?: ReplicaStorage;
  readonly stateMachine: StateMachine<R>;
  /** Not yet started: the replica starts it, and closes it on stop. */
  readonly transport: Transport;
  /** Default {@link systemClock}. */
  readonly clock?: Clock;
  /** Milliseconds per Raft tick. Default 100 (with the default ticks: heartbeats every 100 ms,
   * elections after 1-2 s without a leader, as etcd's defaults). */
  readonly tickMs?: number;
  /**
   * Raft settings. Defaults differ from `RawNode`'s where a replica wants it: `electionTick` 10,
   * `heartbeatTick` 1, `preVote` true and `checkQuorum` true (a member returning from a
   * partition must not depose a working leader, thesis §9.6). `disableProposalForwarding` is
   * derived from {@link forwardProposals}.
   */
  readonly raft?: ReplicaRaftConfig;
  /** Take a snapshot every this many applied entries (default 10,000; 0 = never). */
  readonly snapshotEvery?: number;
  /**
   * Entries kept in the log behind a snapshot, so a follower slightly behind catches up from
   * the log rather than by a whole snapshot (etcd's SnapshotCatchUpEntries). Default 5,000.
   */
  readonly snapshotCatchUpEntries?: number;
  /**
   * When true a follower forwards proposals and membership changes to the leader through Raft.
   * Default false: a follower refuses them with `NOT_LEADER` and the leader's id, so the client
   * talks to the leader directly. Why off by default: forwarding adds a network hop, and a
   * forwarded proposal lost on the way is only noticed by its timeout (the outcome stays
   * unknown), while `NOT_LEADER` is immediate and certain.
   */
  readonly forwardProposals?: boolean;
  /** Default timeout of `propose`, `readIndex` and membership changes (ms). Default 10,000. */
  readonly requestTimeoutMs?: number;
  /**
   * How long a ReadIndex round may go unanswered before it is sent again (ms). Default: one
   * election timeout (`electionTick × tickMs`). A round is lost with its message.
   */
  readonly readIndexRetryMs?: number;
  /** Where the replica reports what it cannot throw. Default: warnings and errors on the console. */
  readonly logger?: Logger;
  /**
   * Seeds the replica's random session number (see the README's "Proposals"). Default: drawn
   * from `crypto`. A simulation passes a fresh seed at every start so runs replay exactly.
   */
  readonly seed?: number;
}

/** The options with every default filled in (internal). */
export interface ResolvedOptions {
  readonly tickMs: number;
  readonly electionTick: number;
  readonly snapshotEvery: number;
  readonly snapshotCatchUpEntries: number;
  readonly forwardProposals: boolean;
  readonly requestTimeoutMs: number;
  readonly readIndexRetryMs: number;
}

function bad(message: string): never {
  throw new ReplicaError('INVALID_ARGUMENT', message);
}

function count(name: string, v: number | undefined, dflt: number, min: number): number {
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) {
    bad(`${name} must be an integer ≥ ${min}, got ${String(v)}`);
  }
  return v;
}

function duration(name: string, v: number | undefined, dflt: number): number {
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0)
    bad(`${name} must be a number of ms > 0, got ${String(v)}`);
  return v;
}

/** Checks what the replica itself reads; Raft's own settings are checked by `RawNode`. */
export function resolveOptions<R>(o: ReplicaOptions<R>): ResolvedOptions {
  if (typeof o !== 'object' || o === null) bad('Replica.create needs an options object');
  if (typeof o.id !== 'number' || !Number.isSafeInteger(o.id) || o.id <= 0) {
    bad(`id must be a positive safe integer, got ${String(o.id)}`);
  }
  if ((o.dataDir === undefined) === (o.storage === undefined)) bad('give exactly one of dataDir and storage');
  if (o.dataDir !== undefined && (typeof o.dataDir !== 'string' || o.dataDir === ''))
    bad('dataDir must be a path');
  const sm = o.stateMachine as Partial<StateMachine<R>> | undefined;
  if (
    typeof sm !== 'object' ||
    sm === null ||
    typeof sm.apply !== 'function' ||
    typeof sm.snapshot !== 'function' ||
    typeof sm.restore !== 'function'
  ) {
    bad('stateMachine must have apply, snapshot and restore');
  }
  const t = o.transport as Partial<Transport> | undefined;
  if (typeof t !== 'object' || t === null || typeof t.start !== 'function' || typeof t.send !== 'function') {
    bad('transport must implement Transport');
  }
  if (o.peers !== undefined) {
    if (!Array.isArray(o.peers) || o.peers.length === 0) bad('peers must be a non-empty array of ids');
    for (const p of o.peers) {
      if (typeof p !== 'number' || !Number.isSafeInteger(p) || p <= 0) bad(`peer id ${String(p)} is invalid`);
    }
    if (new Set(o.peers).size !== o.peers.length) bad('peers lists an id twice');
    if (!o.peers.includes(o.id)) bad(`peers must include this member's id ${o.id}`);
  }
  if (o.join !== undefined && typeof o.join !== 'boolean') bad('join must be a boolean');
  if (o.join === true && o.peers !== undefined) {
    bad('give either peers (found a new cluster) or join: true (be added to one), not both');
  }
  if (o.forwardProposals !== undefined && typeof o.forwardProposals !== 'boolean') {
    bad('forwardProposals must be a boolean');
  }
  if (o.seed !== undefined && !Number.isSafeInteger(o.seed))
    bad(`seed must be a safe integer, got ${String(o.seed)}`);
  if (o.raft !== undefined && (typeof o.raft !== 'object' || o.raft === null)) bad('raft must be an object');
  const tickMs = duration('tickMs', o.tickMs, 100);
  const electionTick = o.raft?.electionTick ?? 10;
  return {
    tickMs,
    electionTick,
    snapshotEvery: count('snapshotEvery', o.snapshotEvery, 10_000, 0),
    snapshotCatchUpEntries: count('snapshotCatchUpEntries', o.snapshotCatchUpEntries, 5_000, 0),
    forwardProposals: o.forwardProposals ?? false,
    requestTimeoutMs: duration('requestTimeoutMs', o.requestTimeoutMs, 10_000),
    readIndexRetryMs: duration('readIndexRetryMs', o.readIndexRetryMs, electionTick * tickMs),
  };
}

/** Checks a per-call timeout (ms) or returns the default. */
export function requestTimeout(v: number | undefined, dflt: number): number {
  return duration('timeoutMs', v, dflt);
}
