/**
 * The leader-only half of leases: deadlines on a monotonic clock (etcd's `lessor` expiry heap,
 * `Promote`/`Demote`, `Renew`, `runLoop` and checkpoint scheduler), split from the replicated
 * {@link Lessor} so the Lessor stays deterministic.
 *
 * Rules (etcd 3.4, `lease/lessor.go`):
 * - Only the leader ("primary") tracks deadlines. A follower never expires anything: its timer
 *   is demoted and arms no clock timer at all.
 * - Expiry never deletes locally. The timer hands expired ids to the host's `proposeRevoke`,
 *   which proposes a revoke entry through Raft, so every replica revokes at the same log index.
 *   If the revoke has not been applied `revokeRetryMs` later (the proposal was lost, say), it
 *   asks again (etcd's `expiredLeaseRetryInterval`, 3 s).
 * - On promotion every lease restarts from its last checkpointed remaining time (else its full
 *   TTL) plus `extendMs` (at least an election timeout). Extending covers the keep-alives that
 *   could not be served while there was no leader: no lease dies early because of an election.
 * - Periodically (`checkpointIntervalMs`) the leader proposes each lease's remaining time
 *   (`proposeCheckpoint`), so a new leader does not restart a lease from its full TTL: without
 *   checkpoints, frequent leader changes would make a lease that nobody renews immortal.
 * - A keep-alive (`renew`) restarts the full TTL and, if a checkpoint is recorded, proposes a
 *   checkpoint of 0 to clear it (etcd 3.4): otherwise a leader change right after the renewal
 *   would start the lease from the stale, shorter checkpoint and revoke it early.
 * - A lease whose deadline has passed cannot be renewed (`LEASE_NOT_FOUND`): its revoke is on
 *   its way, and answering "renewed" would let a client believe in a lease about to vanish.
 *
 * Bound: a lease nobody renews expires at most `k × (checkpointIntervalMs + extendMs)` after its
 * TTL, where `k` is the number of leader changes in between (each new leader starts from a
 * checkpoint at most one interval old, plus the extension), provided each leadership lasts at
 * least one checkpoint interval.
 */
import type { Clock } from './clock.js';
import { checkDuration, checkLeaseId, LeaseError } from './errors.js';
import type { LeaseInfo, LessorEvent, LessorListener } from './lessor.js';

/** One lease's remaining time, as proposed to and applied by `Lessor.checkpoint`. */
export interface LeaseCheckpoint {
  readonly id: number;
  /** Remaining ms; 0 clears the lease's checkpoint (after a keep-alive). */
  readonly remainingMs: number;
}

/** What the timer reads from the replicated side (a `Lessor` satisfies it). */
export interface LessorView {
  leases(): LeaseInfo[];
  lookup(id: number): LeaseInfo | undefined;
  subscribe(listener: LessorListener): () => void;
}

/** Construction options of a {@link LeaseTimer}. Durations in ms. */
export interface LeaseTimerOptions {
  /** The replicated lease table to follow. */
  readonly lessor: LessorView;
  /** Monotonic time and timers. Never wall time. */
  readonly clock: Clock;
  /**
   * Asks the host to revoke these expired leases THROUGH RAFT (propose one revoke per id). Must
   * not revoke locally. Called with ids ascending; may return a promise (its rejection is
   * ignored: the timer asks again after `revokeRetryMs`). Its return value is otherwise unused.
   */
  readonly proposeRevoke: (ids: readonly number[]) => unknown;
  /**
   * Asks the host to replicate these checkpoints through Raft (applied as
   * `Lessor.checkpoint(id, remainingMs)` on every replica). Absent: no checkpoints are taken
   * (etcd without `--experimental-enable-lease-checkpoint`), and a leader change restarts every
   * lease from its full TTL.
   */
  readonly proposeCheckpoint?: (checkpoints: readonly LeaseCheckpoint[]) => unknown;
  /** How often the leader checkpoints remaining TTLs. Default 300,000 (etcd's 5 minutes). */
  readonly checkpointIntervalMs?: number;
  /** Most checkpoints per `proposeCheckpoint` call. Default 1000 (etcd's batch limit). */
  readonly checkpointBatchSize?: number;
  /** Asks again for a revoke not applied after this long. Default 3000 (etcd's). */
  readonly revokeRetryMs?: number;
  /** `promote()`'s default extension: the election timeout. Default 1000. */
  readonly electionTimeoutMs?: number;
}

/** The leader's record of one lease. */
interface Deadline {
  /** Clock time at which the lease expires. */
  expiresAt: number;
  /** When the revoke was last requested; undefined until the lease expired. */
  revokeAskedAt: number | undefined;
}

