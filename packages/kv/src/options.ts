/**
 * `createKvNode`'s options and their defaults. Timing defaults follow etcd's: 100 ms ticks, an
 * election after 10 ticks (1 s), a request timeout of 5 s plus two election timeouts
 * (etcd's `ReqTimeout`), a minimum lease TTL of `ceil(1.5 × election timeout)` seconds.
 */
import { minTtlForElectionTimeout } from '@flotilla/lease';
import type { Clock, Logger, ReplicaRaftConfig, Transport } from '@flotilla/replica';
import { systemClock } from '@flotilla/replica';
import type { FileSystem, ReplicaStorage } from '@flotilla/wal';
import type { Registry } from 'prom-client';
import { invalid } from './errors.js';
import { type KvLimits, resolveLimits } from './limits.js';

/** Options of {@link createKvNode}. Only `id`, `transport` and a storage are required. */
export interface KvNodeOptions {
  /** This member's id: a positive safe integer, unique in the cluster. */
  readonly id: number;
  /**
   * The founding voters of a new cluster, this member included (every founder gets the same
   * list). Used only on the very first start; ignored once the storage holds state.
   */
  readonly peers?: readonly number[];
  /** Start empty and wait to be added with `addMember` on a running member. */
  readonly join?: boolean;
  /** Directory of the WAL and snapshots. Give this (optionally with `fs`) or `storage`. */
  readonly dataDir?: string;
  /** The file layer under `dataDir` (default: the real disk). Tests pass a `SimFileSystem`. */
  readonly fs?: FileSystem;
  /**
   * An already open storage instead of `dataDir` (the node owns and closes it). WAL fsync
   * durations are measured only when the node opens the storage itself.
   */
  readonly storage?: ReplicaStorage;
  /** Carries Raft messages; not yet started (the node starts and closes it). */
  readonly transport: Transport;
  /** Monotonic time and timers (default: the system clock). Tests pass a `SimClock`. */
  readonly clock?: Clock;
  /** Milliseconds per Raft tick (default 100). */
  readonly tickMs?: number;
  /** Raft settings (default: electionTick 10, heartbeatTick 1, PreVote and CheckQuorum on). */
  readonly raft?: ReplicaRaftConfig;
  /** Take a snapshot every this many applied entries (default 100,000, etcd 3.4's `--snapshot-count`). */
  readonly snapshotEvery?: number;
  /** Entries kept behind a snapshot for followers slightly behind (default 5,000, etcd's). */
  readonly snapshotCatchUpEntries?: number;
  /**
   * Bound, in ms, on how much faster the leader's clock may run than a client's over one TTL.
   * Every lease deadline the leader sets (grant, renewal, and a new leader's extension on top of
   * the election timeout) is this much later, so no lease is revoked before its TTL has passed
   * on the client's clock. Default 0.
   */
  readonly leaseClockSkewMs?: number;
  /** Minimum lease TTL in seconds (default: etcd's rule from the election timeout). */
  readonly minLeaseTtlSeconds?: number;
  /** How often the leader checkpoints remaining lease TTLs through Raft (default 10,000 ms). */
  readonly leaseCheckpointIntervalMs?: number;
  /** `true`: a fresh prom-client `Registry` (see `node.metrics`); or the registry to use. */
  readonly metrics?: boolean | Registry;
  /** Where the node and its replica report what they cannot throw. */
  readonly logger?: Logger;
  /** Human-readable member name (etcd's `--name`), published through Raft. Default `member-<id>`. */
  readonly name?: string;
  /** This member's peer URL (`host:port`), published with its name (default none). */
  readonly peerUrl?: string;
  /** Where clients reach this member (`host:port`), published through Raft (default none). */
  readonly clientUrls?: readonly string[];
  /** Reported in response headers. */
  readonly clusterId?: string;
  /** Default deadline of every request in ms (default 5,000 + 2 × election timeout, etcd). */
  readonly requestTimeoutMs?: number;
  /** Largest encoded request in bytes (default 1.5 MiB, etcd's `--max-request-bytes`). */
  readonly maxRequestBytes?: number;
  /** Largest key in bytes (default: `maxRequestBytes`). */
  readonly maxKeyBytes?: number;
  /** Largest value in bytes (default: `maxRequestBytes`). */
  readonly maxValueBytes?: number;
  /** Most operations per transaction branch (default 128, etcd's `--max-txn-ops`). */
  readonly maxTxnOps?: number;
  /** Interval of watch progress notifications in ms (default 600,000, etcd's 10 minutes). */
  readonly watchProgressNotifyIntervalMs?: number;
  /** Seeds the replica's session number (simulations pass one so runs replay exactly). */
  readonly seed?: number;
}

