/**
 * A single-process {@link KvLike}: one `MvccStore`, one {@link Lessor}, one {@link LeaseTimer},
 * and no Raft. "Proposing through Raft" is applying at once, so this is exactly the wiring a
 * replicated host does (see the README), minus the log. Tests and teaching use it; it can
 * simulate a leader change (`changeLeader`), pause a client's keep-alives, or pause a client
 * altogether.
 */
import {
  type Bytes,
  MvccStore,
  type PutOptions,
  type TxnRequest,
  type WatchRequest,
  type WatchResponse,
} from '@flotilla/mvcc';
import { applyCheckpoints, applyRevoke } from '../apply.js';
import type { Clock } from '../clock.js';
import { checkDuration, LeaseError } from '../errors.js';
import type {
  DeleteRangeResponse,
  KvDeleteOptions,
  KvGetOptions,
  KvLike,
  KvWatch,
  LeaseGrantResponse,
  LeaseKeepAliveResponse,
  LeaseRevokeResponse,
  LeaseTimeToLiveResponse,
  PutResponse,
  RangeResponse,
  TxnResponse,
} from '../kv-like.js';
import { LeaseTimer } from '../lease-timer.js';
import { Lessor } from '../lessor.js';

/** Options of {@link createLocalKv}. Durations in ms. */
export interface LocalKvOptions {
  /** The clock the lease timer runs on (a `ManualClock` in tests). */
  readonly clock: Clock;
  /** Minimum lease TTL in seconds. Default 2 (etcd's for a 1 s election timeout). */
  readonly minTtlSeconds?: number;
  /** The simulated election timeout: the extension a new leader gives every lease. Default 1000. */
  readonly electionTimeoutMs?: number;
  /** Lease checkpoint interval. Default 300,000 (etcd's). */
  readonly checkpointIntervalMs?: number;
  /** Re-ask for a revoke not applied after this long. Default 3000. */
  readonly revokeRetryMs?: number;
}

/**
 * Creates an in-process KV whose lease timer is already promoted (the single member leads).
 *
 * @example
 * ```ts
 * const clock = new ManualClock();
 * const kv = createLocalKv({ clock, minTtlSeconds: 1 });
 * const session = await Session.create(kv, { ttl: 5, clock });
 * ```
 */
export function createLocalKv(options: LocalKvOptions): LocalKv {
  return new LocalKv(options);
}

/** See {@link createLocalKv}. Implements {@link KvLike} directly (a client that never pauses). */
export class LocalKv implements KvLike {
  readonly clock: Clock;
  readonly store: MvccStore;
  readonly lessor: Lessor;
  readonly timer: LeaseTimer;
  readonly #electionTimeoutMs: number;
  #nextLeaseId = 1;
  /** Revokes the timer asked for (the "Raft proposals" it made). */
  #revokesProposed = 0;

