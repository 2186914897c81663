import { FlotillaError, type FlotillaErrorOptions, isFlotillaError } from '@flotilla/errors';

/**
 * The codes `@flotilla/kv` rejects with. Stable public API: callers branch on `err.code`.
 *
 * Bad requests (refused before anything is proposed or read; nothing changed):
 * - `INVALID_ARGUMENT`: a value of the wrong type or outside its domain.
 * - `EMPTY_KEY`: an empty key (etcd's "key is not provided").
 * - `KEY_TOO_LARGE`, `VALUE_TOO_LARGE`: over `limits.maxKeyBytes` / `limits.maxValueBytes`.
 * - `REQUEST_TOO_LARGE`: the encoded request is over `limits.maxRequestBytes` (etcd's
 *   `--max-request-bytes`, default 1.5 MiB; "etcdserver: request is too large").
 * - `TOO_MANY_OPS`: a transaction branch or compare list over `limits.maxTxnOps` (etcd's
 *   `--max-txn-ops`, default 128).
 * - `NOT_LEADER`: only `promoteMember` on a follower (the readiness check needs the leader's view
 *   of the learner's progress); `details.leaderId` names the leader (0 if none is known). Every
 *   KV request is served by every member, so no other call rejects with it.
 * - `TOO_MANY_REQUESTS` (network only): the connection already has as many requests in flight or
 *   streams open as the server allows (etcd's "too many requests"); nothing was done.
 * - `RESPONSE_TOO_LARGE` (network only): the answer would exceed the client's frame limit;
 *   nothing was read (narrow the range or raise `maxResponseBytes`).
 * - `VALUE_PROVIDED`, `LEASE_PROVIDED`: `ignoreValue` with a value, `ignoreLease` with a lease.
 * - `INVALID_TTL`: a lease TTL that is not an integer number of seconds in range.
 *
 * Deterministic failures decided when the command is applied (every member decides alike;
 * the store is unchanged):
 * - `KEY_NOT_FOUND` (`ignoreValue`/`ignoreLease` on a missing key), `DUPLICATE_KEY` (a txn writes
 *   a key twice), `LEASE_NOT_FOUND`, `LEASE_EXISTS`, `COMPACTED`, `FUTURE_REVISION`.
 *
 * Outcomes of a request:
 * - `OUTCOME_UNKNOWN`: a write timed out, was aborted, or the node stopped AFTER it may have
 *   been proposed: it may have taken effect, or may still (Jepsen's "indeterminate", `info`).
 *   Never used for a request that certainly did not happen.
 * - `TIMEOUT`: the deadline passed and the request certainly did not take effect (a read, or
 *   a write that never reached the log because no leader was known).
 * - `ABORTED`: the caller's `AbortSignal` fired before the request could take effect.
 * - `STOPPED`: the node is stopped (or stopping) and the request was not started.
 * - `UNAVAILABLE`: the member cannot serve right now (it was removed from the cluster, or its
 *   replica failed); try another member.
 *
 * Cluster administration:
 * - `MEMBER_NOT_FOUND`, `MEMBER_EXISTS`: the member id is unknown / already in use (or, for an
 *   add, the peer URL is).
 * - `MEMBER_NOT_LEARNER`: promoting a member that is already a voter.
 * - `LEARNER_NOT_READY`: promoting a learner whose log is far behind the leader's (etcd's rule:
 *   below 90% of the leader's match index).
 * - `CONF_CHANGE_REJECTED`: the cluster refused the membership change (another one pending,
 *   removing the last voter, ...).
 *
 * Internal integrity (the node stops rather than diverge):
 * - `CORRUPT_COMMAND`: a log entry does not decode as a command of a known format version.
 * - `CORRUPT_SNAPSHOT`: a state machine snapshot is truncated, fails its checksum or is malformed.
 */
export type KvErrorCode =
  | 'INVALID_ARGUMENT'
  | 'EMPTY_KEY'
  | 'KEY_TOO_LARGE'
  | 'VALUE_TOO_LARGE'
  | 'REQUEST_TOO_LARGE'
  | 'TOO_MANY_OPS'
  | 'VALUE_PROVIDED'
  | 'LEASE_PROVIDED'
  | 'INVALID_TTL'
  | 'KEY_NOT_FOUND'
  | 'DUPLICATE_KEY'
  | 'LEASE_NOT_FOUND'
  | 'LEASE_EXISTS'
  | 'COMPACTED'
  | 'FUTURE_REVISION'
  | 'OUTCOME_UNKNOWN'
  | 'TIMEOUT'
  | 'ABORTED'
  | 'STOPPED'
  | 'UNAVAILABLE'
  | 'MEMBER_NOT_FOUND'
  | 'MEMBER_EXISTS'
  | 'MEMBER_NOT_LEARNER'
  | 'LEARNER_NOT_READY'
  | 'NOT_LEADER'
  | 'CONF_CHANGE_REJECTED'
  | 'CORRUPT_COMMAND'
  | 'CORRUPT_SNAPSHOT'
  | 'TOO_MANY_REQUESTS'
  | 'RESPONSE_TOO_LARGE';

/** Every error `@flotilla/kv` rejects with on purpose. */
export class KvError extends FlotillaError {
  declare readonly code: KvErrorCode;
  constructor(code: KvErrorCode, message: string, options?: FlotillaErrorOptions) {
    super(code, message, options);
  }
}

/** The codes a deterministic apply-time failure may carry (see {@link KvErrorCode}). */
const APPLY_CODES: ReadonlySet<string> = new Set<KvErrorCode>([
  'INVALID_ARGUMENT',
  'EMPTY_KEY',
  'VALUE_PROVIDED',
  'LEASE_PROVIDED',
  'INVALID_TTL',
  'KEY_NOT_FOUND',
  'DUPLICATE_KEY',
  'LEASE_NOT_FOUND',
  'LEASE_EXISTS',
  'COMPACTED',
  'FUTURE_REVISION',
]);

/**
 * The code of an error thrown by mvcc or the lessor while applying a command, when it is one of
 * their documented deterministic failures; undefined for anything else (a bug: the caller lets
 * it stop the replica rather than guess).
 */
export function applyFailureCode(err: unknown): KvErrorCode | undefined {
  if (!isFlotillaError(err)) return undefined;
  return APPLY_CODES.has(err.code) ? (err.code as KvErrorCode) : undefined;
}

/** `INVALID_ARGUMENT` with `message`. */
export function invalid(message: string): KvError {
  return new KvError('INVALID_ARGUMENT', message);
}