/**
 * Leader-side lease deadlines. Construct one per replica beside its {@link Lessor}; call
 * {@link LeaseTimer.promote} when the replica becomes leader and {@link LeaseTimer.demote} when it
 * stops. It follows the Lessor through `subscribe` (grants, revokes, checkpoints and restores as
 * they are applied), so the host only wires the two callbacks and leadership changes.
 *
 * @example
 * ```ts
 * const timer = new LeaseTimer({
 *   lessor, clock,
 *   proposeRevoke: (ids) => Promise.all(ids.map((id) => replica.propose(encodeRevoke(id)))),
 *   proposeCheckpoint: (cps) => replica.propose(encodeCheckpoints(cps)),
 *   checkpointIntervalMs: 60_000,
 *   electionTimeoutMs: 1000,
 * });
 * replica.on('leader', () => timer.promote());
 * replica.on('follower', () => timer.demote());
 * ```
 */
export class LeaseTimer {
  readonly #lessor: LessorView;
  readonly #clock: Clock;
  readonly #proposeRevoke: (ids: readonly number[]) => unknown;
  readonly #proposeCheckpoint: ((cps: readonly LeaseCheckpoint[]) => unknown) | undefined;
  readonly #checkpointIntervalMs: number;
  readonly #checkpointBatchSize: number;
  readonly #revokeRetryMs: number;
  readonly #electionTimeoutMs: number;
  readonly #unsubscribe: () => void;

  /** Present exactly while primary (leader). */
  #deadlines: Map<number, Deadline> | undefined;
  /** The one clock timer armed for the earliest deadline, and when it fires. */
  #timer: unknown;
  #timerAt = Number.POSITIVE_INFINITY;
  #nextCheckpointAt = Number.POSITIVE_INFINITY;
  #closed = false;