  constructor(options: LocalKvOptions) {
    if (typeof options?.clock?.now !== 'function') {
      throw new LeaseError('INVALID_ARGUMENT', 'createLocalKv needs { clock }');
    }
    this.clock = options.clock;
    this.#electionTimeoutMs = options.electionTimeoutMs ?? 1000;
    checkDuration(this.#electionTimeoutMs, 'electionTimeoutMs');
    // The store asks the Lessor whether a put's lease exists; the Lessor asks the store for a
    // lease's keys. The closure breaks the construction cycle.
    let lessor: Lessor | undefined;
    this.store = new MvccStore({ leaseExists: (id) => lessor?.has(id) ?? false });
    lessor = new Lessor(this.store, { minTtlSeconds: options.minTtlSeconds ?? 2 });
    this.lessor = lessor;
    this.timer = new LeaseTimer({
      lessor,
      clock: this.clock,
      // Through Raft, a revoke entry would be appended, committed and applied on every replica;
      // here applying is immediate. A lease revoked meanwhile is simply skipped (deterministic).
      proposeRevoke: (ids) => {
        this.#revokesProposed += ids.length;
        for (const id of ids) applyRevoke(this.lessor, id);
      },
      proposeCheckpoint: (cps) => applyCheckpoints(this.lessor, cps),
      checkpointIntervalMs: options.checkpointIntervalMs,
      revokeRetryMs: options.revokeRetryMs,
      electionTimeoutMs: this.#electionTimeoutMs,
    });
    this.timer.promote();
  }

  /** How many revokes the lease timer has proposed so far (expiries, including retries). */
  get revokesProposed(): number {
    return this.#revokesProposed;
  }

  /** A new client handle on this KV, whose traffic can be paused. */
  client(): LocalKvClient {
    return new LocalKvClient(this);
  }

  /**
   * Simulates a leader change: the timer is demoted (forgetting every deadline) and promoted
   * again as a new leader would be: each lease restarts from its last checkpoint (or full TTL)
   * plus the election timeout. `gapMs` of the simulated clock may pass in between (the election);
   * no lease can expire during it.
   */
  async changeLeader(gapMs = 0): Promise<void> {
    this.timer.demote();
    if (gapMs > 0 && hasAdvance(this.clock)) await this.clock.advance(gapMs);
    this.timer.promote(this.#electionTimeoutMs);
  }

  /** Stops the lease timer. */
  close(): void {
    this.timer.close();
  }

  async put(key: Bytes, value: Bytes, options?: PutOptions): Promise<PutResponse> {
    return this.store.put(key, value, options);
  }

  async get(key: Bytes, options: KvGetOptions = {}): Promise<RangeResponse> {
    const { rangeEnd, ...rest } = options;
    return this.store.range(key, rangeEnd, rest);
  }

  async delete(key: Bytes, options: KvDeleteOptions = {}): Promise<DeleteRangeResponse> {
    const { rangeEnd, ...rest } = options;
    return this.store.deleteRange(key, rangeEnd, rest);
  }

  async txn(request: TxnRequest): Promise<TxnResponse> {
    return this.store.txn(request);
  }

  watch(request: WatchRequest): KvWatch {
    return this.store.watch(request);
  }

  async grant(ttl: number, options: { readonly id?: number } = {}): Promise<LeaseGrantResponse> {
    let id = options.id;
    if (id === undefined || id === 0) {
      while (this.lessor.has(this.#nextLeaseId)) this.#nextLeaseId++;
      id = this.#nextLeaseId++;
    }
    const lease = this.lessor.grant(id, ttl);
    return { id: lease.id, ttl: lease.grantedTtl, header: { revision: this.store.revision } };
  }

  async revoke(id: number): Promise<LeaseRevokeResponse> {
    const res = this.lessor.revoke(id);
    return { header: { revision: res.revision } };
  }

  async keepAliveOnce(id: number): Promise<LeaseKeepAliveResponse> {
    const ttl = await this.timer.keepAlive(id);
    return { id, ttl, header: { revision: this.store.revision } };
  }

  async timeToLive(id: number, options: { readonly keys?: boolean } = {}): Promise<LeaseTimeToLiveResponse> {
    const lease = this.lessor.lookup(id);
    const header = { revision: this.store.revision };
    if (lease === undefined) return { id, ttl: -1, grantedTtl: 0, keys: [], header };
    const remaining = this.timer.remainingMs(id) ?? lease.grantedTtl * 1000;
    const keys = options.keys === true ? this.lessor.timeToLive(id).keys : [];
    return { id, ttl: Math.ceil(remaining / 1000), grantedTtl: lease.grantedTtl, keys, header };
  }
}

/**
 * A client of a {@link LocalKv}. Its traffic can be held back to simulate faults:
 * - {@link LocalKvClient.pauseKeepAlives}: keep-alives do not reach the server (a partition of
 *   the keep-alive stream); held ones fail with `UNAVAILABLE` on resume.
 * - {@link LocalKvClient.pause}: the whole client stops (a process pause, GC, SIGSTOP): requests
 *   and watch deliveries wait until {@link LocalKvClient.resume}; nothing is lost.
 */
export class LocalKvClient implements KvLike {
  readonly #kv: LocalKv;
  #keepAlivesPaused = false;
  #heldKeepAlives: ((err: Error) => void)[] = [];
  #paused: Promise<void> | undefined;
  #unpause: () => void = () => {};

  constructor(kv: LocalKv) {
    this.#kv = kv;
  }

  /** Keep-alives sent from now on are dropped until {@link LocalKvClient.resumeKeepAlives}. */
  pauseKeepAlives(): void {
    this.#keepAlivesPaused = true;
  }

  /** Lets keep-alives through again; those held meanwhile fail with `UNAVAILABLE`. */
  resumeKeepAlives(): void {
    this.#keepAlivesPaused = false;
    const held = this.#heldKeepAlives;
    this.#heldKeepAlives = [];
    for (const reject of held) reject(new LeaseError('UNAVAILABLE', 'keep-alive dropped while paused'));
  }

  /** True while keep-alives are paused. */
  get keepAlivesPaused(): boolean {
    return this.#keepAlivesPaused;
  }

  /** Freezes the client: requests and watch responses wait until {@link LocalKvClient.resume}. */
  pause(): void {
    if (this.#paused !== undefined) return;
    this.#paused = new Promise((resolve) => {
      this.#unpause = resolve;
    });
  }

  /** Unfreezes the client; everything held proceeds in order. */
  resume(): void {
    this.#paused = undefined;
    this.#unpause();
  }

  /** True while paused. */
  get paused(): boolean {
    return this.#paused !== undefined;
  }

  put(key: Bytes, value: Bytes, options?: PutOptions): Promise<PutResponse> {
    return this.#call(() => this.#kv.put(key, value, options));
  }

  get(key: Bytes, options?: KvGetOptions): Promise<RangeResponse> {
    return this.#call(() => this.#kv.get(key, options));
  }

  delete(key: Bytes, options?: KvDeleteOptions): Promise<DeleteRangeResponse> {
    return this.#call(() => this.#kv.delete(key, options));
  }

  txn(request: TxnRequest): Promise<TxnResponse> {
    return this.#call(() => this.#kv.txn(request));
  }

  watch(request: WatchRequest): KvWatch {
    return new GatedWatch(this.#kv.watch(request), () => this.#gate());
  }

  grant(ttl: number, options?: { readonly id?: number }): Promise<LeaseGrantResponse> {
    return this.#call(() => this.#kv.grant(ttl, options));
  }

  revoke(id: number): Promise<LeaseRevokeResponse> {
    return this.#call(() => this.#kv.revoke(id));
  }

  keepAliveOnce(id: number): Promise<LeaseKeepAliveResponse> {
    if (this.#keepAlivesPaused) {
      return new Promise((_, reject) => {
        this.#heldKeepAlives.push(reject);
      });
    }
    return this.#call(() => this.#kv.keepAliveOnce(id));
  }

  timeToLive(id: number, options?: { readonly keys?: boolean }): Promise<LeaseTimeToLiveResponse> {
    return this.#call(() => this.#kv.timeToLive(id, options));
  }

  /** Waits while paused: a paused client neither sends nor reads. */
  async #gate(): Promise<void> {
    while (this.#paused !== undefined) await this.#paused;
  }

  async #call<T>(op: () => Promise<T>): Promise<T> {
    await this.#gate();
    const result = await op();
    await this.#gate();
    return result;
  }
}

/** A watch whose deliveries wait while the client is paused. */
class GatedWatch implements KvWatch {
  readonly #inner: KvWatch;
  readonly #gate: () => Promise<void>;
  #canceled = false;

  constructor(inner: KvWatch, gate: () => Promise<void>) {
    this.#inner = inner;
    this.#gate = gate;
  }

  cancel(): void {
    this.#canceled = true;
    this.#inner.cancel();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<WatchResponse> {
    for await (const resp of this.#inner) {
      await this.#gate();
      if (this.#canceled) return;
      yield resp;
    }
  }
}

function hasAdvance(clock: Clock): clock is Clock & { advance(ms: number): Promise<unknown> } {
  return typeof (clock as { advance?: unknown }).advance === 'function';
}
