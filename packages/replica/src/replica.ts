import type { ConfState, NodeId, StateType, Status } from '@flotilla/raft';
import { RaftError } from '@flotilla/raft';
import { EventEmitter } from 'eventemitter3';
import { encodeConfChangeContext } from './codec.js';
import { encodeEnvelope } from './envelope.js';
import { ReplicaError } from './errors.js';
import type { ReplicaEvents } from './events.js';
import type { HostState, ReplicaHost } from './host.js';
import { ConfRequest, type MembershipChange, type MembershipResult, toConfChange } from './membership.js';
import { type ReplicaOptions, requestTimeout } from './options.js';
import { ProposalRequest, type ProposeResult } from './proposals.js';
import { ReadRequest } from './read-barrier.js';
import { PendingRequest, stoppedError } from './requests.js';
import { startHost } from './start.js';

/** Options of every request: a deadline and a way to give up earlier. */
export interface RequestOptions {
  /** Rejects with `ABORTED` when it fires. */
  readonly signal?: AbortSignal;
  /** Rejects with `TIMEOUT` after this many ms (default: `requestTimeoutMs`, 10 s). Checked
   * on every tick, so the resolution is `tickMs`. */
  readonly timeoutMs?: number;
}

/** What {@link Replica.status} returns: Raft's status plus what the replica knows. */
export interface ReplicaStatus extends Status {
  /** The known leader, or undefined. */
  readonly leader: NodeId | undefined;
  /** The configuration as of the applied index. */
  readonly members: ConfState;
  /** Addresses of members added at runtime (or carried by a snapshot), by id. */
  readonly addresses: Readonly<Record<NodeId, string>>;
  /** Index of the newest durable snapshot (0 = none). */
  readonly snapshotIndex: number;
  /** `'running'`, `'stopping'`, `'stopped'` or `'failed'`. */
  readonly state: HostState;
  /** Proposals, reads and membership changes not yet completed. */
  readonly pending: { readonly proposals: number; readonly reads: number };
}

/** Internal: lets the testing harness crash a replica without a graceful stop. */
export const HALT: unique symbol = Symbol('flotilla.replica.halt');

/**
 * One member of a replicated state machine: a Raft `RawNode` driven by a Ready loop, a WAL, a
 * {@link Transport} and your {@link StateMachine}. Create it with {@link Replica.create}.
 *
 * Proposals resolve once their entry is committed *and applied here* (with the state
 * machine's result), linearizable reads go through {@link Replica.readIndex}, membership
 * changes resolve once applied. See the package README for the Ready loop, the durability
 * guarantee and the errors.
 *
 * @example
 * ```ts
 * const replica = await Replica.create({
 *   id: 1,
 *   peers: [1, 2, 3],
 *   dataDir: '/var/lib/app/raft',
 *   stateMachine: new Counter(),
 *   transport: createTcpTransport({ id: 1, listen: { host: '0.0.0.0', port: 7001 }, peers, clusterId: 'app' }),
 * });
 * replica.on('leader', (id, term) => console.log(`leader ${id} in term ${term}`));
 * const { index, result } = await replica.propose(new Uint8Array([1]));
 * ```
 */
export class Replica<R = unknown> extends EventEmitter<ReplicaEvents> {
  readonly #host: ReplicaHost<R>;

  /**
   * Opens the storage (`dataDir` or `storage`), restores the newest snapshot into the state
   * machine, re-applies the committed entries after it, starts the transport and starts
   * ticking. Rejects with `INVALID_ARGUMENT` for bad options (nothing opened stays open), or
   * with the storage's error (for example `WAL_CORRUPT`, `WAL_LOCKED`).
   */
  static async create<R = unknown>(options: ReplicaOptions<R>): Promise<Replica<R>> {
    // The emitter must exist before the host can emit, so the host gets a forwarding function.
    let target: Replica<R> | undefined;
    const host = await startHost<R>(options, (event, ...args) => {
      // eventemitter3's typing cannot relate a generic event name to its arguments.
      (target as EventEmitter | undefined)?.emit(event, ...args);
    });
    target = new Replica(host);
    return target;
  }

  private constructor(host: ReplicaHost<R>) {
    super();
    this.#host = host;
  }

  /** This member's id. */
  get id(): NodeId {
    return this.#host.id;
  }

  /** True while this replica is the leader (as of the last Ready it processed). */
  get isLeader(): boolean {
    return this.#host.role === 'leader';
  }

  /** The leader this replica knows of, or undefined. */
  get leaderId(): NodeId | undefined {
    return this.#host.lead === 0 ? undefined : this.#host.lead;
  }

  /** This replica's role. */
  get role(): StateType {
    return this.#host.role;
  }

  /** The index of the last entry applied to the state machine. */
  get appliedIndex(): number {
    return this.#host.applied;
  }

