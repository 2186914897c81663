/**
 * `KvNode`: one member of a Flotilla KV cluster, in-process. Writes go through Raft from any
 * member; reads are linearizable by ReadIndex on any member unless `serializable`; watches run
 * on the local store; leases, sessions, locks and elections work from any member.
 *
 * This file holds the KV, watch and lease API; `cluster.ts` the membership and status calls;
 * `create.ts` how a node is assembled.
 */
import {
  Election,
  type ElectionOptions,
  type LockHandle,
  type LockOptions,
  lock,
  Session,
  type SessionOptions,
} from '@flotilla/lease';
import type { Bytes, TxnRequest, WatchRequest } from '@flotilla/mvcc';
import type { StateType } from '@flotilla/raft';
import type { Clock, Logger, Replica } from '@flotilla/replica';
import { EventEmitter } from 'eventemitter3';
import type { Registry } from 'prom-client';
import type {
  CompactResponse,
  DeleteOptions,
  DeleteRangeResponse,
  GetOptions,
  KvApi,
  KvWatch,
  LeaseGrantResponse,
  LeaseKeepAliveResponse,
  LeaseLeasesResponse,
  LeaseRevokeResponse,
  LeaseTimeToLiveResponse,
  Member,
  MemberListResponse,
  PutRequestOptions,
  PutResponse,
  RangeResponse,
  RequestOptions,
  ResponseHeader,
  StatusResponse,
  TxnResponse,
} from './api.js';
import {
  addMember,
  health,
  type KvHealth,
  members,
  promoteMember,
  publishAttributes,
  removeMember,
  status,
} from './cluster.js';
import type { KvCommand } from './commands.js';
import type { NodeContext } from './context.js';
import { KvError } from './errors.js';
import { kvFaultsOf, resumeOffByOne } from './faults.js';
import { grant, keepAliveOnce, leases, revoke, timeToLive } from './lease-api.js';
import type { LeaseKeeper } from './lease-keeper.js';
import type { KvLimits } from './limits.js';
import type { KvMetrics } from './metrics.js';
import type { ResolvedNodeOptions } from './options.js';
import { Proposer } from './proposer.js';
import {
  bag,
  checkGet,
  checkRequestOptions,
  checkRevision,
  deleteCommand,
  encodeChecked,
  putCommand,
  txnCommand,
} from './requests.js';
import { expectResult, toKvError } from './results.js';
import type { KvResult, KvStateMachine } from './state-machine.js';
import { isReadOnlyTxn } from './txn-read.js';
import { NodeWatch } from './watch.js';

/** Events of a {@link KvNode}. */
export interface KvNodeEvents {
  /** A leader became known (this member or another): its id and term. */
  leader: (id: number, term: number) => void;
  /** This member's Raft role changed. */
  role: (role: StateType, term: number) => void;
  /** The member failed (its replica stopped on a storage, apply or Raft failure): unusable. */
  error: (err: Error) => void;
}

/** What `create.ts` hands a new node. @internal */
export interface KvNodeParts {
  readonly replica: Replica<KvResult>;
  readonly stateMachine: KvStateMachine;
  readonly options: ResolvedNodeOptions;
  readonly logger: Logger;
  readonly clusterId: string | undefined;
  readonly metrics: KvMetrics | undefined;
  /** Builds the lease keeper once the node exists (it proposes through the node). */
  readonly leases: (propose: (cmd: KvCommand) => Promise<KvResult>) => LeaseKeeper;
}

/**
 * One member of a Flotilla KV cluster. Create it with `createKvNode`. Implements `KvApi`
 * (see `api.ts` for every method's contract and the guarantees).
 */
export class KvNode extends EventEmitter<KvNodeEvents> implements KvApi {
  /** This member's id. */
  readonly id: number;
  /** The replica driving this member (for the server layer and tests). */
  readonly replica: Replica<KvResult>;
  /** The replicated state this member applies to. */
  readonly stateMachine: KvStateMachine;
  /** The clock the node runs on. */
  readonly clock: Clock;
  /** The request limits in force. */
  readonly limits: KvLimits;
  readonly #opts: ResolvedNodeOptions;
  readonly #logger: Logger;
  readonly #clusterId: string | undefined;
  readonly #metrics: KvMetrics | undefined;
  readonly #proposer: Proposer;
  readonly #leases: LeaseKeeper;
  readonly #watches = new Set<NodeWatch>();
  #nextWatchId = 1;
  #term = 0;
  #lastLeader = 0;
  #stopped = false;
  #stopping: Promise<void> | undefined;
  #failure: Error | undefined;
  #progressTimer: unknown;
  readonly #ctx: NodeContext;
  /** Background proposals (publish, forget) and how to stop each. */
  readonly #background = new Set<() => void>();

