import type {
  ConfState,
  Entry,
  HardState,
  NetworkMessage,
  NodeId,
  RawNode,
  Ready,
  SoftState,
  StateType,
} from '@flotilla/raft';
import { RaftError } from '@flotilla/raft';
import type { ReplicaStorage, SaveRequest } from '@flotilla/wal';
import { applyEntries } from './apply.js';
import type { Clock } from './clock.js';
import { DeadlineQueue } from './deadlines.js';
import { envelopePrefix, newHeader } from './envelope.js';
import { ReplicaError, type ReplicaErrorCode } from './errors.js';
import type { Emit } from './events.js';
import { classify, describe, HostFailure } from './failure.js';
import type { ConfRequest } from './membership.js';
import type { ResolvedOptions } from './options.js';
import { ProposalTracker } from './proposals.js';
import { ReadBarrier } from './read-barrier.js';
import type { PendingRequest } from './requests.js';
import { SessionTable } from './session-table.js';
import { Snapshots } from './snapshots.js';
import type { StateMachine } from './state-machine.js';
import type { Logger } from './transport/logger.js';
import type { Transport } from './transport.js';

const NO_ENTRIES: readonly Entry[] = Object.freeze([]);

/** What a {@link ReplicaHost} is built from (see `start.ts`). */
export interface HostInit<R> {
  readonly id: NodeId;
  readonly storage: ReplicaStorage;
  readonly stateMachine: StateMachine<R>;
  readonly transport: Transport;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly options: ResolvedOptions;
  readonly session: number;
  readonly emit: Emit;
}

/** Where the host is in its life. `failed` is final like `stopped`, and has a `failure`. */
export type HostState = 'running' | 'stopping' | 'stopped' | 'failed';

/**
 * The Ready loop of one replica: it drives a `RawNode` (ticks, messages, requests in; Readys
 * out) and does, for each Ready, what the RawNode contract asks, in this order:
 *
 * 1. **send** the Ready's messages at once;
 * 2. **persist** its snapshot, entries and hard state with one `ReplicaStorage.save` (one fsync
 *    when `mustSync`; a hard state that only moves the commit index waits for the next save, see
 *    `#unsavedHardState`);
 * 3. **apply** its snapshot (restore the state machine), then its committed entries in order
 *    (conf changes go to `applyConfChange` and to the transport's address book), resolving the
 *    proposals they complete; serve its read states once applied;
 * 4. **advance**, then take a snapshot if `snapshotEvery` entries were applied since the last.
 *
 * Why sending before persisting is safe (thesis §10.2.1, "the leader can write its log in
 * parallel with replicating it"): the RawNode never puts a message that promises durability in
 * a Ready whose state is not yet durable. Acknowledgements of appended entries (`appResp`),
 * votes (`voteResp`, `preVoteResp`), the leader's acknowledgement of its own entries and a
 * candidate's vote for itself are held back inside the RawNode and released only by the
 * `advance()` of the Ready that carried their state, that is after step 2 of that Ready. What
 * does leave early (`app` with new entries, heartbeats, vote requests) promises nothing about
 * the sender's disk: a follower may persist and acknowledge the leader's new entries before the
 * leader's own fsync completes, and they commit once a quorum *that counts only durable copies*
 * has them (the leader counts itself only after its fsync). So the leader's fsync overlaps the
 * round trip to the followers instead of preceding it, and nothing is acknowledged, to a peer
 * or to a client, before it is durable on a quorum.
 *
 * Proposals, messages and ticks arriving while a Ready is processed are stepped into the
 * RawNode at once and come out in the next Ready (batching: one fsync and one `app` per
 * follower for everything that arrived meanwhile). The loop runs only while there is work;
 * arrivals `kick` it.
 *
 * A storage, state-machine or Raft failure stops the host at once (`fail`): nothing more is
 * sent, applied or acknowledged, pending requests reject with `STOPPED`, and the `'error'` event
 * reports the cause.
 *
 * @internal Used by {@link Replica}; not exported.
 */
export class ReplicaHost<R> {
  readonly id: NodeId;
  readonly storage: ReplicaStorage;
  readonly sm: StateMachine<R>;
  readonly transport: Transport;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly opts: ResolvedOptions;
  /** This incarnation's random session number (see `envelope.ts`). */
  readonly session: number;
  /** The constant head of this incarnation's proposal envelopes. */
  readonly envelopePrefix: Uint8Array;
  readonly #emit: Emit;
  /** Set once, by `start.ts`, right after construction. */
  node!: RawNode;

