import { VerificationError } from '../../errors.js';
import type { HistoryEvent, JsonValue, Operation } from '../../history/types.js';
import { pairOperations } from '../../history/validate.js';
import { type CheckResult, formatNanos, show } from '../result.js';
import type { ResourceAccess, SessionRevocation } from './log.js';

/** An `acquire` that completed `ok`. */
interface Grant {
  readonly op: Operation;
  readonly lock: string;
  readonly session: string | number;
  readonly token: number;
}

/**
 * Lock anomalies.
 * - `stale-token-accepted`: the resource accepted a token lower than one it had already
 *   accepted: two holders' accesses interleaved out of token order, which fencing exists to
 *   prevent.
 * - `duplicate-token`: two `ok` acquires of one lock returned the same fencing token.
 * - `token-order`: an acquire invoked after another completed got a lower or equal token
 *   (tokens are revisions, so a later lock must get a larger one).
 * - `lock-after-revoke`: `lock()` returned success for a session already revoked: invoked
 *   after the revocation was known, or granted at a revision at or after the revocation's
 *   (etcd 3.4.3's bug in Jepsen's analysis: a lock granted to an expired lease).
 * - `unknown-token`: the resource accepted a token no acquire ever returned.
 */
export type LockAnomaly =
  | {
      readonly type: 'stale-token-accepted';
      readonly message: string;
      readonly access: ResourceAccess;
      readonly previous: ResourceAccess;
    }
  | {
      readonly type: 'duplicate-token';
      readonly message: string;
      readonly lock: string;
      readonly token: number;
      readonly opIds: readonly number[];
    }
  | {
      readonly type: 'token-order';
      readonly message: string;
      readonly lock: string;
      readonly earlier: { readonly opId: number; readonly token: number };
      readonly later: { readonly opId: number; readonly token: number };
    }
  | {
      readonly type: 'lock-after-revoke';
      readonly message: string;
      readonly opId: number;
      readonly session: string | number;
      readonly revocation: SessionRevocation;
    }
  | { readonly type: 'unknown-token'; readonly message: string; readonly access: ResourceAccess };

/** Counters of a lock check. */
export interface LockStats {
  readonly acquires: number;
  readonly granted: number;
  readonly accesses: number;
  readonly accepted: number;
  readonly revocations: number;
}

/** The result of {@link checkLocks}. */
export type LockResult = CheckResult<'lock', LockAnomaly, LockStats>;

/** The inputs of {@link checkLocks}. */
export interface LockCheckInput {
  /** Client history with `acquire` / `release` operations (other functions are ignored). */
  readonly history: readonly HistoryEvent[];
  /** The resource's access log, in the order the resource handled them. */
  readonly accesses: readonly ResourceAccess[];
  readonly revocations: readonly SessionRevocation[];
}

function field(op: Operation, v: JsonValue, name: string): JsonValue | undefined {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    throw new VerificationError('HISTORY_MALFORMED', `${op.f} #${op.invoke.index}: value must be an object`, {
      details: { reason: 'bad-lock-value', index: op.invoke.index, process: op.process },
    });
  }
  return (v as Record<string, JsonValue>)[name];
}

function decodeGrant(op: Operation): Grant | undefined {
  if (op.f !== 'acquire') return undefined;
  const lock = field(op, op.invoke.value, 'lock');
  const session = field(op, op.invoke.value, 'session');
  if (typeof lock !== 'string' || (typeof session !== 'string' && typeof session !== 'number')) {
    throw new VerificationError(
      'HISTORY_MALFORMED',
      `acquire #${op.invoke.index}: value must be {"lock": string, "session": id}`,
      { details: { reason: 'bad-lock-value', index: op.invoke.index, process: op.process } },
    );
  }
  if (op.type !== 'ok') return undefined;
  const token = field(op, op.completion.value, 'token');
  if (typeof token !== 'number' || !Number.isSafeInteger(token)) {
    throw new VerificationError(
      'HISTORY_MALFORMED',
      `acquire #${op.invoke.index}: an ok acquire needs a "token"`,
      {
        details: { reason: 'bad-lock-value', index: op.completion.index, process: op.process },
      },
    );
  }
  return { op, lock, session, token };
}

/**
 * Checks a lock workload: the fencing tokens the lock service handed out, how the protected
 * resource treated them, and whether a lock was granted to a revoked session. Two holders at
 * once are expected under pauses and partitions (a lease can expire under a paused holder);
 * what must never happen is the resource accepting the older holder after the newer one.
 *
 * @throws VerificationError `HISTORY_MALFORMED` if the history breaks the format or an
 *   acquire's value has the wrong shape.
 */