  /**
   * Proposes `command`. Resolves with the entry's index and the state machine's return value
   * once the entry is committed and applied on this replica. Rejects with:
   * - `NOT_LEADER` (details.leaderId) on a follower when `forwardProposals` is off;
   * - `PROPOSAL_DROPPED` when it certainly did not take effect;
   * - `TIMEOUT` / `ABORTED` / `STOPPED`, after which the outcome is unknown;
   * - `INVALID_ARGUMENT` when `command` is not a Uint8Array.
   */
  propose(command: Uint8Array, opts: RequestOptions = {}): Promise<ProposeResult<R>> {
    const host = this.#host;
    try {
      if (!(command instanceof Uint8Array))
        throw new ReplicaError('INVALID_ARGUMENT', 'command must be a Uint8Array');
      this.#checkCanPropose('proposal', opts);
      const timeout =
        opts.timeoutMs === undefined ? host.opts.requestTimeoutMs : requestTimeout(opts.timeoutMs, 0);
      const seq = host.proposals.nextSeq();
      try {
        host.node.propose(encodeEnvelope(host.envelopePrefix, seq, command));
      } catch (err) {
        throw this.#proposeError(err);
      }
      let req: ProposalRequest<R> | undefined;
      const promise = new Promise<ProposeResult<R>>((resolve, reject) => {
        req = new ProposalRequest(host.proposals, seq, resolve, reject, host.clock.now() + timeout);
      });
      const r = req as ProposalRequest<R>;
      host.proposals.add(r);
      host.deadlines.add(r, timeout);
      r.watch(opts.signal);
      host.kick();
      return promise;
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /**
   * A linearizable read barrier (ReadIndex, thesis §6.4): resolves with a read index once this
   * replica has applied at least that index, so reading the state machine then observes every
   * write acknowledged before the call. Works on followers (the leader confirms the index).
   * Concurrent calls share one confirmation round. Rejects with `TIMEOUT`, `ABORTED` or
   * `STOPPED`.
   */
  readIndex(opts: RequestOptions = {}): Promise<number> {
    const host = this.#host;
    try {
      this.#checkRunning('read barrier', false);
      const timeout =
        opts.timeoutMs === undefined ? host.opts.requestTimeoutMs : requestTimeout(opts.timeoutMs, 0);
      if (opts.signal?.aborted === true)
        throw new ReplicaError('ABORTED', 'read barrier aborted', { cause: opts.signal.reason });
      const now = host.clock.now();
      let req: ReadRequest | undefined;
      const promise = new Promise<number>((resolve, reject) => {
        req = new ReadRequest(resolve, reject, now + timeout);
      });
      const r = req as ReadRequest;
      host.deadlines.add(r, timeout);
      r.watch(opts.signal);
      host.reads.add(r, now);
      host.kick();
      return promise;
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** Adds a voter (simple change). Resolves once applied. */
  addVoter(id: NodeId, address: string, opts?: RequestOptions): Promise<MembershipResult> {
    return this.changeMembership([{ type: 'addVoter', id, address }], opts);
  }

  /** Adds a learner: it receives the log but does not vote (etcd's learners). */
  addLearner(id: NodeId, address: string, opts?: RequestOptions): Promise<MembershipResult> {
    return this.changeMembership([{ type: 'addLearner', id, address }], opts);
  }

  /** Makes a learner a voter. */
  promoteLearner(id: NodeId, opts?: RequestOptions): Promise<MembershipResult> {
    return this.changeMembership([{ type: 'promoteLearner', id }], opts);
  }

  /** Removes a voter or learner. A removed leader steps down once the change is applied. */
  removeMember(id: NodeId, opts?: RequestOptions): Promise<MembershipResult> {
    return this.changeMembership([{ type: 'remove', id }], opts);
  }

  /**
   * Changes membership: one step as a simple change, several with joint consensus (thesis
   * §4.3), resolving once the joint configuration has been left. Rejects with
   * `CONF_CHANGE_REJECTED` when the leader refuses it (one change at a time; never remove the
   * last voter), and like {@link propose} otherwise.
   */
  changeMembership(
    changes: readonly MembershipChange[],
    opts: RequestOptions = {},
  ): Promise<MembershipResult> {
    const host = this.#host;
    try {
      const { changes: steps, addresses } = toConfChange(changes);
      this.#checkCanPropose('membership change', opts);
      const timeout =
        opts.timeoutMs === undefined ? host.opts.requestTimeoutMs : requestTimeout(opts.timeoutMs, 0);
      const seq = host.proposals.nextSeq();
      const context = encodeConfChangeContext({ proposer: host.id, session: host.session, seq, addresses });
      try {
        host.node.proposeConfChange({ changes: steps, context });
      } catch (err) {
        throw this.#proposeError(err);
      }
      let req: ConfRequest | undefined;
      const promise = new Promise<MembershipResult>((resolve, reject) => {
        req = new ConfRequest(
          seq,
          (done) => {
            host.confs.delete(done.seq);
            if (host.awaitingLeave.includes(done))
              host.awaitingLeave = host.awaitingLeave.filter((r) => r !== done);
          },
          resolve,
          reject,
          host.clock.now() + timeout,
        );
      });
      const r = req as ConfRequest;
      host.confs.set(seq, r);
      host.deadlines.add(r, timeout);
      r.watch(opts.signal);
      host.kick();
      return promise;
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /**
   * Hands leadership to `to` (thesis §3.10): the leader brings it up to date and tells it to
   * campaign at once. Resolves when this replica sees `to` as leader; rejects with `TIMEOUT`
   * otherwise (Raft gives up a transfer after an election timeout; proposals are refused
   * meanwhile).
   */
  transferLeadership(to: NodeId, opts: RequestOptions = {}): Promise<void> {
    const host = this.#host;
    try {
      if (typeof to !== 'number' || !Number.isSafeInteger(to) || to <= 0) {
        throw new ReplicaError(
          'INVALID_ARGUMENT',
          `transferee must be a positive safe integer, got ${String(to)}`,
        );
      }
      this.#checkRunning('leadership transfer', false);
      if (host.lead === to) return Promise.resolve();
      const timeout =
        opts.timeoutMs === undefined ? host.opts.requestTimeoutMs : requestTimeout(opts.timeoutMs, 0);
      host.node.transferLeader(to);
      let req: PendingRequest<void> | undefined;
      const promise = new Promise<void>((resolve, reject) => {
        req = new PendingRequest<void>(
          resolve,
          reject,
          'leadership transfer',
          host.clock.now() + timeout,
          false,
        );
      });
      const r = req as PendingRequest<void>;
      // Timed-out transfers leave the list here (resolved ones leave when the leader changes).
      host.transfers = host.transfers.filter((t) => !t.req.settled);
      host.transfers.push({ to, req: r });
      host.deadlines.add(r, timeout);
      r.watch(opts.signal);
      host.kick();
      return promise;
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /**
   * Starts an election now (with PreVote first when enabled). A no-op on the leader, on a
   * learner or non-member. Throws `STOPPED` once stopped.
   */
  campaign(): void {
    this.#checkRunning('campaign', false);
    this.#host.node.campaign();
    this.#host.kick();
  }

  /** Raft's status plus the applied index, members, addresses and the replica's state. */
  status(): ReplicaStatus {
    const host = this.#host;
    return {
      ...host.node.status(),
      applied: host.applied,
      leader: host.lead === 0 ? undefined : host.lead,
      members: host.confState,
      addresses: Object.fromEntries(host.book),
      snapshotIndex: host.snapshotIndex,
      state: host.state,
      pending: { proposals: host.proposals.size, reads: host.reads.pending },
    };
  }

  /**
   * Stops: no more ticks or messages; the Ready in progress (if any) finishes (persisted,
   * applied, advanced); pending requests reject with `STOPPED`; the transport and the storage
   * close. Idempotent; resolves when everything is closed.
   */
  stop(): Promise<void> {
    return this.#host.stop();
  }

  /** @internal A crash for simulations (see `SimCluster.crash`): no flush, no storage access. */
  [HALT](): Promise<void> {
    return this.#host.halt();
  }

  #checkRunning(what: string, mayTakeEffect: boolean): void {
    const host = this.#host;
    if (host.state !== 'running') throw stoppedError(what, mayTakeEffect, host.failure);
  }

  /** Refusals before anything is proposed (each leaves nothing behind). */
  #checkCanPropose(what: string, opts: RequestOptions): void {
    const host = this.#host;
    this.#checkRunning(what, false);
    if (opts.signal?.aborted === true) {
      throw new ReplicaError('ABORTED', `${what} aborted before it was proposed`, {
        cause: opts.signal.reason,
      });
    }
    if (!host.opts.forwardProposals && host.role !== 'leader') throw this.#notLeader(host.lead);
  }

  #notLeader(lead: NodeId): ReplicaError {
    return new ReplicaError(
      'NOT_LEADER',
      lead === 0
        ? `replica ${this.id} is not the leader and knows no leader`
        : `replica ${this.id} is not the leader; the leader is ${lead}`,
      lead === 0 ? {} : { details: { leaderId: lead } },
    );
  }

  /** Turns Raft's refusal of a proposal into this package's error. */
  #proposeError(err: unknown): unknown {
    if (!(err instanceof RaftError)) return err;
    if (err.code === 'INVALID_CONF_CHANGE') {
      return new ReplicaError('CONF_CHANGE_REJECTED', `membership change refused: ${err.message}`, {
        cause: err,
      });
    }
    if (err.code === 'PROPOSAL_DROPPED') {
      // Our view of the role lags the RawNode by at most one Ready: ask it.
      const st = this.#host.node.status();
      if (!this.#host.opts.forwardProposals && st.raftState !== 'leader') return this.#notLeader(st.lead);
      return new ReplicaError('PROPOSAL_DROPPED', err.message, { cause: err });
    }
    return err;
  }
}