  readonly proposals = new ProposalTracker<R>();
  /** Pending membership changes of this replica, by seq. */
  readonly confs = new Map<number, ConfRequest>();
  /** Joint changes of this replica whose joint configuration is applied but not yet left. */
  awaitingLeave: ConfRequest[] = [];
  /** Pending `transferLeadership` calls. */
  transfers: Array<{ readonly to: NodeId; readonly req: PendingRequest<void> }> = [];
  readonly reads: ReadBarrier;
  readonly deadlines = new DeadlineQueue();
  readonly sessions = new SessionTable();
  /** Addresses of members (those added at runtime, plus what snapshots carried). */
  readonly book = new Map<NodeId, string>();
  /** Scratch for decoding entry envelopes (one per host: no allocation per entry). */
  readonly header = newHeader();
  readonly snapshots: Snapshots<R> = new Snapshots(this);

  /** The configuration as of `applied` (what a snapshot taken now must record). */
  confState!: ConfState;
  applied = 0;
  appliedTerm = 0;
  /** Index of the newest durable snapshot. */
  snapshotIndex = 0;
  lead: NodeId = 0;
  role: StateType = 'follower';
  term = 0;
  state: HostState = 'running';
  failure: ReplicaError | undefined;

  /**
   * The newest hard state not written yet, whose only change since the last written one is the
   * commit index. A Ready that changes nothing else is not saved on its own: the commit index
   * promises nothing to anyone (it is not in Figure 2's persistent state and a restarted member
   * learns it again from the leader), and writing it would cost a WAL write that the next
   * Ready, the one with new entries, would queue behind on every sequential write. It is
   * written with the next save instead, as etcd's WAL only buffers a commit-only hard state
   * until its next fsync. It is also written before a snapshot is saved (recovery needs the
   * stored commit index at or above the snapshot's) and when the replica stops.
   */
  #unsavedHardState: HardState | undefined;
  /** Last index of the log known durable (entries up to it were saved by an earlier Ready). */
  #persistedIndex = 0;
  #running = false;
  #scheduled = false;
  #loopDone: Promise<void> = Promise.resolve();
  #loopEnd: (() => void) | undefined;
  #tickTimer: unknown;
  /** `clock.now()` as of the last tick, advanced by `tickMs` per tick (see {@link #catchUp}). */
  #tickedAt = 0;
  #closed: Promise<void> | undefined;

