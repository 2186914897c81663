/**
 * The TTL rules of a lease grant, as etcd 3.4 applies them (`lease/lessor.go`, `Grant`).
 *
 * A TTL is a whole number of seconds. The rule, in order:
 * 1. not a number, not an integer, NaN, ±Infinity or negative → `INVALID_TTL`;
 * 2. above {@link MAX_LEASE_TTL} (9,000,000,000 s, etcd's `MaxLeaseTTL`) → `INVALID_TTL`
 *    (etcd's `ErrLeaseTTLTooLarge`);
 * 3. below the minimum TTL (0 included) → raised to the minimum (etcd does this silently too:
 *    the granted TTL in the answer tells the caller).
 *
 * The minimum exists because a lease shorter than an election could expire during the election
 * that follows a leader crash even though its client kept it alive: keep-alives cannot be served
 * while there is no leader. etcd sets it to `ceil(1.5 × election timeout)` in seconds
 * (`minTTL := (3 * ElectionTicks / 2) * heartbeat`), see {@link minTtlForElectionTimeout}.
 */
import { LeaseError } from './errors.js';

/** The largest TTL a lease may have, in seconds (etcd's `MaxLeaseTTL`, about 285 years). */
export const MAX_LEASE_TTL = 9_000_000_000;

/** The default minimum TTL in seconds: etcd's value for its default 1000 ms election timeout. */
export const DEFAULT_MIN_TTL = 2;

/**
 * etcd's minimum lease TTL for an election timeout: `ceil(1.5 × electionTimeoutMs / 1000)`
 * seconds, at least 1. For Flotilla's Raft, the election timeout is `electionTick × tick interval`.
 *
 * @example
 * ```ts
 * minTtlForElectionTimeout(1000); // 2 (etcd's defaults)
 * minTtlForElectionTimeout(5000); // 8
 * ```
 */
export function minTtlForElectionTimeout(electionTimeoutMs: number): number {
  if (
    typeof electionTimeoutMs !== 'number' ||
    !Number.isFinite(electionTimeoutMs) ||
    electionTimeoutMs <= 0
  ) {
    throw new LeaseError(
      'INVALID_ARGUMENT',
      `election timeout must be a finite number > 0 (ms), got ${String(electionTimeoutMs)}`,
    );
  }
  return Math.max(1, Math.ceil((1.5 * electionTimeoutMs) / 1000));
}

/** Throws `INVALID_ARGUMENT` unless `min` is a usable minimum TTL: an integer in `[1, MAX_LEASE_TTL]`. */
export function checkMinTtl(min: unknown): asserts min is number {
  if (typeof min !== 'number' || !Number.isSafeInteger(min) || min < 1 || min > MAX_LEASE_TTL) {
    throw new LeaseError(
      'INVALID_ARGUMENT',
      `minimum TTL must be an integer in [1, ${MAX_LEASE_TTL}] seconds, got ${String(min)}`,
    );
  }
}

/**
 * Applies the rules above: returns the TTL a grant of `ttlSeconds` gets with minimum `minTtl`,
 * or throws `INVALID_TTL`.
 *
 * @example
 * ```ts
 * normalizeTtl(1, 2);   // 2 (raised to the minimum)
 * normalizeTtl(30, 2);  // 30
 * normalizeTtl(1.5, 2); // throws INVALID_TTL
 * ```
 */
export function normalizeTtl(ttlSeconds: unknown, minTtl: number): number {
  if (typeof ttlSeconds !== 'number' || !Number.isInteger(ttlSeconds) || ttlSeconds < 0) {
    throw new LeaseError(
      'INVALID_TTL',
      `lease TTL must be a non-negative integer number of seconds, got ${String(ttlSeconds)}`,
      { details: { ttl: ttlSeconds } },
    );
  }
  if (ttlSeconds > MAX_LEASE_TTL) {
    throw new LeaseError('INVALID_TTL', `lease TTL ${ttlSeconds} s is above the maximum ${MAX_LEASE_TTL} s`, {
      details: { ttl: ttlSeconds, max: MAX_LEASE_TTL },
    });
  }
  return Math.max(ttlSeconds, minTtl);
}