  constructor(options: LeaseTimerOptions) {
    const { lessor, clock, proposeRevoke, proposeCheckpoint } = options;
    if (typeof lessor?.subscribe !== 'function' || typeof lessor.leases !== 'function') {
      throw new LeaseError('INVALID_ARGUMENT', 'LeaseTimer needs a lessor');
    }
    if (typeof clock?.now !== 'function' || typeof clock.setTimeout !== 'function') {
      throw new LeaseError('INVALID_ARGUMENT', 'LeaseTimer needs a clock');
    }
    if (typeof proposeRevoke !== 'function') {
      throw new LeaseError('INVALID_ARGUMENT', 'LeaseTimer needs a proposeRevoke callback');
    }
    if (proposeCheckpoint !== undefined && typeof proposeCheckpoint !== 'function') {
      throw new LeaseError('INVALID_ARGUMENT', 'proposeCheckpoint must be a function');
    }
    this.#checkpointIntervalMs = options.checkpointIntervalMs ?? 300_000;
    checkDuration(this.#checkpointIntervalMs, 'checkpointIntervalMs', true);
    this.#revokeRetryMs = options.revokeRetryMs ?? 3000;
    checkDuration(this.#revokeRetryMs, 'revokeRetryMs', true);
    this.#electionTimeoutMs = options.electionTimeoutMs ?? 1000;
    checkDuration(this.#electionTimeoutMs, 'electionTimeoutMs');
    const batch = options.checkpointBatchSize ?? 1000;
    if (!Number.isSafeInteger(batch) || batch < 1) {
      throw new LeaseError(
        'INVALID_ARGUMENT',
        `checkpointBatchSize must be a positive integer, got ${batch}`,
      );
    }
    this.#checkpointBatchSize = batch;
    this.#lessor = lessor;
    this.#clock = clock;
    this.#proposeRevoke = proposeRevoke;
    this.#proposeCheckpoint = proposeCheckpoint;
    this.#unsubscribe = lessor.subscribe((event) => this.#applied(event));
  }

  /** True while promoted (this replica is the leader and tracks deadlines). */
  get isPrimary(): boolean {
    return this.#deadlines !== undefined;
  }

  /**
   * Becomes the primary: every lease gets the deadline `now + (checkpointed remaining, else the
   * full TTL) + extendMs`, and expiry and checkpoints start. Call it when this replica becomes
   * leader. `extendMs` defaults to the election timeout; pass at least that (etcd passes its
   * election timeout). Promoting again re-derives every deadline the same way.
   */
  promote(extendMs: number = this.#electionTimeoutMs): void {
    checkDuration(extendMs, 'extendMs');
    this.#checkOpen();
    const now = this.#clock.now();
    const deadlines = new Map<number, Deadline>();
    for (const lease of this.#lessor.leases()) {
      deadlines.set(lease.id, { expiresAt: now + startingMs(lease) + extendMs, revokeAskedAt: undefined });
    }
    this.#disarm();
    this.#deadlines = deadlines;
    this.#nextCheckpointAt =
      this.#proposeCheckpoint === undefined ? Infinity : now + this.#checkpointIntervalMs;
    this.#armAt(this.#earliestDue(deadlines));
  }

  /** Stops being primary: forgets every deadline and arms nothing. Idempotent. */
  demote(): void {
    this.#deadlines = undefined;
    this.#nextCheckpointAt = Number.POSITIVE_INFINITY;
    this.#disarm();
  }

  /**
   * A keep-alive: restarts lease `id`'s full TTL and returns it (seconds). When the lease has a
   * checkpoint, proposes clearing it first (see the module notes); a server that wants etcd's
   * exact behaviour answers the client only once that is applied: use {@link LeaseTimer.keepAlive}.
   *
   * @throws LeaseError `NOT_PRIMARY` (not the leader), `LEASE_NOT_FOUND` (unknown, or expired and
   * being revoked), `INVALID_ARGUMENT`.
   */
  renew(id: number): number {
    return this.#renew(id).ttl;
  }

  /**
   * {@link LeaseTimer.renew}, resolved once the clearing checkpoint it proposed (if any) has been
   * handled by the host, like etcd 3.4's `Renew` which waits for it. Rejects like `renew`, or
   * with the host's error when that proposal failed (the client retries its keep-alive).
   */
  async keepAlive(id: number): Promise<number> {
    const { ttl, clearing } = this.#renew(id);
    await clearing;
    return ttl;
  }

  /**
   * The live remaining time of lease `id` in ms (0 once expired), or undefined when not primary
   * or the lease is unknown. What a server reports as `timeToLive`.
   */
  remainingMs(id: number): number | undefined {
    const d = this.#deadlines?.get(id);
    return d === undefined ? undefined : Math.max(0, d.expiresAt - this.#clock.now());
  }

  /** Demotes and stops following the Lessor. The timer cannot be promoted again. Idempotent. */
  close(): void {
    this.demote();
    if (!this.#closed) this.#unsubscribe();
    this.#closed = true;
  }

  #renew(id: number): { ttl: number; clearing: Promise<unknown> | undefined } {
    checkLeaseId(id);
    const deadlines = this.#deadlines;
    if (deadlines === undefined) {
      throw new LeaseError('NOT_PRIMARY', 'not the primary lessor (not the leader): renew on the leader');
    }
    const lease = this.#lessor.lookup(id);
    const d = deadlines.get(id);
    const now = this.#clock.now();
    // `d` exists whenever the lease does (grants and restores are followed); an expired lease is
    // gone for clients even before the revoke is applied.
    if (lease === undefined || d === undefined || d.revokeAskedAt !== undefined || now >= d.expiresAt) {
      throw new LeaseError('LEASE_NOT_FOUND', `lease ${id} not found (or expired)`, { details: { id } });
    }
    d.expiresAt = now + lease.grantedTtl * 1000;
    let clearing: Promise<unknown> | undefined;
    if (lease.remainingMs > 0 && this.#proposeCheckpoint !== undefined) {
      clearing = Promise.resolve(this.#proposeCheckpoint([{ id, remainingMs: 0 }]));
    }
    return { ttl: lease.grantedTtl, clearing };
  }

  /** Follows the replicated side. Runs synchronously inside the host's apply. */
  #applied(event: LessorEvent): void {
    const deadlines = this.#deadlines;
    if (deadlines === undefined) return; // followers track nothing
    const now = this.#clock.now();
    switch (event.type) {
      case 'grant':
        // A lease granted while we lead starts now (etcd: `Grant` on the primary sets expiry).
        {
          const expiresAt = now + event.lease.grantedTtl * 1000;
          deadlines.set(event.lease.id, { expiresAt, revokeAskedAt: undefined });
          this.#armAt(expiresAt);
        }
        return;
      case 'revoke':
        deadlines.delete(event.id);
        return;
      case 'checkpoint':
        // The leader's own deadline is authoritative; a checkpoint only informs future leaders.
        return;
      case 'restore': {
        // Leaders do not install snapshots in Raft; handled anyway: keep known deadlines, start
        // new leases as a promotion would (without extension), drop vanished ones.
        const next = new Map<number, Deadline>();
        for (const lease of this.#lessor.leases()) {
          next.set(
            lease.id,
            deadlines.get(lease.id) ?? { expiresAt: now + startingMs(lease), revokeAskedAt: undefined },
          );
        }
        this.#deadlines = next;
        this.#armAt(this.#earliestDue(next));
        return;
      }
    }
  }

  /**
   * The timer callback: asks for revokes of expired leases and takes due checkpoints. `armedFor`
   * is the time it was armed for: the firing counts as happening at least then. Otherwise a
   * clock reading a hair below it (`start + (at - start)` is not always `at` in floating point,
   * and real timers can be coarse) would find nothing due and re-arm with delay 0 forever.
   */
  #fire(armedFor: number): void {
    this.#timer = undefined;
    this.#timerAt = Number.POSITIVE_INFINITY;
    const deadlines = this.#deadlines;
    if (deadlines === undefined) return;
    const now = Math.max(this.#clock.now(), armedFor);
    const expired: number[] = [];
    for (const [id, d] of deadlines) {
      if (now < d.expiresAt) continue;
      if (d.revokeAskedAt !== undefined && now < d.revokeAskedAt + this.#revokeRetryMs) continue;
      d.revokeAskedAt = now;
      expired.push(id);
    }
    let checkpoints: LeaseCheckpoint[] = [];
    if (now >= this.#nextCheckpointAt) {
      checkpoints = this.#dueCheckpoints(deadlines, now);
      this.#nextCheckpointAt = now + this.#checkpointIntervalMs;
    }
    // State is settled and the next timer armed before calling out: a host that applies
    // synchronously (the in-process KV) re-enters through `#applied` while we are in here.
    this.#armAt(this.#earliestDue(deadlines));
    if (expired.length > 0) {
      expired.sort((a, b) => a - b);
      this.#callHost(() => this.#proposeRevoke(expired));
    }
    const propose = this.#proposeCheckpoint;
    if (propose !== undefined) {
      for (let i = 0; i < checkpoints.length; i += this.#checkpointBatchSize) {
        const batch = checkpoints.slice(i, i + this.#checkpointBatchSize);
        this.#callHost(() => propose(batch));
      }
    }
  }

  /**
   * The checkpoints to propose now: every live lease, its remaining time rounded up to whole ms
   * (rounding up errs toward a later expiry, never an earlier one). A lease renewed this very
   * millisecond (remaining = full TTL) needs none (etcd skips `remaining >= ttl` too).
   */
  #dueCheckpoints(deadlines: Map<number, Deadline>, now: number): LeaseCheckpoint[] {
    const out: LeaseCheckpoint[] = [];
    for (const lease of this.#lessor.leases()) {
      const d = deadlines.get(lease.id);
      if (d === undefined || d.revokeAskedAt !== undefined || now >= d.expiresAt) continue;
      const remainingMs = Math.ceil(d.expiresAt - now);
      if (remainingMs >= lease.grantedTtl * 1000 && lease.remainingMs === 0) continue;
      out.push({ id: lease.id, remainingMs });
    }
    return out;
  }

  /** Runs a host callback; its errors and rejections are dropped (retries cover them). */
  #callHost(call: () => unknown): void {
    try {
      const result = call();
      // A thenable result (a proposal's promise): swallow its rejection, never an unhandled one.
      if (isThenable(result)) result.then(undefined, () => {});
    } catch {
      // A failed proposal is retried (revokes) or superseded by the next interval (checkpoints).
    }
  }

  /**
   * The earliest moment something is due: a deadline, a revoke retry or the next checkpoint.
   * One pass over the leases; it runs on promotion and once per timer firing, never per renewal
   * (a renewal only moves a deadline later, so the armed timer at worst fires early and rescans).
   */
  #earliestDue(deadlines: Map<number, Deadline>): number {
    let at = this.#nextCheckpointAt;
    for (const d of deadlines.values()) {
      const due = d.revokeAskedAt === undefined ? d.expiresAt : d.revokeAskedAt + this.#revokeRetryMs;
      if (due < at) at = due;
    }
    return at;
  }

  /** Makes sure the clock timer fires no later than `at` (keeps an earlier one). */
  #armAt(at: number): void {
    if (at >= this.#timerAt || at === Number.POSITIVE_INFINITY) return;
    this.#disarm();
    this.#timerAt = at;
    this.#timer = this.#clock.setTimeout(() => this.#fire(at), Math.max(0, at - this.#clock.now()));
  }

  #disarm(): void {
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerAt = Number.POSITIVE_INFINITY;
  }

  #checkOpen(): void {
    if (this.#closed) throw new LeaseError('INVALID_ARGUMENT', 'this LeaseTimer is closed');
  }
}

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return typeof (v as { then?: unknown } | null)?.then === 'function';
}

/** What a new leader starts a lease from: its checkpoint, else its full TTL (etcd `RemainingTTL`). */
function startingMs(lease: LeaseInfo): number {
  return lease.remainingMs > 0 ? lease.remainingMs : lease.grantedTtl * 1000;
}
