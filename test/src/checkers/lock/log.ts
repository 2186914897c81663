import { FieldReader, parseJsonLines } from '../../history/jsonl.js';
import type { JsonObject, JsonValue } from '../../history/types.js';

/**
 * One access attempt at the simulated external resource a lock protects, in the order the
 * resource handled them. The resource keeps the highest token it has accepted and rejects
 * lower ones (Kleppmann's fencing); the checker judges the resource's decisions against the
 * tokens the lock service handed out.
 */
export interface ResourceAccess {
  readonly type: 'access';
  /** Nanoseconds since the run started, on the recorder's clock. */
  readonly time: number;
  /** The client process making the access (the one that acquired the lock). */
  readonly process: number;
  readonly resource: string;
  /** The fencing token presented (the lock key's create revision). */
  readonly token: number;
  readonly accepted: boolean;
}

/**
 * A lock session (its lease) is known to be revoked from `time` on: the test revoked it, or
 * the cluster reported it expired. `revision` is the store revision of the revocation when
 * known (it deleted the session's keys).
 */
export interface SessionRevocation {
  readonly type: 'session-revoked';
  readonly time: number;
  readonly session: string | number;
  readonly revision?: number;
}

/** One line of `lock.jsonl`. */
export type LockLogLine = ResourceAccess | SessionRevocation;

/**
 * Checks one decoded `lock.jsonl` line.
 *
 * @throws VerificationError `LOCK_LOG_MALFORMED` naming `where` and the field.
 */
export function toLockLogLine(obj: JsonObject, where: string): LockLogLine {
  const r = new FieldReader(obj, where, 'LOCK_LOG_MALFORMED');
  const type = r.oneOf('type', ['access', 'session-revoked'] as const);
  if (type === 'access') {
    return {
      type,
      time: r.nonNegative('time'),
      process: r.count('process'),
      resource: r.string('resource'),
      token: r.count('token'),
      accepted: r.boolean('accepted'),
    };
  }
  const revision = r.optionalCount('revision');
  const base = { type, time: r.nonNegative('time'), session: r.id('session') };
  return revision === undefined ? base : { ...base, revision };
}

/**
 * Parses `lock.jsonl` text (blank lines ignored).
 *
 * @throws VerificationError `LOCK_LOG_MALFORMED` naming the line.
 */
export function parseLockLog(text: string): LockLogLine[] {
  return parseJsonLines(text, 'LOCK_LOG_MALFORMED', (obj, line) => toLockLogLine(obj, `line ${line}`));
}

/** A lock log as JSONL text. */
export function formatLockLog(lines: readonly LockLogLine[]): string {
  let out = '';
  for (const l of lines) out += `${JSON.stringify(l as unknown as Record<string, JsonValue>)}\n`;
  return out;
}
