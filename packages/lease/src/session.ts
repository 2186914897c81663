/**
 * A client-side lease kept alive in the background (etcd's `concurrency.Session`). Locks and
 * elections attach their keys to a session's lease, so a client that dies or stalls loses them
 * once the lease expires.
 *
 * When is the lease "lost" for the client? The server's deadline is `renewal time + TTL`, and a
 * renewal happens after the keep-alive was sent. So `send time + TTL` of the latest successful
 * keep-alive is never later than the server's deadline (clock rates assumed equal): the session
 * declares the lease lost at that local deadline, before the server can have revoked it, or as
 * soon as a keep-alive answers `LEASE_NOT_FOUND`. (etcd's client measures from the answer's
 * arrival, which can be later than the server's deadline.) Being conservative here only shortens
 * what the client believes; safety against pauses still rests on fencing tokens (see `lock`).
 */
import { isFlotillaError } from '@flotilla/errors';
import { type Clock, systemClock } from './clock.js';
import { checkDuration, checkLeaseId, LeaseError } from './errors.js';
import type { KvLike } from './kv-like.js';

/** Callbacks waiting for a session's end (for the lock and election waits; not public API). */
const endListeners = new WeakMap<Session, Set<() => void>>();

/**
 * Calls `listener` once when `session` ends (at once if it already has). Returns a function
 * that unsubscribes. Unlike `session.done.then(...)`, an unsubscribed listener is released, so a
 * long-lived session does not accumulate one closure per lock attempt.
 */
export function onSessionEnd(session: Session, listener: () => void): () => void {
  if (!session.alive) {
    listener();
    return () => {};
  }
  let set = endListeners.get(session);
  if (set === undefined) {
    set = new Set();
    endListeners.set(session, set);
  }
  const entry = (): void => listener();
  set.add(entry);
  return () => {
    endListeners.get(session)?.delete(entry);
  };
}

/** Options of {@link Session.create}. */
export interface SessionOptions {
  /** TTL of a new lease in seconds (the server may raise it to its minimum). Default 60 (etcd). */
  readonly ttl?: number;
  /** Adopt this existing lease instead of granting one (etcd's `WithLease`). */
  readonly leaseId?: number;
  /** Time and timers. Default {@link systemClock}; tests pass a simulated clock. */
  readonly clock?: Clock;
  /** Time between keep-alives in ms. Default a third of the TTL (etcd's client). */
  readonly keepAliveIntervalMs?: number;
  /** Delay before retrying a keep-alive that failed (not `LEASE_NOT_FOUND`). Default 500 ms. */
  readonly retryMs?: number;
}

/** Why a session ended: `closed` by {@link Session.close}, or `expired` (lease lost or revoked). */
export type SessionEndReason = 'closed' | 'expired';

/**
 * A lease with an automatic keep-alive loop. Create with {@link Session.create}.
 *
 * @example
 * ```ts
 * const session = await Session.create(kv, { ttl: 10, clock });
 * session.done.then(() => console.log('lease lost or closed:', session.endReason));
 * // ... lock(kv, 'jobs', { session }) ...
 * await session.close(); // revokes the lease: every key attached to it disappears
 * ```
 */
export class Session {
  /** The lease id. */
  readonly leaseId: number;
  /** The TTL the server granted, in seconds. */
  readonly ttl: number;
  /** Settles (resolves) once the lease is lost, revoked or closed. Never rejects. */
  readonly done: Promise<void>;
  /** The clock the session runs on (locks and elections wait on it too). */
  readonly clock: Clock;

  readonly #kv: KvLike;
  readonly #intervalMs: number;
  readonly #retryMs: number;
  #resolveDone: () => void = () => {};
  #endReason: SessionEndReason | undefined;
  /** Local deadline: the lease is certainly alive on the server until then. */
  #deadline: number;
  #deadlineTimer: unknown;
  #tickTimer: unknown;
  #inFlight = false;

  private constructor(
    kv: KvLike,
    leaseId: number,
    ttl: number,
    deadline: number,
    clock: Clock,
    options: SessionOptions,
  ) {
    this.#kv = kv;
    this.clock = clock;
    this.leaseId = leaseId;
    this.ttl = ttl;
    this.#deadline = deadline;
    this.#intervalMs = options.keepAliveIntervalMs ?? (ttl * 1000) / 3;
    this.#retryMs = options.retryMs ?? 500;
    this.done = new Promise<void>((resolve) => {
      this.#resolveDone = resolve;
    });
    this.#armDeadline();
    this.#scheduleTick(this.#intervalMs);
  }

