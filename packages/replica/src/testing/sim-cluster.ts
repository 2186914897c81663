import { type NodeId, type Random, seededRandom } from '@flotilla/raft';
import { openReplicaStorage, type SimCrashOptions, SimFileSystem, type SimOpKind } from '@flotilla/wal';
import { ReplicaError } from '../errors.js';
import { MemoryNetwork } from '../memory-network.js';
import type { ReplicaOptions } from '../options.js';
import { HALT, Replica } from '../replica.js';
import { SimClock } from '../sim-clock.js';
import { SkewedClock } from '../skewed-clock.js';
import type { StateMachine } from '../state-machine.js';
import { type Logger, silentLogger } from '../transport/logger.js';
import { SlowDisk } from './slow-disk.js';

/** Replica settings a {@link SimCluster} passes to every member. */
export type SimReplicaOptions = Partial<
  Pick<
    ReplicaOptions,
    | 'tickMs'
    | 'raft'
    | 'snapshotEvery'
    | 'snapshotCatchUpEntries'
    | 'forwardProposals'
    | 'requestTimeoutMs'
    | 'readIndexRetryMs'
  >
>;

/** Options of {@link SimCluster.create}. */
export interface SimClusterOptions<R> {
  /** Seeds everything: network faults, election timeouts, crashes, session numbers. */
  readonly seed: number;
  /** The founding members (default `[1, 2, 3]`). */
  readonly ids?: readonly NodeId[];
  /** A fresh state machine for member `id` (called at every start: a restart loses memory). */
  readonly stateMachine: (id: NodeId) => StateMachine<R>;
  /** Replica settings. Defaults here: `tickMs` 10 (elections after 100-200 simulated ms). */
  readonly replica?: SimReplicaOptions;
  /** Message delay range in ms (default `[1, 3]`: unequal delays reorder, as a real network). */
  readonly delayMs?: readonly [number, number];
  /**
   * How long an fsync takes, in simulated ms (default `[0.5, 3]`, drawn per sync). A latency
   * leaves unsynced data exposed while messages travel, so crashes land inside writes as on a
   * real disk; `[0, 0]` makes syncs complete at once.
   */
  readonly fsyncMs?: readonly [number, number];
  /** Where replicas log (default: silent; pass `consoleLogger` to watch a failing seed). */
  readonly logger?: Logger;
}

/** Options of {@link SimCluster.runUntil}. */
export interface RunUntilOptions {
  /** Give up after this much simulated time (default 10,000 ms). */
  readonly maxMs?: number;
  /** Simulated time per step between checks (default: one tick). */
  readonly stepMs?: number;
  /** What is awaited, for the error message. */
  readonly what?: string;
}

/** One member's simulated machine: its disk survives crashes, its clock can be skewed. */
interface Member<R> {
  readonly id: NodeId;
  readonly fs: SimFileSystem;
  readonly clock: SkewedClock;
  replica: Replica<R> | undefined;
  stateMachine: StateMachine<R> | undefined;
}

/**
 * A whole cluster in one process on simulated time: N {@link Replica}s on one {@link SimClock},
 * one {@link MemoryNetwork} and one `SimFileSystem` per member, all driven from one seed. The
 * same seed and the same calls replay the same run exactly (message order, elections, crashes),
 * so a failing seed is a reproducible bug report. The kv service and the verification suite
 * build on it.
 *
 * Time only moves when the test moves it: {@link run}, {@link runUntil}, {@link settle}. A
 * promise from a replica (a proposal, a read) settles only while the cluster runs, so await it
 * through {@link settle}.
 *
 * Faults: {@link crash} (power loss: unsynced writes are lost, then the member restarts from
 * its files with {@link start}), {@link stop}/{@link start} (a clean restart), the network's
 * partitions and rates through {@link network} (or the pass-through helpers), clock skew
 * through {@link clockOf}, disk faults through {@link fs}.
 *
 * @example
 * ```ts
 * const cluster = await SimCluster.create({ seed: 7, stateMachine: () => new Counter() });
 * const leader = await cluster.waitForLeader();
 * const { result } = await cluster.settle(leader.propose(new Uint8Array([1])));
 * cluster.isolate(leader.id);
 * await cluster.runUntil(() => cluster.leader()?.id !== leader.id, { what: 'a new leader' });
 * await cluster.close();
 * ```
 */
export class SimCluster<R = unknown> {
  readonly seed: number;
  readonly clock: SimClock;
  readonly network: MemoryNetwork;
  readonly #rng: Random;
  readonly #members = new Map<NodeId, Member<R>>();
  readonly #opts: SimClusterOptions<R>;
  readonly #founders: readonly NodeId[];
  /** Every `'error'` event any replica emitted, in order. */
  readonly errors: Array<{ readonly id: NodeId; readonly error: ReplicaError }> = [];

