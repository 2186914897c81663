import { webcrypto } from 'node:crypto';
import {
  isEmptyHardState,
  RaftError,
  type Logger as RaftLogger,
  RawNode,
  seededRandom,
} from '@flotilla/raft';
import { openReplicaStorage, type ReplicaStorage, type WalLogger } from '@flotilla/wal';
import { systemClock } from './clock.js';
import { ReplicaError } from './errors.js';
import type { Emit } from './events.js';
import { ReplicaHost } from './host.js';
import { type ReplicaOptions, resolveOptions } from './options.js';
import { consoleLogger, type Logger } from './transport/logger.js';

/**
 * Brings a replica up, in the order that keeps "applied exactly once" across restarts:
 *
 * 1. open the storage (the WAL recovers what is durable);
 * 2. restore the newest durable snapshot into the state machine (and the replica's address
 *    book and session table from its envelope);
 * 3. create the `RawNode` with `applied` = that snapshot's index, so Raft re-emits exactly the
 *    committed entries after it; on the very first start, bootstrap `peers` (or, with `join`,
 *    stay empty until the cluster adds this member);
 * 4. start the transport and tell it the addresses the snapshot carried;
 * 5. run the Ready loop until it is idle: every entry the storage records as committed is
 *    applied again before `create` resolves (after a crash the stored commit index may lag the
 *    one last known: see `ReplicaHost`'s unsaved hard state; the leader re-sends it);
 * 6. start ticking.
 *
 * On any failure after the options were checked, the storage and the transport (given or
 * opened here) are closed again and the error is thrown; invalid options touch nothing.
 */
export async function startHost<R>(o: ReplicaOptions<R>, emit: Emit): Promise<ReplicaHost<R>> {
  const opts = resolveOptions(o);
  const logger = o.logger ?? consoleLogger(`replica-${o.id}`);
  const clock = o.clock ?? systemClock;
  const storage: ReplicaStorage =
    o.storage ?? (await openReplicaStorage(o.dataDir as string, { logger: walLogger(logger) }));
  try {
    const host = new ReplicaHost<R>({
      id: o.id,
      storage,
      stateMachine: o.stateMachine,
      transport: o.transport,
      clock,
      logger,
      options: opts,
      session: drawSession(o.seed),
      emit,
    });
    const snap = storage.snapshot;
    if (snap !== undefined && snap.metadata.index > 0) await host.snapshots.restore(snap, 'start');
    const fresh =
      storage.storage.lastIndex() === 0 && isEmptyHardState(storage.hardState) && host.snapshotIndex === 0;
    let node: RawNode;
    try {
      node = new RawNode({
        electionTick: 10,
        heartbeatTick: 1,
        preVote: true,
        checkQuorum: true,
        ...o.raft,
        id: o.id,
        storage: storage.storage,
        applied: host.applied,
        logger: raftLogger(logger, o.id),
        disableProposalForwarding: !opts.forwardProposals,
      });
    } catch (err) {
      if (err instanceof RaftError && err.code === 'INVALID_CONFIG') {
        throw new ReplicaError('INVALID_ARGUMENT', `invalid raft settings: ${err.message}`, { cause: err });
      }
      throw err;
    }
    host.node = node;
    host.setPersistedIndex(storage.storage.lastIndex());
    if (fresh && o.join !== true) {
      if (o.peers === undefined) {
        throw new ReplicaError(
          'INVALID_ARGUMENT',
          `replica ${o.id} has no state: give peers to found a cluster, or join: true to be added to one`,
        );
      }
      node.bootstrap([...o.peers]);
    }
    const status = node.status();
    host.confState = status.config;
    host.term = status.term;
    await o.transport.start(host.onMessages, { unreachable: host.onUnreachable });
    for (const [id, address] of host.book) if (id !== o.id) o.transport.addPeer(id, address);
    await host.drain();
    if (host.state !== 'running')
      throw host.failure ?? new ReplicaError('STOPPED', 'replica stopped while starting');
    host.startTicking();
    return host;
  } catch (err) {
    // The storage and the transport were handed over: close them, so a retry can reopen.
    await o.transport.close().catch(() => {});
    await storage.close().catch(() => {});
    throw err;
  }
}

/**
 * A random session number in [1, 2^53): from `seed` when given (simulations), otherwise from
 * the system's cryptographic generator, so two incarnations of a replica never share one.
 */
function drawSession(seed: number | undefined): number {
  let hi: number;
  let lo: number;
  if (seed === undefined) {
    const words = webcrypto.getRandomValues(new Uint32Array(2));
    hi = (words[0] as number) % 2 ** 21;
    lo = words[1] as number;
  } else {
    const rng = seededRandom(seed);
    hi = rng.int(0, 2 ** 21);
    lo = rng.int(0, 2 ** 32);
  }
  return Math.max(1, hi * 2 ** 32 + lo);
}

/** The Raft core logs plain strings; ours take fields. */
function raftLogger(logger: Logger, id: number): RaftLogger {
  const fields = Object.freeze({ node: id });
  return {
    debug: (m) => logger.debug(m, fields),
    info: (m) => logger.info(m, fields),
    warn: (m) => logger.warn(m, fields),
    error: (m) => logger.error(m, fields),
  };
}

function walLogger(logger: Logger): WalLogger {
  return { warn: (message, details) => logger.warn(message, details) };
}
