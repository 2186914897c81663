/**
 * Errors across the wire. The server turns whatever a node call rejects with into a
 * {@link WireError} (code, message, plain details); the client turns it back into a `KvError`
 * with the same code, so a caller branches on `err.code` the same way in-process and remote.
 *
 * The network layer uses the node's codes (`KvErrorCode`), including the two only it produces
 * ({@link NetErrorCode}).
 */
import { isFlotillaError } from '@flotilla/errors';
import { KvError, type KvErrorCode } from '../errors.js';
import type { WireError } from './protocol.js';

/**
 * Codes only the network layer produces:
 * - `TOO_MANY_REQUESTS`: the connection has as many requests in flight or streams open as the
 *   server allows (etcd's "too many requests"); nothing was done, retry later.
 * - `RESPONSE_TOO_LARGE`: the answer would exceed the client's frame limit; nothing was read
 *   (narrow the range or raise `maxResponseBytes`).
 */
export type NetErrorCode = Extract<KvErrorCode, 'TOO_MANY_REQUESTS' | 'RESPONSE_TOO_LARGE'>;

/** A `KvError` with a node or network code. */
export function netError(
  code: KvErrorCode | NetErrorCode,
  message: string,
  details?: Record<string, unknown>,
  cause?: unknown,
): KvError {
  return new KvError(code, message, {
    ...(details === undefined ? {} : { details }),
    ...(cause === undefined ? {} : { cause }),
  });
}

/** Keeps only the plain fields of an error's details (nothing else can cross the wire). */
function plainDetails(details: unknown): Record<string, string | number | boolean> | undefined {
  if (typeof details !== 'object' || details === null) return undefined;
  const out: Record<string, string | number | boolean> = {};
  let any = false;
  for (const [k, v] of Object.entries(details)) {
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') {
      out[k] = v;
      any = true;
    }
  }
  return any ? out : undefined;
}

/**
 * `err` (anything a node call threw) as a wire error. A `FlotillaError` keeps its code; anything
 * else is a bug in the member and travels as `INTERNAL`, which the client reports as
 * `OUTCOME_UNKNOWN` for a write (it may have been applied) and `UNAVAILABLE` for a read.
 */
export function toWireError(err: unknown): WireError {
  if (isFlotillaError(err)) {
    const details = plainDetails(err.details);
    return details === undefined
      ? { code: err.code, message: err.message }
      : { code: err.code, message: err.message, details };
  }
  const message = err instanceof Error ? err.message : String(err);
  return { code: 'INTERNAL', message: `internal error on the member: ${message}` };
}

/** Checks the shape of a decoded wire error (a server could be anything). */
export function isWireError(v: unknown): v is WireError {
  if (typeof v !== 'object' || v === null) return false;
  const e = v as Record<string, unknown>;
  return typeof e.code === 'string' && typeof e.message === 'string';
}

/** A wire error as the client's `KvError` (`INTERNAL` mapped as {@link toWireError} says). */
export function fromWireError(e: WireError, idempotent: boolean, endpoint: string): KvError {
  const details = plainDetails(e.details) ?? {};
  if (e.code === 'INTERNAL') {
    return idempotent
      ? netError('UNAVAILABLE', `${endpoint}: ${e.message}`, details)
      : netError('OUTCOME_UNKNOWN', `${endpoint}: ${e.message}; the request may have been applied`, details);
  }
  return netError(e.code as KvErrorCode, e.message, details);
}

/**
 * Node codes after which the request certainly was not started on that member and another
 * member may serve it: the member is stopped, failed, or removed, or the call needs the leader
 * (`NOT_LEADER`, only `promoteMember`; see `KvErrorCode`).
 */
export const TRY_ANOTHER_MEMBER: ReadonlySet<string> = new Set(['STOPPED', 'UNAVAILABLE', 'NOT_LEADER']);