/** The options with every default filled in. */
export interface ResolvedNodeOptions {
  readonly clock: Clock;
  readonly tickMs: number;
  readonly electionTimeoutMs: number;
  readonly requestTimeoutMs: number;
  readonly limits: KvLimits;
  readonly minLeaseTtlSeconds: number;
  readonly leaseClockSkewMs: number;
  readonly leaseCheckpointIntervalMs: number;
  readonly watchProgressNotifyIntervalMs: number;
  readonly name: string;
  readonly peerUrls: readonly string[];
  readonly clientUrls: readonly string[];
}

function duration(name: string, v: unknown, dflt: number, allowZero = false): number {
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || (!allowZero && v === 0)) {
    throw invalid(`${name} must be a number of ms ${allowZero ? '≥' : '>'} 0, got ${String(v)}`);
  }
  return v;
}

function urls(name: string, v: unknown): string[] {
  if (v === undefined) return [];
  if (!Array.isArray(v) || !v.every((u) => typeof u === 'string' && u !== '')) {
    throw invalid(`${name} must be an array of non-empty strings`);
  }
  return [...v];
}

/** Checks what the node itself reads (the replica checks the rest) and fills in defaults. */
export function resolveNodeOptions(o: KvNodeOptions): ResolvedNodeOptions {
  if (typeof o !== 'object' || o === null) throw invalid('createKvNode needs an options object');
  if (typeof o.id !== 'number' || !Number.isSafeInteger(o.id) || o.id <= 0) {
    throw invalid(`id must be a positive safe integer, got ${String(o.id)}`);
  }
  if ((o.dataDir === undefined) === (o.storage === undefined))
    throw invalid('give exactly one of dataDir and storage');
  if (o.fs !== undefined && o.dataDir === undefined) throw invalid('fs is used with dataDir only');
  if (o.name !== undefined && (typeof o.name !== 'string' || o.name === ''))
    throw invalid('name must be a non-empty string');
  if (o.peerUrl !== undefined && (typeof o.peerUrl !== 'string' || o.peerUrl === ''))
    throw invalid('peerUrl must be a non-empty string');
  if (o.clusterId !== undefined && typeof o.clusterId !== 'string')
    throw invalid('clusterId must be a string');
  const tickMs = duration('tickMs', o.tickMs, 100);
  const electionTick = o.raft?.electionTick ?? 10;
  if (!Number.isSafeInteger(electionTick) || electionTick <= 0)
    throw invalid('raft.electionTick must be a positive integer');
  const electionTimeoutMs = electionTick * tickMs;
  const minLeaseTtlSeconds = o.minLeaseTtlSeconds ?? minTtlForElectionTimeout(electionTimeoutMs);
  if (!Number.isSafeInteger(minLeaseTtlSeconds) || minLeaseTtlSeconds < 1) {
    throw invalid(`minLeaseTtlSeconds must be a positive integer, got ${String(minLeaseTtlSeconds)}`);
  }
  return {
    clock: o.clock ?? systemClock,
    tickMs,
    electionTimeoutMs,
    requestTimeoutMs: duration('requestTimeoutMs', o.requestTimeoutMs, 5000 + 2 * electionTimeoutMs),
    limits: resolveLimits({
      ...(o.maxRequestBytes === undefined ? {} : { maxRequestBytes: o.maxRequestBytes }),
      ...(o.maxKeyBytes === undefined ? {} : { maxKeyBytes: o.maxKeyBytes }),
      ...(o.maxValueBytes === undefined ? {} : { maxValueBytes: o.maxValueBytes }),
      ...(o.maxTxnOps === undefined ? {} : { maxTxnOps: o.maxTxnOps }),
    }),
    minLeaseTtlSeconds,
    leaseClockSkewMs: duration('leaseClockSkewMs', o.leaseClockSkewMs, 0, true),
    leaseCheckpointIntervalMs: duration('leaseCheckpointIntervalMs', o.leaseCheckpointIntervalMs, 10_000),
    watchProgressNotifyIntervalMs: duration(
      'watchProgressNotifyIntervalMs',
      o.watchProgressNotifyIntervalMs,
      600_000,
    ),
    name: o.name ?? `member-${o.id}`,
    peerUrls: o.peerUrl === undefined ? [] : [o.peerUrl],
    clientUrls: urls('clientUrls', o.clientUrls),
  };
}