  /** @internal Use `createKvNode`. */
  constructor(parts: KvNodeParts) {
    super();
    this.replica = parts.replica;
    this.stateMachine = parts.stateMachine;
    this.id = parts.replica.id;
    this.#opts = parts.options;
    this.clock = parts.options.clock;
    this.limits = parts.options.limits;
    this.#logger = parts.logger;
    this.#clusterId = parts.clusterId;
    this.#metrics = parts.metrics;
    this.#proposer = new Proposer({
      replica: this.replica,
      clock: this.clock,
      tickMs: parts.options.tickMs,
      checkOpen: () => this.#checkOpen(),
    });
    this.#leases = parts.leases((cmd) => this.#propose(cmd, {}));
    this.#ctx = {
      id: this.id,
      replica: this.replica,
      stateMachine: this.stateMachine,
      clock: this.clock,
      proposer: this.#proposer,
      logger: this.#logger,
      options: this.#opts,
      leases: this.#leases,
      header: (revision) => this.#header(revision),
      readBarrier: (req) => this.#readBarrier(req),
      propose: (cmd, req) => this.#propose(cmd, req),
      checkOpen: () => this.#checkOpen(),
      failure: () => this.#failure,
      stopped: () => this.#stopped,
      sawTerm: (term) => {
        if (term > this.#term) this.#term = term;
      },
      background: (start) => {
        let stop: (() => void) | undefined;
        let finished = false;
        const done = (): void => {
          finished = true;
          if (stop !== undefined) this.#background.delete(stop);
        };
        stop = start(done);
        if (!finished) this.#background.add(stop);
      },
    };
    this.#wire();
    const { name, peerUrls, clientUrls } = this.#opts;
    this.#ctx.background((onDone) => publishAttributes(this.#ctx, { name, peerUrls, clientUrls }, onDone));
  }

  /** The prom-client registry of this node's metrics, when enabled. */
  get metrics(): Registry | undefined {
    return this.#metrics?.registry;
  }

  /** True while this member is the leader. */
  get isLeader(): boolean {
    return this.replica.isLeader;
  }

  /** The leader this member knows of, or undefined. */
  get leaderId(): number | undefined {
    return this.replica.leaderId;
  }

  /** This member's Raft term, as last seen. */
  get term(): number {
    return this.#term;
  }

  #wire(): void {
    const r = this.replica;
    r.on('role', (role, term) => {
      if (term > this.#term) this.#term = term;
      if (role === 'leader') this.#leases.promote();
      else if (this.#leases.isPrimary) this.#leases.demote();
      this.emit('role', role, term);
    });
    r.on('leader', (id, term) => {
      if (term > this.#term) this.#term = term;
      if (id !== this.#lastLeader) {
        this.#lastLeader = id;
        this.#metrics?.leaderChanged();
      }
      this.emit('leader', id, term);
    });
    r.on('error', (err) => {
      this.#failure = err;
      this.#leases.demote();
      this.#abortWatches(`UNAVAILABLE: the member failed (${err.code})`);
      this.#logger.error('the replica failed; this member stopped serving', { error: String(err) });
      this.emit('error', err);
    });
    this.stateMachine.on('restore', (store) => {
      for (const w of this.#watches) w.moveTo(store);
    });
    const status = r.status();
    this.#term = status.term;
    if (r.isLeader) this.#leases.promote();
    this.#armProgress();
  }

  /** Ends every watch with a canceled response naming `reason` (the member stops serving). */
  #abortWatches(reason: string): void {
    const revision = this.stateMachine.store.revision;
    for (const w of [...this.#watches]) w.abort(reason, revision);
  }

  #armProgress(): void {
    this.#progressTimer = this.clock.setTimeout(() => {
      if (this.#stopped) return;
      this.stateMachine.store.notifyProgress();
      this.#armProgress();
    }, this.#opts.watchProgressNotifyIntervalMs);
  }

  #header(revision: number): ResponseHeader {
    const h = { revision, raftTerm: this.#term, memberId: this.id };
    return this.#clusterId === undefined ? h : { ...h, clusterId: this.#clusterId };
  }

  #checkOpen(): void {
    if (this.#stopped) throw new KvError('STOPPED', `member ${this.id} is stopped`);
    if (this.#failure !== undefined) {
      throw new KvError(
        'UNAVAILABLE',
        `member ${this.id} failed and cannot serve: ${this.#failure.message}`,
        {
          cause: this.#failure,
        },
      );
    }
  }

  /** Encodes, proposes and returns the result (a `failed` one included). */
  async #propose(cmd: KvCommand, req: RequestOptions): Promise<KvResult> {
    this.#checkOpen();
    const data = encodeChecked(cmd, this.limits);
    try {
      return await this.#proposer.propose(data, req.timeoutMs ?? this.#opts.requestTimeoutMs, req.signal);
    } catch (err) {
      this.#metrics?.proposalFailed();
      throw err;
    }
  }

  /** Waits until this member has applied everything acknowledged before the call (ReadIndex). */
  async #readBarrier(req: RequestOptions): Promise<void> {
    this.#checkOpen();
    // Test-only fault (faults.ts): answer from the local store without ReadIndex.
    if (kvFaultsOf(this).readsSkipReadIndex) return;
    try {
      await this.replica.readIndex({
        timeoutMs: req.timeoutMs ?? this.#opts.requestTimeoutMs,
        ...(req.signal ? { signal: req.signal } : {}),
      });
    } catch (err) {
      this.#checkOpen();
      throw toKvError(err);
    }
  }

  // -- KV --------------------------------------------------------------------------------------

  /** etcd `Put`. See `KvApi.put`. */
  async put(key: Bytes, value: Bytes, options?: PutRequestOptions): Promise<PutResponse> {
    const { command, request } = putCommand(key, value, options, this.limits);
    const r = expectResult(await this.#propose(command, request), 'put');
    return { ...r.put, header: this.#header(r.revision) };
  }

  /** etcd `Range`: linearizable (ReadIndex) unless `serializable`. See `KvApi.get`. */
  async get(key: Bytes, options?: GetOptions): Promise<RangeResponse> {
    const g = checkGet(key, options, this.limits);
    if (g.serializable) this.#checkOpen();
    else await this.#readBarrier(g.request);
    const store = this.stateMachine.store;
    try {
      const r = store.range(g.key, g.rangeEnd, g.range);
      return { ...r, header: this.#header(store.revision) };
    } catch (err) {
      throw toKvError(err);
    }
  }

  /** etcd `DeleteRange`. See `KvApi.delete`. */
  async delete(key: Bytes, options?: DeleteOptions): Promise<DeleteRangeResponse> {
    const { command, request } = deleteCommand(key, options, this.limits);
    const r = expectResult(await this.#propose(command, request), 'deleteRange');
    return { ...r.deleteRange, header: this.#header(r.revision) };
  }

  /**
   * etcd `Txn`. A transaction that writes nothing in either branch is served like a
   * linearizable read (ReadIndex, then the local store), as etcd does; others go through Raft.
   */
  async txn(request: TxnRequest, options?: RequestOptions): Promise<TxnResponse> {
    const command = txnCommand(request, this.limits);
    const req = checkRequestOptions(bag(options, 'txn options'));
    if (command.type === 'txn' && isReadOnlyTxn(command.request)) {
      encodeChecked(command, this.limits);
      await this.#readBarrier(req);
      const store = this.stateMachine.store;
      try {
        const res = store.txn(command.request);
        return { ...res, header: this.#header(store.revision) };
      } catch (err) {
        throw toKvError(err);
      }
    }
    const r = expectResult(await this.#propose(command, req), 'txn');
    return { ...r.txn, header: this.#header(r.revision) };
  }

  /** etcd `Compact`: drops history before `revision` on every member. */
  async compact(revision: number, options?: RequestOptions): Promise<CompactResponse> {
    const rev = checkRevision(revision);
    const req = checkRequestOptions(bag(options, 'compact options'));
    const r = expectResult(await this.#propose({ type: 'compact', revision: rev }, req), 'compact');
    return { header: this.#header(r.revision) };
  }

  // -- Watch -----------------------------------------------------------------------------------

  /** etcd `Watch` on this member's store (see `watch.ts` for the semantics). Never throws. */
  watch(request: WatchRequest): KvWatch {
    const id = this.#nextWatchId++;
    const onEnd = (w: NodeWatch): void => {
      this.#watches.delete(w);
    };
    const store = this.stateMachine.store;
    if (this.#stopped || this.#failure !== undefined) {
      const reason = this.#stopped ? 'STOPPED: the member is stopped' : 'UNAVAILABLE: the member failed';
      return new NodeWatch(id, request, { failure: reason, revision: store.revision }, onEnd);
    }
    // Test-only fault (faults.ts): a resumed watch starts one revision late.
    const req = kvFaultsOf(this).watchResumeOffByOne ? resumeOffByOne(request, store.revision) : request;
    const w = new NodeWatch(id, req, store, onEnd);
    if (!w.ended) this.#watches.add(w);
    return w;
  }

  /** Number of open watches on this member. */
  get watchCount(): number {
    return this.#watches.size;
  }

  // -- Leases ----------------------------------------------------------------------------------

  /**
   * etcd `LeaseGrant`. The TTL is raised to the cluster's minimum; without `options.id` the
   * cluster picks the id (the grant's log index, or the next free id above it).
   */
  grant(
    ttlSeconds: number,
    options?: { readonly id?: number } & RequestOptions,
  ): Promise<LeaseGrantResponse> {
    return grant(this.#ctx, ttlSeconds, options);
  }

  /** etcd `LeaseRevoke`: deletes the lease and its keys (one revision). */
  revoke(id: number, options?: RequestOptions): Promise<LeaseRevokeResponse> {
    return revoke(this.#ctx, id, options);
  }

  /** One keep-alive, through Raft from any member. Rejects `LEASE_NOT_FOUND` when the lease is gone. */
  keepAliveOnce(id: number, options?: RequestOptions): Promise<LeaseKeepAliveResponse> {
    return keepAliveOnce(this.#ctx, id, options);
  }

  /** etcd `LeaseTimeToLive`, linearizable: `ttl` -1 when the lease does not exist. */
  timeToLive(
    id: number,
    options?: { readonly keys?: boolean } & RequestOptions,
  ): Promise<LeaseTimeToLiveResponse> {
    return timeToLive(this.#ctx, id, options);
  }

  /** etcd `LeaseLeases`, linearizable. */
  leases(options?: RequestOptions): Promise<LeaseLeasesResponse> {
    return leases(this.#ctx, options);
  }

  /** A session (a lease kept alive) bound to this node, on the node's clock by default. */
  session(options?: SessionOptions): Promise<Session> {
    return Session.create(this, { clock: this.clock, ...options });
  }

  /** A lock with a fencing token (`@flotilla/lease`'s `lock`) bound to this node. */
  lock(name: Bytes, options: LockOptions): Promise<LockHandle> {
    return lock(this, name, options);
  }

  /** An election (`@flotilla/lease`'s `Election`) bound to this node. */
  election(name: Bytes, options: ElectionOptions): Election {
    return new Election(this, name, options);
  }

  // -- Cluster -------------------------------------------------------------------------------

  /** etcd `Status` of this member (local, no round trip). */
  async status(options?: RequestOptions): Promise<StatusResponse> {
    return status(this.#ctx, options);
  }

  /** etcd `MemberList`, linearizable. */
  members(options?: RequestOptions): Promise<MemberListResponse> {
    return members(this.#ctx, options);
  }

  /**
   * etcd `MemberAdd`: a voter, or a learner with `isLearner`, reachable at `peerUrl`. The id is
   * `options.id` or derived from the URL; start the new member with that id and `join: true`.
   */
  addMember(
    peerUrl: string,
    options?: { readonly isLearner?: boolean; readonly id?: number } & RequestOptions,
  ): Promise<MemberListResponse & { readonly member: Member }> {
    return addMember(this.#ctx, peerUrl, options);
  }

  /** etcd `MemberRemove`. */
  removeMember(id: number, options?: RequestOptions): Promise<MemberListResponse> {
    return removeMember(this.#ctx, id, options);
  }

  /** etcd `MemberPromote`: a learner becomes a voter. */
  promoteMember(id: number, options?: RequestOptions): Promise<MemberListResponse> {
    return promoteMember(this.#ctx, id, options);
  }

  /** The health check the HTTP layer serves at `/health` (see `cluster.ts`). */
  health(options?: { readonly linearizable?: boolean } & RequestOptions): Promise<KvHealth> {
    return health(this.#ctx, options);
  }

  // -- Lifecycle -------------------------------------------------------------------------------

  /** True once `stop()` was called. */
  get stopped(): boolean {
    return this.#stopped;
  }

  /**
   * Stops the member: watches end (with a last `canceled` response, reason `STOPPED`), the
   * lease timer stops, the replica stops (writes in flight reject `OUTCOME_UNKNOWN`), the
   * transport and storage close. Idempotent.
   */
  stop(): Promise<void> {
    if (this.#stopping !== undefined) return this.#stopping;
    this.#stopped = true;
    for (const stop of [...this.#background]) stop();
    this.clock.clearTimeout(this.#progressTimer);
    this.#abortWatches('STOPPED: the member is stopping');
    this.#leases.close();
    this.#stopping = this.replica.stop().catch((err: unknown) => {
      this.#logger.warn('error while stopping the replica', { error: String(err) });
    });
    return this.#stopping;
  }
}
