/**
 * A whole Flotilla KV cluster in one process, on simulated time, network and disks, from one
 * seed: `KvNode`s (the real `createKvNode`, with test-only fault switches when a run arms them)
 * on one `SimClock`, one `MemoryNetwork`, and per member a `SimFileSystem` behind a disk with
 * fsync latency and a {@link NodeClock} (skew, pause). Every random choice (network, disks,
 * crashes, Raft's election timeouts, replica session numbers) comes from streams forked from
 * the seed, so the same seed and the same calls replay the same run.
 *
 * The cluster is what the nemesis acts on (crash, restart, pause, partitions through
 * {@link SimKvCluster.net}, clock skew, disk faults, membership) and what clients reach through
 * {@link SimKvCluster.endpoints}. The {@link RaftObserver} watches every incarnation.
 */

import type { KvNode, KvNodeOptions } from '@flotilla/kv';
import type { KvFaults } from '@flotilla/kv/testing';
import { createKvNodeForTesting } from '@flotilla/kv/testing';
import type { Random } from '@flotilla/raft';
import { armRaftFaults, type RaftFaults } from '@flotilla/raft/testing';
import { silentLogger } from '@flotilla/replica';
import { MemoryNetwork, SimClock, SlowDisk } from '@flotilla/replica/testing';
import { openReplicaStorage, type ReplicaStorage, SimFileSystem, type TearMode } from '@flotilla/wal';
import { armWalFaults, type WalFaults } from '@flotilla/wal/testing';
import type { Endpoint } from '../workloads/types.js';
import { NodeClock } from './node-clock.js';
import { RaftObserver } from './raft-observer.js';

/** Node settings every member gets (the run's configuration). */
export type SimNodeSettings = Partial<
  Omit<KvNodeOptions, 'id' | 'peers' | 'join' | 'transport' | 'clock' | 'fs' | 'dataDir' | 'storage' | 'seed'>
>;

/** The test-only fault switches a run arms on every member (see each package's `faults.ts`). */
export interface SimFaults {
  readonly raft?: RaftFaults;
  readonly wal?: WalFaults;
  readonly kv?: KvFaults;
}

/** Options of {@link SimKvCluster}. */
export interface SimClusterOptions {
  readonly rng: Random;
  /** Founding voters, e.g. `[1, 2, 3]`. */
  readonly founders: readonly number[];
  readonly node: SimNodeSettings;
  /** Message delay range (ms). */
  readonly delayMs: readonly [number, number];
  /** fsync latency range (ms). */
  readonly fsyncMs: readonly [number, number];
  /** WAL segment size (small, so segment cuts happen in a short run). */
  readonly segmentBytes: number;
  readonly faults?: SimFaults;
  /** Things the run should know about but that are not checker verdicts (start failures). */
  readonly problem: (what: string) => void;
  /** Called when an incarnation of a member starts serving (to subscribe to its state machine). */
  readonly onStart?: (id: number, node: KvNode) => void;
}

/** Where a member is in its life. */
export type MemberState = 'down' | 'starting' | 'running' | 'failed' | 'removed';

/** One simulated machine: its disk survives crashes; its clock keeps its skew across restarts. */
interface Member {
  readonly id: number;
  readonly fs: SimFileSystem;
  clock: NodeClock;
  rate: number;
  offsetMs: number;
  node: KvNode | undefined;
  storage: ReplicaStorage | undefined;
  incarnation: number;
  state: MemberState;
  paused: boolean;
  /** Requests held while paused wait on this. */
  resumed: Promise<void> | undefined;
  release: () => void;
  readonly endpoint: Endpoint;
}

/** A simulated KV cluster (see the module notes). */
export class SimKvCluster {
  readonly clock = new SimClock();
  readonly net: MemoryNetwork;
  readonly observer: RaftObserver;
  private readonly o: SimClusterOptions;
  private readonly rng: Random;
  readonly #members = new Map<number, Member>();

  constructor(o: SimClusterOptions) {
    this.o = o;
    this.rng = o.rng;
    this.net = new MemoryNetwork({ seed: this.rng.int(0, 2 ** 31), clock: this.clock, logger: silentLogger });
    this.net.setDelay(o.delayMs[0], o.delayMs[1]);
    this.observer = new RaftObserver(() => this.clock.now());
  }

