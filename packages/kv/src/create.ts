/**
 * `createKvNode`: assembles a member from its parts: the KV state machine, the durable
 * storage (the WAL, with fsync timing when metrics are on), the transport (with heartbeat
 * round-trip timing when metrics are on), the replica (proposal forwarding on: every member
 * accepts writes), the lease keeper and the metrics.
 */
import { consoleLogger, Replica, type StateMachine } from '@flotilla/replica';
import { nodeFileSystem, openReplicaStorage, type ReplicaStorage } from '@flotilla/wal';
import { Registry } from 'prom-client';
import { peekCommandType } from './commands.js';
import { timedFileSystem, timedTransport } from './instrument.js';
import { LeaseKeeper } from './lease-keeper.js';
import { KvMetrics } from './metrics.js';
import { KvNode } from './node.js';
import { type KvNodeOptions, resolveNodeOptions } from './options.js';
import { type KvResult, KvStateMachine } from './state-machine.js';

/** Entries applied between automatic snapshots unless `snapshotEvery` says otherwise (etcd 3.4's). */
export const DEFAULT_SNAPSHOT_EVERY = 100_000;

/**
 * Starts one member of a Flotilla KV cluster in this process and resolves once it has
 * recovered its state (every entry committed before a restart is applied again) and is
 * taking part in the cluster.
 *
 * Found a cluster by starting each founding member with the same `peers`; add a member later
 * by calling `addMember(peerUrl)` on a running one and starting the new one with `join: true`
 * and the id it was given.
 *
 * @throws KvError `INVALID_ARGUMENT` for bad options (nothing is opened); the storage's
 *   errors (`WAL_CORRUPT`, `WAL_LOCKED`, ...) and the replica's.
 *
 * @example
 * ```ts
 * import { createKvNode } from '@flotilla/kv';
 * import { SimClock } from '@flotilla/replica';
 * import { MemoryNetwork } from '@flotilla/replica/testing';
 * import { SimFileSystem } from '@flotilla/wal';
 *
 * const clock = new SimClock();
 * const net = new MemoryNetwork({ seed: 1, clock });
 * const node = await createKvNode({
 *   id: 1, peers: [1], dataDir: '/n1', fs: new SimFileSystem(), transport: net.transport(1), clock,
 * });
 * ```
 */
export async function createKvNode(options: KvNodeOptions): Promise<KvNode> {
  const opts = resolveNodeOptions(options);
  const logger = options.logger ?? consoleLogger(`kv-${options.id}`);
  const clock = opts.clock;
  const stateMachine = new KvStateMachine({ minLeaseTtlSeconds: opts.minLeaseTtlSeconds });

  let metrics: KvMetrics | undefined;
  let node: KvNode | undefined;
  const m = options.metrics;
  if (m !== undefined && m !== false) {
    const registry = m === true ? new Registry() : m;
    metrics = new KvMetrics(registry, {
      hasLeader: () => node?.leaderId !== undefined,
      isLeader: () => node?.isLeader === true,
      term: () => node?.term ?? 0,
      commitIndex: () => node?.replica.status().commit ?? 0,
      appliedIndex: () => node?.replica.appliedIndex ?? 0,
      pendingProposals: () => node?.replica.status().pending.proposals ?? 0,
      watchers: () => node?.watchCount ?? 0,
      keys: () => stateMachine.store.range('\0', '\0', { countOnly: true }).count,
      revision: () => stateMachine.store.revision,
    });
  }

  let storage: ReplicaStorage;
  if (options.storage !== undefined) {
    storage = options.storage;
  } else {
    const fs = options.fs ?? nodeFileSystem;
    const rec = metrics;
    storage = await openReplicaStorage(options.dataDir as string, {
      fs: rec === undefined ? fs : timedFileSystem(fs, clock, (s) => rec.fsync(s)),
      logger: { warn: (message, details) => logger.warn(message, details) },
    });
  }
  const rec = metrics;
  const transport =
    rec === undefined
      ? options.transport
      : timedTransport(options.transport, clock, (to, s) => rec.roundTrip(to, s));

  // The replica applies through this wrapper so apply durations can be observed per command kind.
  const applier: StateMachine<KvResult> =
    rec === undefined
      ? stateMachine
      : {
          apply(data, index) {
            const start = clock.now();
            const result = stateMachine.apply(data, index);
            rec.applied(
              peekCommandType(data) ?? 'unknown',
              result.type !== 'failed',
              (clock.now() - start) / 1000,
            );
            return result;
          },
          snapshot: () => stateMachine.snapshot(),
          restore: (data) => stateMachine.restore(data),
        };

  const replica = await Replica.create<KvResult>({
    id: options.id,
    ...(options.peers === undefined ? {} : { peers: options.peers }),
    ...(options.join === undefined ? {} : { join: options.join }),
    storage,
    stateMachine: applier,
    transport,
    clock,
    tickMs: opts.tickMs,
    ...(options.raft === undefined ? {} : { raft: options.raft }),
    // etcd 3.4's --snapshot-count default; a snapshot serializes the whole store, so taking one
    // every 10,000 entries halved put throughput in the side-by-side benchmark.
    snapshotEvery: options.snapshotEvery ?? DEFAULT_SNAPSHOT_EVERY,
    ...(options.snapshotCatchUpEntries === undefined
      ? {}
      : { snapshotCatchUpEntries: options.snapshotCatchUpEntries }),
    forwardProposals: true,
    requestTimeoutMs: opts.requestTimeoutMs,
    logger,
    ...(options.seed === undefined ? {} : { seed: options.seed }),
  });

  node = new KvNode({
    replica,
    stateMachine,
    options: opts,
    logger,
    clusterId: options.clusterId,
    metrics,
    leases: (propose) =>
      new LeaseKeeper({
        stateMachine,
        clock,
        logger,
        propose,
        electionTimeoutMs: opts.electionTimeoutMs,
        clockSkewMs: opts.leaseClockSkewMs,
        checkpointIntervalMs: opts.leaseCheckpointIntervalMs,
      }),
  });
  return node;
}
