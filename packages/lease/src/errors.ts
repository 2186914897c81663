import { FlotillaError, type FlotillaErrorOptions } from '@flotilla/errors';

/**
 * The codes `@flotilla/lease` throws. Stable public API: callers branch on them. A call that
 * fails with one of these changed nothing (the Lessor, the timer and the store are as before).
 *
 * Lessor and timer (the server side):
 * - `LEASE_NOT_FOUND`: no lease with that id (never granted, revoked, or already expired and
 *   being revoked). etcd's `ErrLeaseNotFound`.
 * - `LEASE_EXISTS`: `grant` with an id already in use. etcd's `ErrLeaseExists`.
 * - `INVALID_TTL`: a TTL that is not an integer in `[0, MAX_LEASE_TTL]` (see `normalizeTtl`).
 *   etcd's `ErrLeaseTTLTooLarge`, widened to every malformed TTL.
 * - `KEY_NOT_FOUND`: `attach`/`detach` on a key that does not exist (or, for `detach`, is not
 *   attached to that lease).
 * - `NOT_PRIMARY`: `renew` on a {@link LeaseTimer} that is not promoted (this replica is not
 *   the leader). etcd's `ErrNotPrimary`: the caller retries on the leader.
 * - `CORRUPT_SNAPSHOT`: `restore` was given bytes that are truncated, fail their checksum or
 *   do not describe a valid set of leases.
 * - `INVALID_ARGUMENT`: a lease id that is not a positive safe integer, a negative duration,
 *   a missing option, and other values outside their domain.
 *
 * Sessions, locks and elections (the client side):
 * - `LOCK_LOST`: `lock()` or `Election.campaign()` gave up because the session's lease was
 *   revoked or expired (or the waiter's own key vanished) before the lock was granted. Never
 *   turned into a success: this is the etcd 3.4.3 Jepsen finding.
 * - `ABORTED`: the caller's `AbortSignal` fired while `lock()`/`campaign()` waited; the
 *   waiter's key has been deleted.
 * - `NOT_LEADER`: `Election.proclaim()` or `Election.guard()` while this election object is not
 *   the leader (etcd's `ErrElectionNotLeader`).
 * - `NO_LEADER`: `Election.leader()` when nobody is campaigning (etcd's `ErrElectionNoLeader`).
 * - `UNAVAILABLE`: a request could not reach the store (used by the in-process test KV when a
 *   client's keep-alives are paused; a network client uses it for lost connections).
 */
export type LeaseErrorCode =
  | 'LEASE_NOT_FOUND'
  | 'LEASE_EXISTS'
  | 'INVALID_TTL'
  | 'KEY_NOT_FOUND'
  | 'NOT_PRIMARY'
  | 'CORRUPT_SNAPSHOT'
  | 'INVALID_ARGUMENT'
  | 'LOCK_LOST'
  | 'ABORTED'
  | 'NOT_LEADER'
  | 'NO_LEADER'
  | 'UNAVAILABLE';

/** Every error `@flotilla/lease` throws on purpose. */
export class LeaseError extends FlotillaError {
  declare readonly code: LeaseErrorCode;
  constructor(code: LeaseErrorCode, message: string, options?: FlotillaErrorOptions) {
    super(code, message, options);
  }
}

/** Throws `INVALID_ARGUMENT` unless `id` is a positive safe integer (a lease id). */
export function checkLeaseId(id: unknown, what = 'lease id'): asserts id is number {
  if (typeof id !== 'number' || !Number.isSafeInteger(id) || id <= 0) {
    throw new LeaseError('INVALID_ARGUMENT', `${what} must be a positive safe integer, got ${String(id)}`, {
      details: { id },
    });
  }
}

/** Throws `INVALID_ARGUMENT` unless `ms` is a finite number ≥ 0 (`positive`: > 0). */
export function checkDuration(ms: unknown, what: string, positive = false): asserts ms is number {
  if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0 || (positive && ms === 0)) {
    throw new LeaseError(
      'INVALID_ARGUMENT',
      `${what} must be a finite number ${positive ? '> 0' : '≥ 0'} (ms), got ${String(ms)}`,
    );
  }
}