  /**
   * Grants a lease of `options.ttl` seconds (or adopts `options.leaseId`, checking it with one
   * keep-alive) and starts keeping it alive.
   *
   * @throws LeaseError `INVALID_ARGUMENT`; the KV's errors (`INVALID_TTL`, `LEASE_NOT_FOUND`, ...).
   */
  static async create(kv: KvLike, options: SessionOptions = {}): Promise<Session> {
    if (typeof kv?.grant !== 'function' || typeof kv.keepAliveOnce !== 'function') {
      throw new LeaseError('INVALID_ARGUMENT', 'Session.create needs a KvLike');
    }
    const clock = options.clock ?? systemClock;
    if (options.keepAliveIntervalMs !== undefined) {
      checkDuration(options.keepAliveIntervalMs, 'keepAliveIntervalMs', true);
    }
    if (options.retryMs !== undefined) checkDuration(options.retryMs, 'retryMs', true);
    const sent = clock.now();
    if (options.leaseId !== undefined) {
      checkLeaseId(options.leaseId);
      const resp = await kv.keepAliveOnce(options.leaseId);
      return new Session(kv, options.leaseId, resp.ttl, sent + resp.ttl * 1000, clock, options);
    }
    const resp = await kv.grant(options.ttl ?? 60);
    return new Session(kv, resp.id, resp.ttl, sent + resp.ttl * 1000, clock, options);
  }

  /** True until the session ends. */
  get alive(): boolean {
    return this.#endReason === undefined;
  }

  /** Why the session ended, or undefined while alive. */
  get endReason(): SessionEndReason | undefined {
    return this.#endReason;
  }

  /**
   * Stops the keep-alives and revokes the lease (deleting every key attached to it). Resolves
   * once the revoke is acknowledged; an already-gone lease is fine. Idempotent. If the revoke
   * fails otherwise, `done` is settled anyway and the lease dies by its TTL; the error is thrown.
   */
  async close(): Promise<void> {
    if (this.#endReason !== undefined) return;
    this.#end('closed');
    try {
      await this.#kv.revoke(this.leaseId);
    } catch (err) {
      if (!isFlotillaError(err, 'LEASE_NOT_FOUND')) throw err;
    }
  }

  #scheduleTick(ms: number): void {
    this.#tickTimer = this.clock.setTimeout(() => this.#tick(), ms);
  }

  #tick(): void {
    this.#tickTimer = undefined;
    if (this.#endReason !== undefined) return;
    // Ticks are armed only when no keep-alive is out (by the constructor and by the previous
    // answer), so they never pile up behind a slow or paused connection; the deadline timer
    // still ends the session if that answer never comes.
    if (this.#inFlight) return;
    this.#inFlight = true;
    const sent = this.clock.now();
    this.#kv.keepAliveOnce(this.leaseId).then(
      (resp) => {
        this.#inFlight = false;
        if (this.#endReason !== undefined) return;
        if (!(resp.ttl > 0)) {
          this.#end('expired');
          return;
        }
        // Only ever later: a late answer to an old keep-alive must not pull the deadline back.
        this.#deadline = Math.max(this.#deadline, sent + resp.ttl * 1000);
        this.#armDeadline();
        this.#scheduleTick(this.#intervalMs);
      },
      (err: unknown) => {
        this.#inFlight = false;
        if (this.#endReason !== undefined) return;
        if (isFlotillaError(err, 'LEASE_NOT_FOUND')) {
          this.#end('expired');
          return;
        }
        // Transient (no leader, connection lost, keep-alives paused): try again soon; the local
        // deadline still ends the session if nothing gets through in time.
        this.#scheduleTick(Math.min(this.#retryMs, this.#intervalMs));
      },
    );
  }

  #armDeadline(): void {
    if (this.#deadlineTimer !== undefined) this.clock.clearTimeout(this.#deadlineTimer);
    this.#deadlineTimer = this.clock.setTimeout(
      () => {
        this.#deadlineTimer = undefined;
        if (this.#endReason !== undefined) return;
        this.#end('expired');
        // The server may still hold the lease for a moment (we are early on purpose): revoke it
        // so the keys vanish now rather than at the server's deadline. Best effort.
        this.#kv.revoke(this.leaseId).catch(() => {});
      },
      Math.max(0, this.#deadline - this.clock.now()),
    );
  }

  /** Ends the session exactly once: timers stop, `done` settles. */
  #end(reason: SessionEndReason): void {
    if (this.#endReason !== undefined) return;
    this.#endReason = reason;
    if (this.#deadlineTimer !== undefined) this.clock.clearTimeout(this.#deadlineTimer);
    if (this.#tickTimer !== undefined) this.clock.clearTimeout(this.#tickTimer);
    this.#deadlineTimer = undefined;
    this.#tickTimer = undefined;
    this.#resolveDone();
    const listeners = endListeners.get(this);
    endListeners.delete(this);
    for (const listener of listeners ?? []) listener();
  }
}
