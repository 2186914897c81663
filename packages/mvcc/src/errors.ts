import { FlotillaError, type FlotillaErrorOptions } from '@flotilla/errors';

/**
 * The codes `@flotilla/mvcc` throws. Stable public API: callers branch on them. Every error
 * leaves the store exactly as it was (a failed transaction applies nothing).
 *
 * - `EMPTY_KEY`: a key (of a put, range, delete, compare or watch) is empty (etcd's "key is
 *   not provided").
 * - `KEY_NOT_FOUND`: `ignoreValue` or `ignoreLease` on a key that does not exist (etcd's "key
 *   not found"), including a key deleted earlier in the same transaction (a case that makes
 *   etcd 3.4.23 panic).
 * - `VALUE_PROVIDED`: `ignoreValue` together with a non-empty value.
 * - `LEASE_PROVIDED`: `ignoreLease` together with a lease.
 * - `LEASE_NOT_FOUND`: a put names a lease the `leaseExists` hook does not know.
 * - `COMPACTED`: the requested revision is below the compacted revision (for `compact` and
 *   `hashKV`: at or below it).
 * - `FUTURE_REVISION`: the requested revision is above the current revision.
 * - `DUPLICATE_KEY`: a transaction writes the same key twice (etcd's interval check).
 * - `CORRUPT_SNAPSHOT`: `restore` was given bytes that are truncated, fail the checksum or do
 *   not describe a consistent store.
 * - `INVALID_ARGUMENT`: a value of the wrong type or out of its domain (not bytes, not a safe
 *   integer, an unknown sort order, ...).
 */
export type MvccErrorCode =
  | 'EMPTY_KEY'
  | 'KEY_NOT_FOUND'
  | 'VALUE_PROVIDED'
  | 'LEASE_PROVIDED'
  | 'LEASE_NOT_FOUND'
  | 'COMPACTED'
  | 'FUTURE_REVISION'
  | 'DUPLICATE_KEY'
  | 'CORRUPT_SNAPSHOT'
  | 'INVALID_ARGUMENT';

/** Every error `@flotilla/mvcc` throws on purpose. */
export class MvccError extends FlotillaError {
  declare readonly code: MvccErrorCode;
  constructor(code: MvccErrorCode, message: string, options?: FlotillaErrorOptions) {
    super(code, message, options);
  }
}
