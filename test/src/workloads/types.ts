/**
 * What workloads are made of, independent of how the cluster runs. A workload drives any
 * {@link ClientApi} (an in-process `KvNode` in the simulation, a network `KvClient` against real
 * `flotilla member` processes) through {@link Worker}s that record the history; the environment
 * (a {@link WorkloadHost}) supplies the endpoints, the clocks and the logs.
 */
import type { KvApi } from '@flotilla/kv';
import type { Random } from '@flotilla/raft';
import type { Clock } from '@flotilla/replica';
import type { LockLogLine, SessionRevocation } from '../checkers/lock/log.js';
import type { HistoryRecorder } from '../history/recorder.js';
import type { WatchLogLine } from '../history/watch-log.js';

/**
 * The part of `KvApi` the workloads use. `KvNode` and `KvClient` implement it, and it is a
 * `KvLike`, so `@flotilla/lease`'s sessions and locks run on it.
 */
export type ClientApi = Pick<
  KvApi,
  'put' | 'get' | 'delete' | 'txn' | 'watch' | 'grant' | 'revoke' | 'keepAliveOnce' | 'timeToLive'
>;

/** One cluster member as clients reach it. */
export interface Endpoint {
  /** The member's id (for logs and reports). */
  readonly id: number;
  /** Its API, or undefined while it is down (a request then fails at once, never sent). */
  readonly api: ClientApi | undefined;
  /**
   * A promise that resolves once a request sent now would be processed (the simulation holds
   * requests to a paused member), or undefined when it would be at once.
   */
  ready(): Promise<void> | undefined;
}

/** A client process's clock: time and timers, and (in the simulation) a pause switch. */
export interface ClientClock extends Clock {
  /** True while the client process is paused (the client-pause nemesis). */
  readonly paused: boolean;
}

/** What a workload needs from the run that hosts it. */
export interface WorkloadHost {
  /** The workload's own random stream (forked from the run's seed). */
  readonly rng: Random;
  /** Where every client operation is recorded (`history.jsonl`). */
  readonly recorder: HistoryRecorder;
  /** Delivered watch events and markers, in delivery order (`watch.jsonl`). */
  readonly watchLog: WatchLogLine[];
  /** Resource accesses and session revocations (`lock.jsonl`). */
  readonly lockLog: LockLogLine[];
  /** Nanoseconds since the run started, on the history's clock. */
  nowNs(): number;
  /** The members clients may send requests to now (running, possibly paused). */
  endpoints(): readonly Endpoint[];
  /** A clock for a new client process (pausable in the simulation). */
  clientClock(): ClientClock;
  /** The next unused process id, for a client whose operation ended in `info`. */
  freshProcess(): number;
  /** True once the load phase is over: client loops finish their operation and return. */
  readonly stopping: boolean;
  /** Client-side deadline of one operation (ms on the client's clock). */
  readonly opTimeoutMs: number;
  /** Reports something that went wrong without being a checker's finding (a watcher stuck). */
  problem(what: string): void;
  /**
   * Subscribes to session (lease) revocations the cluster knows of (the simulation reads them
   * from the members' state machines); the lock workload logs them. Returns an unsubscribe.
   */
  onLeaseRevoked?(listener: (revocation: Omit<SessionRevocation, 'type'>) => void): () => void;
}

/** The checkers a workload's run is judged by, and their verdicts. */
export type CheckerName =
  | 'linearizability'
  | 'list-append'
  | 'watch'
  | 'lock'
  | 'lease'
  | 'raft'
  | 'liveness';

/** A workload: client loops during the load phase, then final operations once the cluster healed. */
export interface Workload {
  readonly name: WorkloadName;
  /** Runs the client loops until `host.stopping`; resolves when every client has returned. */
  run(host: WorkloadHost): Promise<void>;
  /**
   * After the nemesis healed everything and a leader is back: final reads (and for watches,
   * catching up to a sentinel write), so lost writes and dropped events show.
   */
  finish(host: WorkloadHost): Promise<void>;
  /** The checkers that judge this workload's history. */
  readonly checkers: readonly CheckerName[];
}

/** The workloads of the suite. */
export type WorkloadName = 'register' | 'list-append' | 'watch' | 'lock' | 'lease';

/** Every workload name, in report order. */
export const WORKLOADS: readonly WorkloadName[] = ['register', 'list-append', 'watch', 'lock', 'lease'];