  constructor(init: HostInit<R>) {
    this.id = init.id;
    this.storage = init.storage;
    this.sm = init.stateMachine;
    this.transport = init.transport;
    this.clock = init.clock;
    this.logger = init.logger;
    this.opts = init.options;
    this.session = init.session;
    this.envelopePrefix = envelopePrefix(init.id, init.session);
    this.#emit = init.emit;
    this.reads = new ReadBarrier(
      (ctx) => {
        if (this.state !== 'running' || !this.#catchUp()) return;
        this.node.readIndex(ctx);
        this.kick();
      },
      this.opts.readIndexRetryMs,
      this.session,
    );
  }

  // --- inputs ---------------------------------------------------------------------------------

  /** The transport's message handler. */
  readonly onMessages = (batch: NetworkMessage[]): void => {
    if (this.state !== 'running' || !this.#catchUp()) return;
    for (let i = 0; i < batch.length; i++) {
      const m = batch[i] as NetworkMessage;
      try {
        this.node.step(m);
      } catch (err) {
        if (!this.#stepError(err, m)) return;
      }
    }
    this.kick();
  };

  /** The transport's `unreachable` report. */
  readonly onUnreachable = (to: NodeId): void => {
    if (this.state !== 'running') return;
    try {
      this.node.reportUnreachable(to);
    } catch (err) {
      this.logger.debug('ignored an unreachable report', { to, error: String(err) });
    }
    this.kick();
  };

  /** A step error: a bad or stale message is logged and dropped; a broken invariant is fatal. */
  #stepError(err: unknown, m: NetworkMessage): boolean {
    if (err instanceof RaftError && err.code !== 'INVARIANT_VIOLATED') {
      // STEP_PEER_NOT_FOUND: a response from a removed member; INVALID_ARGUMENT: a malformed
      // message (the transport checks shapes, so rare); INVALID_CONF_CHANGE: a snapshot with an
      // inconsistent configuration, refused with nothing changed.
      this.logger.debug('dropped a message Raft refused', { type: m.type, from: m.from, code: err.code });
      return true;
    }
    this.fail('RAFT_FAILED', err);
    return false;
  }

  /** Called once at start, with what the storage recovered. */
  setPersistedIndex(index: number): void {
    this.#persistedIndex = index;
  }

  /** Starts ticking every `tickMs`. */
  startTicking(): void {
    this.#tickedAt = this.clock.now();
    this.#tickTimer = this.clock.setTimeout(this.#tick, this.opts.tickMs);
  }

  readonly #tick = (): void => {
    this.#tickTimer = undefined;
    if (this.state !== 'running') return;
    // A timer that fired early by the clock, or a clock set back (a skew test), still ticks once
    // and re-anchors: ticks never stand still while the timer runs.
    if (this.#dueTicks() === 0) {
      this.#tickedAt = this.clock.now();
      if (!this.#tickNode(1)) return;
    } else if (!this.#catchUp()) return;
    const now = this.clock.now();
    this.deadlines.expire(now);
    this.reads.tick(now);
    this.kick();
    this.#tickTimer = this.clock.setTimeout(this.#tick, this.opts.tickMs);
  };

  /** Whole ticks due since the last one by the clock (0 if the clock went back). */
  #dueTicks(): number {
    return Math.max(0, Math.floor((this.clock.now() - this.#tickedAt) / this.opts.tickMs));
  }

  /**
   * Ticks the node for the time that passed since the last tick, before anything else reaches
   * it. A timer is only a wake-up: a process that was stopped (SIGSTOP, a long GC pause, a
   * blocked event loop) misses the ticks it slept through, and on waking it handles the
   * messages and reads that queued meanwhile before its timer fires. Without this, a leader
   * using lease-based reads would judge its lease by ticks that stood still while real time ran
   * on, and answer a read from a lease that expired during the pause (thesis §6.4.1 assumes
   * bounded clock drift; a stopped tick is unbounded drift). At most `electionTick` ticks are
   * replayed: that many end any lease (it is shorter than an election timeout), and a longer
   * burst would only make a woken follower more likely to campaign at once.
   *
   * @returns false when the node failed (the host has stopped).
   */
  #catchUp(): boolean {
    const due = this.#dueTicks();
    if (due === 0) return true;
    const max = this.opts.electionTick;
    if (due > max) this.#tickedAt = this.clock.now();
    else this.#tickedAt += due * this.opts.tickMs;
    return this.#tickNode(Math.min(due, max));
  }

  #tickNode(n: number): boolean {
    try {
      for (let i = 0; i < n; i++) this.node.tick();
    } catch (err) {
      this.fail('RAFT_FAILED', err);
      return false;
    }
    return true;
  }

  /**
   * Something may have produced work: make sure the loop runs. The loop starts on a microtask,
   * so a burst of synchronous calls (many `propose` in one turn) lands in one Ready.
   */
  kick(): void {
    if (this.#running || this.#scheduled || this.state !== 'running') return;
    this.#scheduled = true;
    queueMicrotask(this.#startLoop);
  }

  readonly #startLoop = (): void => {
    this.#scheduled = false;
    if (this.#running || this.state !== 'running') return;
    this.#running = true;
    this.#loopDone = new Promise((resolve) => {
      this.#loopEnd = resolve;
    });
    void this.#loop();
  };

  // --- the Ready loop -------------------------------------------------------------------------

  /** Processes Readys until there is nothing to do (or the host stops). */
  async #loop(): Promise<void> {
    try {
      while (this.state === 'running' && this.node.hasReady()) {
        await this.#handleReady(this.node.ready());
      }
    } catch (err) {
      this.fail(classify(err), err);
    } finally {
      this.#running = false;
      this.#loopEnd?.();
      this.#loopEnd = undefined;
    }
  }

  /** Runs the loop now and waits until it has nothing left to do (start-up replay). */
  async drain(): Promise<void> {
    if (!this.#running) this.#startLoop();
    await this.#loopDone;
  }

  async #handleReady(rd: Ready): Promise<void> {
    if (rd.hardState !== undefined) this.term = rd.hardState.term;
    if (rd.softState !== undefined) this.#softState(rd.softState);

    // 1. Send. Everything in a Ready may leave before the Ready is durable (see the class
    //    comment): the RawNode holds back whatever promises durability until advance().
    if (rd.messages.length > 0) this.#send(rd.messages);

    // 2. Persist: one save, one fsync when mustSync (group commit in the WAL). A Ready whose
    //    only change is the commit index writes nothing (see #unsavedHardState).
    const committed = rd.committedEntries;
    let saved: Promise<void> | undefined;
    const save = this.#saveRequest(rd);
    if (save !== undefined) {
      if (rd.entries.length > 0) this.proposals.noteAppended(rd.entries, this.session, this.header);
      saved = this.storage.save(save);
      // Awaited below; this guard only keeps a failure during an early apply from surfacing as
      // an unhandled rejection (the apply's own error wins then).
      saved.catch(() => {});
    }

    // 3. Apply: the snapshot first, then committed entries strictly in order. Committed entries
    //    that were already durable here before this Ready (the usual case on a leader: they
    //    were appended by an earlier Ready and acknowledged since) are applied while this
    //    Ready's fsync runs; the others (a follower may learn an entry and its commit in one
    //    message) only after it. Applying never waits on the network, only on our own disk.
    let early = false;
    if (saved !== undefined && rd.snapshot === undefined && committed.length > 0) {
      const last = (committed[committed.length - 1] as Entry).index;
      const firstNew = rd.entries.length > 0 ? (rd.entries[0] as Entry).index : Number.POSITIVE_INFINITY;
      early = last <= this.#persistedIndex && last < firstNew;
    }
    if (early) await applyEntries(this, committed);
    if (saved !== undefined) {
      try {
        await saved;
      } catch (err) {
        throw new HostFailure('STORAGE_FAILED', err);
      }
      if (this.state === 'failed' || this.state === 'stopped') return; // crashed meanwhile: no ack
      if (rd.snapshot !== undefined) this.#persistedIndex = rd.snapshot.metadata.index;
      if (rd.entries.length > 0) this.#persistedIndex = (rd.entries[rd.entries.length - 1] as Entry).index;
    }
    if (rd.snapshot !== undefined) await this.snapshots.restore(rd.snapshot, 'installed');
    if (!early && committed.length > 0) await applyEntries(this, committed);
    if (rd.readStates.length > 0) {
      const now = this.clock.now();
      for (const rs of rd.readStates) this.reads.confirmed(rs, this.applied, now);
    }

    // 4. Advance: releases the held-back acknowledgements (now durable) into the next Ready.
    this.node.advance();
    if (this.snapshots.due()) await this.snapshots.take();
  }

  /**
   * What to save for `rd`, or undefined when nothing needs writing now: when only the commit
   * index changed (`mustSync` false and no entries or snapshot), the hard state is kept in
   * `#unsavedHardState` and rides with the next save.
   */
  #saveRequest(rd: Ready): SaveRequest | undefined {
    if (!rd.mustSync && rd.entries.length === 0 && rd.snapshot === undefined) {
      if (rd.hardState !== undefined) this.#unsavedHardState = rd.hardState;
      return undefined;
    }
    // The Ready's own hard state, when it has one, is newer than the unsaved one.
    const hardState = rd.hardState ?? this.#unsavedHardState;
    this.#unsavedHardState = undefined;
    const req: { -readonly [K in keyof SaveRequest]: SaveRequest[K] } = {
      entries: rd.entries,
      mustSync: rd.mustSync,
    };
    if (hardState !== undefined) req.hardState = hardState;
    if (rd.snapshot !== undefined) req.snapshot = rd.snapshot;
    return req;
  }

  /**
   * Queues a write of the unsaved hard state, if any (before a snapshot is saved, and when
   * stopping). Returns the save, or undefined when there was nothing to write.
   */
  saveHardState(mustSync: boolean): Promise<void> | undefined {
    const hardState = this.#unsavedHardState;
    if (hardState === undefined) return undefined;
    this.#unsavedHardState = undefined;
    return this.storage.save({ entries: NO_ENTRIES, hardState, mustSync });
  }

  #softState(ss: SoftState): void {
    const leaderChanged = ss.lead !== this.lead;
    const roleChanged = ss.raftState !== this.role;
    this.lead = ss.lead;
    this.role = ss.raftState;
    if (roleChanged) this.emitSafe('role', ss.raftState, this.term);
    if (!leaderChanged) return;
    this.reads.leaderChanged(this.clock.now());
    if (ss.lead === 0) return;
    this.emitSafe('leader', ss.lead, this.term);
    if (this.transfers.length > 0) {
      const done = this.transfers.filter((t) => t.to === ss.lead || t.req.settled);
      this.transfers = this.transfers.filter((t) => !done.includes(t));
      for (const t of done) t.req.resolve();
    }
  }

