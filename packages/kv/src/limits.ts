/**
 * Request size limits, checked at the API boundary before anything is proposed. The defaults
 * are etcd 3.4's: a request (its encoded command) of at most 1.5 MiB (`--max-request-bytes`)
 * and at most 128 operations per transaction branch (`--max-txn-ops`). etcd has no separate
 * key or value limit (the request limit bounds both); Flotilla offers them for hosts that want
 * tighter bounds, defaulting to the request limit.
 */
import { invalid } from './errors.js';

/** Request limits of a node (see the module notes for the defaults). */
export interface KvLimits {
  /** Largest encoded command in bytes. Default 1,572,864 (1.5 MiB, etcd). */
  readonly maxRequestBytes: number;
  /** Largest key (or range end) in bytes. Default: `maxRequestBytes`. */
  readonly maxKeyBytes: number;
  /** Largest value in bytes. Default: `maxRequestBytes`. */
  readonly maxValueBytes: number;
  /** Most compares, and most operations per branch, of one (nested) transaction. Default 128. */
  readonly maxTxnOps: number;
}

/** etcd's `--max-request-bytes` default: 1.5 MiB. */
export const DEFAULT_MAX_REQUEST_BYTES = 1.5 * 1024 * 1024;
/** etcd's `--max-txn-ops` default. */
export const DEFAULT_MAX_TXN_OPS = 128;

function positive(name: string, v: unknown, dflt: number): number {
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1) {
    throw invalid(`limits.${name} must be a positive integer, got ${String(v)}`);
  }
  return v;
}

/** Fills in the defaults of a partial set of limits; throws `INVALID_ARGUMENT` on a bad one. */
export function resolveLimits(partial: Partial<KvLimits> | undefined): KvLimits {
  if (partial !== undefined && (typeof partial !== 'object' || partial === null)) {
    throw invalid('limits must be an object');
  }
  const p = partial ?? {};
  const maxRequestBytes = positive('maxRequestBytes', p.maxRequestBytes, DEFAULT_MAX_REQUEST_BYTES);
  return Object.freeze({
    maxRequestBytes,
    maxKeyBytes: positive('maxKeyBytes', p.maxKeyBytes, maxRequestBytes),
    maxValueBytes: positive('maxValueBytes', p.maxValueBytes, maxRequestBytes),
    maxTxnOps: positive('maxTxnOps', p.maxTxnOps, DEFAULT_MAX_TXN_OPS),
  });
}