export function checkLocks(input: LockCheckInput): LockResult {
  const anomalies: LockAnomaly[] = [];
  let acquires = 0;
  const grants: Grant[] = [];
  for (const op of pairOperations(input.history)) {
    if (op.f === 'acquire') acquires++;
    const g = decodeGrant(op);
    if (g !== undefined) grants.push(g);
  }

  // Tokens per lock: unique, and increasing in real time.
  const byLock = new Map<string, Grant[]>();
  for (const g of grants) byLock.set(g.lock, [...(byLock.get(g.lock) ?? []), g]);
  for (const [lock, gs] of byLock) {
    const byToken = new Map<number, Grant[]>();
    for (const g of gs) byToken.set(g.token, [...(byToken.get(g.token) ?? []), g]);
    for (const [token, same] of byToken) {
      if (same.length < 2) continue;
      anomalies.push({
        type: 'duplicate-token',
        lock,
        token,
        opIds: same.map((g) => g.op.id),
        message: `lock ${show(lock)}: token ${token} was granted to ${same.map((g) => `T${g.op.id}`).join(' and ')}`,
      });
    }
    for (const a of gs) {
      for (const b of gs) {
        if (a.op.completion.index < b.op.invoke.index && a.token >= b.token) {
          anomalies.push({
            type: 'token-order',
            lock,
            earlier: { opId: a.op.id, token: a.token },
            later: { opId: b.op.id, token: b.token },
            message:
              `lock ${show(lock)}: T${b.op.id} was invoked after T${a.op.id} completed with token ${a.token}, ` +
              `yet got token ${b.token}`,
          });
        }
      }
    }
  }

  // No lock granted to a session known to be revoked.
  for (const g of grants) {
    for (const r of input.revocations) {
      if (JSON.stringify(r.session) !== JSON.stringify(g.session)) continue;
      const granted = g.op.completion.revision;
      const invokedAfter = g.op.invoke.time > r.time;
      const grantedAfter = r.revision !== undefined && granted !== undefined && granted >= r.revision;
      if (!invokedAfter && !grantedAfter) continue;
      anomalies.push({
        type: 'lock-after-revoke',
        opId: g.op.id,
        session: g.session,
        revocation: r,
        message: invokedAfter
          ? `T${g.op.id} locked ${show(g.lock)} for session ${show(g.session)}, invoked at ${formatNanos(g.op.invoke.time)}, ` +
            `after the session was revoked at ${formatNanos(r.time)}`
          : `T${g.op.id} locked ${show(g.lock)} for session ${show(g.session)} at revision ${granted}, ` +
            `at or after the session's revocation at revision ${r.revision}`,
      });
    }
  }

  // The resource: accepted tokens never go down; every accepted token was granted.
  const granted = new Set(grants.map((g) => g.token));
  const highest = new Map<string, ResourceAccess>();
  for (const a of input.accesses) {
    if (!a.accepted) continue;
    if (!granted.has(a.token)) {
      anomalies.push({
        type: 'unknown-token',
        access: a,
        message: `resource ${show(a.resource)} accepted token ${a.token} from process ${a.process}, which no acquire returned`,
      });
    }
    const prev = highest.get(a.resource);
    if (prev !== undefined && a.token < prev.token) {
      anomalies.push({
        type: 'stale-token-accepted',
        access: a,
        previous: prev,
        message:
          `resource ${show(a.resource)} accepted token ${a.token} from process ${a.process} at ${formatNanos(a.time)} ` +
          `after accepting token ${prev.token} from process ${prev.process} at ${formatNanos(prev.time)}`,
      });
    }
    if (prev === undefined || a.token > prev.token) highest.set(a.resource, a);
  }

  return {
    checker: 'lock',
    valid: anomalies.length === 0,
    anomalies,
    stats: {
      acquires,
      granted: grants.length,
      accesses: input.accesses.length,
      accepted: input.accesses.filter((a) => a.accepted).length,
      revocations: input.revocations.length,
    },
  };
}

/** The human explanation of a lock result. */
export function formatLocks(result: LockResult): string {
  const s = result.stats;
  const word = result.valid === true ? 'VALID' : 'INVALID';
  const lines = [
    `lock (fencing tokens, session re-check): ${word}`,
    `  ${s.acquires} acquires (${s.granted} granted), ${s.accesses} resource accesses (${s.accepted} accepted), ` +
      `${s.revocations} session revocations`,
  ];
  for (const a of result.anomalies) lines.push(`  ${a.type}: ${a.message}`);
  return lines.join('\n');
}
