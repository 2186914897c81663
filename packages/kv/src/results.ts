/**
 * Turning what the replica and the state machine report into what a caller gets: a response,
 * or a `KvError` with a stable code.
 */
import { isFlotillaError } from '@flotilla/errors';
import { KvError, type KvErrorCode } from './errors.js';
import type { KvResult } from './state-machine.js';

/** The codes of lower layers a caller may see unchanged (as a `KvError` with the same code). */
const PASS_THROUGH: ReadonlySet<string> = new Set<KvErrorCode>([
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
  'CONF_CHANGE_REJECTED',
  'TIMEOUT',
  'ABORTED',
]);

/**
 * `err` as a `KvError`: a `KvError` as is; a mvcc, lease or replica error whose code the kv
 * package documents, re-raised as a `KvError` with that code (the original as `cause`); a
 * replica `STOPPED` as `STOPPED`; anything else unchanged.
 */
export function toKvError(err: unknown): unknown {
  if (err instanceof KvError || !isFlotillaError(err)) return err;
  if (PASS_THROUGH.has(err.code) || err.code === 'STOPPED') {
    return new KvError(err.code as KvErrorCode, err.message, { cause: err, details: err.details });
  }
  return err;
}

/**
 * The result of a command of kind `type`, or the typed rejection a deterministic failure
 * stands for (it was applied everywhere and changed nothing).
 */
export function expectResult<T extends KvResult['type']>(
  r: KvResult,
  type: T,
): Extract<KvResult, { type: T }> {
  if (r.type === 'failed') throw new KvError(r.code, r.message, { details: { revision: r.revision } });
  if (r.type !== type) throw new Error(`internal error: a ${type} command produced a ${r.type} result`);
  return r as Extract<KvResult, { type: T }>;
}