  /** Every member ever started, in id order. */
  get ids(): number[] {
    return [...this.#members.keys()].sort((a, b) => a - b);
  }

  /** Members in `state`. */
  inState(...states: MemberState[]): number[] {
    return this.ids.filter((id) => states.includes(this.#member(id).state));
  }

  /** Members running (possibly paused). */
  running(): number[] {
    return this.inState('running');
  }

  stateOf(id: number): MemberState {
    return this.#member(id).state;
  }

  isPaused(id: number): boolean {
    return this.#members.get(id)?.paused === true;
  }

  /** The running node of `id`, if any. */
  node(id: number): KvNode | undefined {
    const m = this.#members.get(id);
    return m?.state === 'running' ? m.node : undefined;
  }

  /** The running, unpaused leader with the highest term. */
  leader(): KvNode | undefined {
    let best: KvNode | undefined;
    for (const id of this.running()) {
      const n = this.node(id);
      if (n === undefined || !n.isLeader || this.isPaused(id)) continue;
      if (best === undefined || n.term > best.term) best = n;
    }
    return best;
  }

  /** The voters of the latest configuration any running member knows. */
  voters(): number[] {
    let best: { index: number; voters: readonly number[] } | undefined;
    for (const id of this.running()) {
      const st = this.node(id)?.replica.status();
      if (st === undefined) continue;
      if (best === undefined || st.applied > best.index)
        best = { index: st.applied, voters: st.members.voters };
    }
    return best === undefined ? [] : [...best.voters].sort((a, b) => a - b);
  }

  /** The member's machine clock (skew it, pause it). */
  clockOf(id: number): NodeClock {
    return this.#member(id).clock;
  }

  /** The member's disk (inject faults). */
  fsOf(id: number): SimFileSystem {
    return this.#member(id).fs;
  }

  /** What clients can reach: every running member (a paused one holds requests). */
  endpoints(): Endpoint[] {
    return this.running().map((id) => this.#member(id).endpoint);
  }

  /** Starts the founders and waits for them to be up (the caller runs the clock). */
  async startFounders(): Promise<void> {
    await Promise.all(this.o.founders.map((id) => this.start(id)));
  }

  /**
   * Starts (or restarts from its files) member `id`. A member not among the founders joins
   * (it must have been added first). Resolves once it serves; a failure to start (for example
   * `WAL_CORRUPT`) is reported as a problem and leaves it down.
   */
  async start(id: number): Promise<void> {
    const m = this.#ensure(id);
    if (m.state === 'running' || m.state === 'starting' || m.state === 'removed') return;
    m.state = 'starting';
    m.clock = new NodeClock(this.clock);
    m.clock.skew.setRate(m.rate);
    m.clock.skew.setOffset(m.offsetMs);
    const [lo, hi] = this.o.fsyncMs;
    const rng = this.rng.fork();
    const disk = new SlowDisk(m.fs, m.clock, () => lo + rng.next() * (hi - lo));
    const founder = this.o.founders.includes(id);
    const seed = this.rng.int(0, 2 ** 31);
    let storage: ReplicaStorage | undefined;
    try {
      storage = await openReplicaStorage(`/member-${id}`, { fs: disk, segmentBytes: this.o.segmentBytes });
      const faults = this.o.faults ?? {};
      if (faults.wal !== undefined) armWalFaults(storage, faults.wal);
      if (faults.raft !== undefined) armRaftFaults(storage.storage, faults.raft);
      const node = await createKvNodeForTesting(
        {
          logger: silentLogger,
          ...this.o.node,
          id,
          ...(founder ? { peers: this.o.founders } : { join: true }),
          storage,
          transport: this.net.transport(id),
          clock: m.clock,
          raft: { ...this.o.node.raft, seed: this.rng.int(1, 2 ** 31) },
          seed,
        },
        faults.kv ?? {},
      );
      if (m.state !== 'starting') {
        // Crashed (power loss) while starting: this incarnation never served.
        void node.stop();
        return;
      }
      m.node = node;
      m.storage = storage;
      m.incarnation++;
      m.state = 'running';
      node.on('error', (err) => {
        // The replica stopped itself: the process is dead until restarted. A storage failure is
        // what the disk nemesis causes; anything else (a Raft invariant, an apply error) is a
        // finding.
        if (m.node === node && m.state === 'running') {
          m.state = 'failed';
          this.observer.detach(id);
          if ((err as { code?: string }).code !== 'STORAGE_FAILED')
            this.o.problem(`member ${id} failed: ${describe(err)}`);
        }
      });
      this.observer.attach(id, m.incarnation, node, storage);
      this.o.onStart?.(id, node);
    } catch (err) {
      if (m.state === 'starting') m.state = 'down';
      // A crash during start-up surfaces as an I/O error of the old incarnation: not a finding.
      if (!isCrashError(err)) this.o.problem(`member ${id} failed to start: ${describe(err)}`);
      await storage?.close().catch(() => {});
    }
  }

  /**
   * Power loss on `id`: the disk loses what was not fsynced (`writes` says how: dropped, torn,
   * garbage or lost pages; random by default), the process dies at once (nothing more is sent
   * or persisted; its requests end `OUTCOME_UNKNOWN`). Restart it with {@link start}.
   */
  crash(id: number, writes?: TearMode): void {
    const m = this.#member(id);
    if (m.state === 'removed' || m.state === 'down') return;
    m.fs.crash({ rng: this.rng.fork(), ...(writes === undefined ? {} : { writes }) });
    this.#kill(m, 'down');
  }

  /** Stops `id` for good (removed from the cluster): it is never restarted. */
  retire(id: number): void {
    const m = this.#member(id);
    this.#kill(m, 'removed');
  }

  /** Process pause (SIGSTOP): the member stops ticking and receiving; requests to it are held. */
  pause(id: number): void {
    const m = this.#member(id);
    if (m.state !== 'running' || m.paused) return;
    m.paused = true;
    m.resumed = new Promise((resolve) => {
      m.release = resolve;
    });
    m.clock.pause();
    this.net.pause(id);
  }

  /** SIGCONT: held messages, timers and requests are released in order. */
  resume(id: number): void {
    const m = this.#member(id);
    if (!m.paused) return;
    m.paused = false;
    this.net.resume(id);
    m.clock.resume();
    m.release();
    m.resumed = undefined;
  }

  /** Sets a member's clock drift (1 = exact); kept across restarts. */
  setRate(id: number, rate: number): void {
    const m = this.#member(id);
    m.rate = rate;
    m.clock.skew.setRate(rate);
  }

  /** Steps a member's clock reading by `deltaMs` (forward only: monotonic clocks never go back). */
  jumpClock(id: number, deltaMs: number): void {
    const m = this.#member(id);
    m.offsetMs += deltaMs;
    m.clock.skew.setOffset(m.offsetMs);
  }

  /** Stops every member (end of run). */
  async close(): Promise<void> {
    const stops: Promise<void>[] = [];
    for (const m of this.#members.values()) {
      if (m.paused) this.resume(m.id);
      const n = m.node;
      this.observer.detach(m.id);
      m.node = undefined;
      if (m.state !== 'removed') m.state = 'down';
      if (n !== undefined) stops.push(n.stop());
    }
    await Promise.all(stops);
  }

  #kill(m: Member, state: MemberState): void {
    if (m.paused) this.resume(m.id);
    const n = m.node;
    this.observer.detach(m.id);
    m.node = undefined;
    m.storage = undefined;
    m.state = state;
    // The process is gone: stopping only releases what the simulation holds (timers, the
    // transport). Whatever the Ready in progress still does hits the crashed disk and fails.
    if (n !== undefined) void n.stop();
  }

  #ensure(id: number): Member {
    let m = this.#members.get(id);
    if (m !== undefined) return m;
    const fs = new SimFileSystem({ rng: this.rng.fork() });
    const member: Member = {
      id,
      fs,
      clock: new NodeClock(this.clock),
      rate: 1,
      offsetMs: 0,
      node: undefined,
      storage: undefined,
      incarnation: 0,
      state: 'down',
      paused: false,
      resumed: undefined,
      release: () => {},
      endpoint: {
        id,
        get api() {
          return member.state === 'running' ? member.node : undefined;
        },
        ready: () => member.resumed,
      },
    };
    m = member;
    this.#members.set(id, m);
    return m;
  }

  #member(id: number): Member {
    const m = this.#members.get(id);
    if (m === undefined) throw new Error(`no member ${id}`);
    return m;
  }
}

function isCrashError(err: unknown): boolean {
  const text = describe(err);
  return text.includes('ECRASHED') || text.includes('WAL_IO') || text.includes('WAL_CLOSED');
}

function describe(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: string }).code;
    const cause = (err as { cause?: unknown }).cause;
    return `${code === undefined ? '' : `${code}: `}${err.message}${cause === undefined ? '' : ` (cause: ${describe(cause)})`}`;
  }
  return String(err);
}