  private constructor(opts: SimClusterOptions<R>) {
    if (!Number.isSafeInteger(opts.seed))
      throw new ReplicaError('INVALID_ARGUMENT', 'SimCluster needs an integer seed');
    this.seed = opts.seed;
    this.#opts = opts;
    this.#rng = seededRandom(opts.seed);
    this.clock = new SimClock();
    this.network = new MemoryNetwork({
      seed: this.#rng.int(0, 2 ** 31),
      clock: this.clock,
      logger: opts.logger ?? silentLogger,
    });
    const [min, max] = opts.delayMs ?? [1, 3];
    this.network.setDelay(min, max);
    this.#founders = opts.ids ?? [1, 2, 3];
  }

  /** Creates the cluster and starts every founding member. */
  static async create<R>(opts: SimClusterOptions<R>): Promise<SimCluster<R>> {
    const c = new SimCluster(opts);
    await c.settle(Promise.all(c.#founders.map((id) => c.#start(id, {}))), { what: 'the founders to start' });
    return c;
  }

  /** Every member ever started, in id order. */
  get ids(): NodeId[] {
    return [...this.#members.keys()].sort((a, b) => a - b);
  }

  /** Members currently running. */
  up(): NodeId[] {
    return this.ids.filter((id) => this.#members.get(id)?.replica !== undefined);
  }

  /** The running replica of `id` (throws when it is down). */
  replica(id: NodeId): Replica<R> {
    const r = this.#members.get(id)?.replica;
    if (r === undefined)
      throw new ReplicaError('INVALID_ARGUMENT', `member ${id} is not running (seed ${this.seed})`);
    return r;
  }

  /** The state machine of `id`'s current incarnation. */
  stateMachine(id: NodeId): StateMachine<R> {
    const sm = this.#members.get(id)?.stateMachine;
    if (sm === undefined)
      throw new ReplicaError('INVALID_ARGUMENT', `member ${id} has no state machine (seed ${this.seed})`);
    return sm;
  }

  /** `id`'s disk (inject faults with `failNextSync`, `setFaultHook`, ...). */
  fs(id: NodeId): SimFileSystem {
    return this.#member(id).fs;
  }

  /** `id`'s clock (skew it with `setRate` / `setOffset`). */
  clockOf(id: NodeId): SkewedClock {
    return this.#member(id).clock;
  }

  /** The running leader with the highest term, if any. */
  leader(): Replica<R> | undefined {
    let best: Replica<R> | undefined;
    let bestTerm = -1;
    for (const m of this.#members.values()) {
      const r = m.replica;
      if (r === undefined || !r.isLeader) continue;
      const term = r.status().term;
      if (term > bestTerm) {
        best = r;
        bestTerm = term;
      }
    }
    return best;
  }

  /**
   * Starts `id`: a new member (a founder bootstraps with the founding ids; any other id joins
   * and waits to be added) or a restart from its existing files. A fresh state machine each time.
   */
  start(id: NodeId, opts: { join?: boolean } = {}): Promise<Replica<R>> {
    // Opening the WAL takes (simulated) time: the cluster runs meanwhile.
    return this.settle(this.#start(id, opts), { what: `member ${id} to start` });
  }

  async #start(id: NodeId, opts: { join?: boolean }): Promise<Replica<R>> {
    let m = this.#members.get(id);
    if (m === undefined) {
      m = {
        id,
        fs: new SimFileSystem({ rng: this.#rng.fork() }),
        clock: new SkewedClock(this.clock),
        replica: undefined,
        stateMachine: undefined,
      };
      this.#members.set(id, m);
    }
    if (m.replica !== undefined)
      throw new ReplicaError('INVALID_ARGUMENT', `member ${id} is already running`);
    const join = opts.join ?? !this.#founders.includes(id);
    const sm = this.#opts.stateMachine(id);
    const [fsyncMin, fsyncMax] = this.#opts.fsyncMs ?? [0.5, 3];
    const rng = this.#rng.fork();
    const disk = new SlowDisk(m.fs, this.clock, () => fsyncMin + rng.next() * (fsyncMax - fsyncMin));
    const storage = await openReplicaStorage(`/member-${id}`, { fs: disk });
    const replica = await Replica.create<R>({
      tickMs: 10,
      ...this.#opts.replica,
      id,
      ...(join ? { join: true } : { peers: this.#founders }),
      storage,
      stateMachine: sm,
      transport: this.network.transport(id),
      clock: m.clock,
      logger: this.#opts.logger ?? silentLogger,
      seed: this.#rng.int(0, 2 ** 31),
    });
    const member = m;
    replica.on('error', (error) => {
      // A failed replica has stopped itself (a disk fault, a crash injected at a storage
      // operation): the member is down until the test starts it again.
      this.errors.push({ id, error });
      if (member.replica === replica) member.replica = undefined;
    });
    m.replica = replica;
    m.stateMachine = sm;
    return replica;
  }

  /** Stops `id` cleanly (its Ready in progress completes); restart it with {@link start}. */
  async stop(id: NodeId): Promise<void> {
    const m = this.#member(id);
    const r = m.replica;
    m.replica = undefined;
    // Finishing the Ready in progress may wait on the (simulated) disk: run meanwhile.
    if (r !== undefined) await this.settle(r.stop(), { what: `member ${id} to stop` });
  }

  /**
   * Power loss on `id`: the disk loses what was not fsynced (as `SimFileSystem.crash` decides
   * from the cluster's seed), the replica dies at once (pending requests reject with
   * `STOPPED`, nothing more is written or sent). Restart it with {@link start}.
   */
  async crash(id: NodeId, opts: Omit<SimCrashOptions, 'rng'> = {}): Promise<void> {
    const m = this.#member(id);
    m.fs.crash({ ...opts, rng: this.#rng.fork() });
    const r = m.replica;
    m.replica = undefined;
    if (r !== undefined) await this.settle(r[HALT](), { what: `member ${id} to halt` });
  }

  /**
   * Arms a power loss *inside* the storage: when member `id` is about to run its `nth` storage
   * operation of kind `kind` (default `'sync'`, counting from now), the machines of `id` and of
   * every member in `alsoCrash` lose power at that instant (for `id`, before the operation takes
   * effect). Crashing at a clock step can never do this, because a simulated write completes
   * within the step; this is how a test catches an acknowledgement sent before its fsync.
   * The crashed replicas fail (`STORAGE_FAILED` in {@link errors}) or halt, and are down until
   * started again.
   */
  crashAtStorageOp(
    id: NodeId,
    nth: number,
    opts: { kind?: SimOpKind; alsoCrash?: readonly NodeId[] } = {},
  ): void {
    const m = this.#member(id);
    const kind = opts.kind ?? 'sync';
    let left = nth;
    m.fs.setFaultHook((op) => {
      if (op.kind !== kind || --left > 0) return undefined;
      m.fs.setFaultHook(undefined);
      for (const other of opts.alsoCrash ?? []) if (other !== id) void this.crash(other);
      return { crash: 'before' };
    });
  }

  /** Crash and start again from the same files. */
  async restart(id: NodeId, opts: Omit<SimCrashOptions, 'rng'> = {}): Promise<Replica<R>> {
    await this.crash(id, opts);
    return this.start(id);
  }

  /** Network pass-throughs (see {@link MemoryNetwork}). */
  partition(groups: readonly (readonly NodeId[])[]): void {
    this.network.partition(groups);
  }
  isolate(id: NodeId): void {
    this.network.isolate(id);
  }
  heal(): void {
    this.network.heal();
  }

  /** Moves simulated time forward by `ms`, letting every replica work in between. */
  async run(ms: number): Promise<void> {
    await this.clock.advanceAsync(ms);
  }

  /**
   * Runs until `predicate()` holds, checking after every step. Throws, naming the seed, when it
   * still does not hold after `maxMs` of simulated time.
   */
  async runUntil(predicate: () => boolean, opts: RunUntilOptions = {}): Promise<void> {
    const maxMs = opts.maxMs ?? 10_000;
    const step = opts.stepMs ?? this.#opts.replica?.tickMs ?? 10;
    const end = this.clock.now() + maxMs;
    while (!predicate()) {
      if (this.clock.now() >= end) {
        throw new Error(
          `SimCluster seed ${this.seed}: ${opts.what ?? 'condition'} not reached within ${maxMs} simulated ms`,
        );
      }
      await this.clock.advanceAsync(step);
    }
  }

  /** Runs until `promise` settles; returns its value or throws its error. */
  async settle<T>(promise: Promise<T>, opts: RunUntilOptions = {}): Promise<T> {
    let done = false;
    let ok = false;
    let value: T | undefined;
    let error: unknown;
    promise.then(
      (v) => {
        done = true;
        ok = true;
        value = v;
      },
      (e: unknown) => {
        done = true;
        error = e;
      },
    );
    await this.runUntil(() => done, { what: 'the promise to settle', ...opts });
    if (!ok) throw error;
    return value as T;
  }

  /** Runs until a leader is known to itself and returns it. */
  async waitForLeader(opts: RunUntilOptions = {}): Promise<Replica<R>> {
    await this.runUntil(() => this.leader() !== undefined, { what: 'a leader', ...opts });
    return this.leader() as Replica<R>;
  }

  /** Stops every running member. */
  async close(): Promise<void> {
    const running = this.up();
    const stopping = running.map((id) => {
      const m = this.#member(id);
      const r = m.replica as Replica<R>;
      m.replica = undefined;
      return r.stop();
    });
    await this.settle(Promise.all(stopping), { what: 'every member to stop' });
  }

  #member(id: NodeId): Member<R> {
    const m = this.#members.get(id);
    if (m === undefined) throw new ReplicaError('INVALID_ARGUMENT', `no member ${id} (seed ${this.seed})`);
    return m;
  }
}