  /** Hands messages to the transport; `snap` messages go to {@link Snapshots.route}. */
  #send(messages: readonly NetworkMessage[]): void {
    let snaps = false;
    for (let i = 0; i < messages.length; i++) {
      if ((messages[i] as NetworkMessage).type === 'snap') {
        snaps = true;
        break;
      }
    }
    if (!snaps) {
      this.transport.send(messages);
      return;
    }
    const rest: NetworkMessage[] = [];
    for (const m of messages) {
      const left = m.type === 'snap' ? this.snapshots.route(m) : m;
      if (left !== undefined) rest.push(left);
    }
    if (rest.length > 0) this.transport.send(rest);
  }

  // --- stopping -------------------------------------------------------------------------------

  /**
   * Stops the host for good because of `err`: nothing more is sent, persisted, applied or
   * acknowledged; pending requests reject with `STOPPED`; the transport and storage close; the
   * `'error'` event reports it. Idempotent (the first failure wins).
   */
  fail(code: ReplicaErrorCode, err: unknown): void {
    if (this.state === 'failed' || this.state === 'stopped') return;
    const cause = err instanceof HostFailure ? err.cause : err;
    const kind = err instanceof HostFailure ? err.code : code;
    const error = new ReplicaError(kind, `replica ${this.id} stopped: ${describe(cause)}`, { cause });
    this.failure = error;
    this.state = 'failed';
    this.logger.error('replica failed', { id: this.id, code: kind, error: describe(cause) });
    this.#closed = this.#release(error);
    this.emitSafe('error', error);
  }

  /** Stops after the Ready in progress (if any) is done; see `Replica.stop`. */
  stop(): Promise<void> {
    if (this.#closed !== undefined) return this.#closed;
    this.state = 'stopping';
    this.clock.clearTimeout(this.#tickTimer);
    this.#closed = (async () => {
      await this.#loopDone;
      await this.#release(undefined);
    })();
    return this.#closed;
  }

  /**
   * Stops at once without touching the storage again (a simulated crash: the disk is already
   * gone). Pending requests reject with `STOPPED`; the transport closes.
   */
  halt(): Promise<void> {
    if (this.#closed !== undefined) return this.#closed;
    this.failure = new ReplicaError('STOPPED', `replica ${this.id} crashed`);
    this.state = 'failed';
    this.#closed = this.#release(this.failure, false);
    return this.#closed;
  }

  async #release(cause: ReplicaError | undefined, closeStorage = true): Promise<void> {
    this.clock.clearTimeout(this.#tickTimer);
    this.#tickTimer = undefined;
    this.deadlines.stopAll(cause);
    try {
      await this.transport.close();
    } catch (err) {
      this.logger.warn('closing the transport failed', { error: describe(err) });
    }
    if (closeStorage && cause === undefined) {
      // A graceful stop lets the snapshot in progress finish, and leaves the newest commit
      // index durable, so a restart replays everything this replica applied.
      await this.snapshots.settled();
      try {
        await this.saveHardState(true);
      } catch (err) {
        this.logger.warn('saving the commit index failed', { error: describe(err) });
      }
    }
    if (closeStorage) {
      try {
        await this.storage.close();
      } catch (err) {
        // After a failure the WAL refuses everything, close included: expected.
        if (cause === undefined) this.logger.warn('closing the storage failed', { error: describe(err) });
      }
    }
    if (this.state !== 'failed') this.state = 'stopped';
  }

  /** Emits an event; a listener that throws is logged, never allowed to break the loop. */
  readonly emitSafe: Emit = (event, ...args) => {
    try {
      this.#emit(event, ...args);
    } catch (err) {
      this.logger.error(`a '${event}' listener threw`, { error: describe(err) });
    }
  };
}
