import { VerificationError } from '../../errors.js';
import type { HistoryEvent, JsonValue, Operation } from '../../history/types.js';
import { pairOperations } from '../../history/validate.js';
import { type CheckResult, formatNanos, requireNonNegative, show } from '../result.js';

/** A lease id as the history carries it. */
export type LeaseId = string | number;

/**
 * Lease anomalies.
 * - `early-revocation`: the lease was observed gone (a keep-alive answered "not found" or a TTL
 *   of 0, or a key attached to it read as absent) before its TTL had elapsed since the invoke
 *   of its last successful grant or keep-alive, minus the clock-skew allowance, with no client
 *   revoke in flight.
 * - `key-readable-after-revoke`: a read invoked after the lease was known gone returned a value
 *   put under that lease.
 * - `keepalive-after-revoke`: a keep-alive invoked after the lease was known gone succeeded.
 * - `put-on-revoked-lease`: a put attached to the lease, invoked after it was known gone,
 *   succeeded.
 */
export type LeaseAnomaly =
  | {
      readonly type: 'early-revocation';
      readonly message: string;
      readonly lease: LeaseId;
      /** The operation that observed the lease gone, and when it completed. */
      readonly observedBy: number;
      readonly observedAt: number;
      /** The refresh whose TTL had not elapsed, and until when the lease had to live. */
      readonly refreshedBy: number;
      readonly deadline: number;
    }
  | {
      readonly type: 'key-readable-after-revoke' | 'keepalive-after-revoke' | 'put-on-revoked-lease';
      readonly message: string;
      readonly lease: LeaseId;
      readonly opId: number;
      /** When the lease was first known gone, and by which operation. */
      readonly knownGoneAt: number;
      readonly knownGoneBy: number;
    };

/** Options of {@link checkLeases}. */
export interface LeaseOptions {
  /**
   * Nanoseconds by which the cluster may expire a lease earlier than the client's clock says
   * its TTL runs out. Covers the rate difference between the client's and the leader's clocks
   * over one TTL (drift × TTL) and any step the cluster's clocks may take. Default 0: the
   * simulation's clocks are exact unless a skew nemesis runs; a real run should pass its
   * nemesis' bound.
   */
  readonly clockSkewNs?: number;
}

/** Counters of a lease check. */
export interface LeaseStats {
  readonly leases: number;
  readonly refreshes: number;
  readonly observations: number;
  readonly reads: number;
}

/** The result of {@link checkLeases}. */
export type LeaseResult = CheckResult<'lease', LeaseAnomaly, LeaseStats>;

interface LeaseFacts {
  readonly id: LeaseId;
  readonly refreshes: { readonly opId: number; readonly invoked: number; readonly ttlNs: number }[];
  /** Earliest invoke of a revoke that may have happened (ok or info). */
  revokeInvoked: number;
  /** Completions proving the lease gone: ok revoke, keep-alive "not found", absent key. */
  readonly gone: { readonly opId: number; readonly at: number; readonly byClient: boolean }[];
}

function bad(op: Operation, message: string): VerificationError {
  return new VerificationError('HISTORY_MALFORMED', `${op.f} #${op.invoke.index}: ${message}`, {
    details: { reason: 'bad-lease-value', index: op.invoke.index, process: op.process },
  });
}

function obj(op: Operation, v: JsonValue): Record<string, JsonValue> {
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    throw bad(op, `value must be an object, got ${show(v)}`);
  return v as Record<string, JsonValue>;
}

function leaseOf(op: Operation, v: JsonValue): LeaseId {
  const id = obj(op, v).lease;
  if (typeof id !== 'string' && typeof id !== 'number') throw bad(op, 'value needs a "lease" id');
  return id;
}

function ttlOf(op: Operation, v: JsonValue): number {
  const ttl = obj(op, v).ttl;
  if (typeof ttl !== 'number' || !Number.isFinite(ttl))
    throw bad(op, 'value needs a numeric "ttl" (seconds)');
  return ttl;
}

/**
 * Checks a lease workload from what clients observed. Functions and value shapes:
 * - `grant`: invoke `{"ttl": s}`, ok `{"lease": id, "ttl": s}`;
 * - `keepalive`: invoke `{"lease": id}`, ok `{"lease": id, "ttl": s}` (a TTL ≤ 0 means the
 *   lease was not found, as etcd answers); a `fail` with `"error": "LEASE_NOT_FOUND"` too;
 * - `revoke`: invoke `{"lease": id}`;
 * - `put`: invoke `{"key": k, "value": v, "lease": id}`;
 * - `read`: the register workload's `[key, v | null]`.
 * TTLs are in seconds (etcd's unit); times are the history's nanoseconds. A key counts as
 * attached to a lease when every put to it names that lease (use one key per lease).
 *
 * @throws VerificationError `HISTORY_MALFORMED` for a value of the wrong shape;
 *   `INVALID_OPTION` for a negative skew.
 */
export function checkLeases(history: readonly HistoryEvent[], options: LeaseOptions = {}): LeaseResult {
  const skew = requireNonNegative('clockSkewNs', options.clockSkewNs ?? 0);
  const ops = pairOperations(history);
  const leases = new Map<string, LeaseFacts>();
  const lease = (id: LeaseId): LeaseFacts => {
    const k = JSON.stringify(id);
    let f = leases.get(k);
    if (f === undefined) {
      f = { id, refreshes: [], revokeInvoked: Number.POSITIVE_INFINITY, gone: [] };
      leases.set(k, f);
    }
    return f;
  };
  // Keys: the lease of their puts (null when puts disagree) and the values put.
  const keys = new Map<string, { lease: string | null; values: Set<string>; firstPut: number }>();
  let refreshes = 0;
  let observations = 0;
  let reads = 0;

  for (const op of ops) {
    if (op.f === 'grant' && op.type === 'ok') {
      lease(leaseOf(op, op.completion.value)).refreshes.push({
        opId: op.id,
        invoked: op.invoke.time,
        ttlNs: ttlOf(op, op.completion.value) * 1e9,
      });
      refreshes++;
    } else if (op.f === 'keepalive') {
      const f = lease(leaseOf(op, op.invoke.value));
      const notFound =
        (op.type === 'ok' && ttlOf(op, op.completion.value) <= 0) ||
        (op.type === 'fail' && op.completion.error === 'LEASE_NOT_FOUND');
      if (notFound) {
        f.gone.push({ opId: op.id, at: op.completion.time, byClient: false });
        observations++;
      } else if (op.type === 'ok') {
        f.refreshes.push({
          opId: op.id,
          invoked: op.invoke.time,
          ttlNs: ttlOf(op, op.completion.value) * 1e9,
        });
        refreshes++;
      }
    } else if (op.f === 'revoke') {
      const f = lease(leaseOf(op, op.invoke.value));
      if (op.type !== 'fail') f.revokeInvoked = Math.min(f.revokeInvoked, op.invoke.time);
      if (op.type === 'ok') f.gone.push({ opId: op.id, at: op.completion.time, byClient: true });
    } else if (op.f === 'put' && op.type !== 'fail') {
      const v = obj(op, op.invoke.value);
      const id = JSON.stringify(leaseOf(op, op.invoke.value));
      const key = String(v.key);
      const k = keys.get(key) ?? { lease: id, values: new Set<string>(), firstPut: Number.POSITIVE_INFINITY };
      if (k.lease !== id) k.lease = null;
      k.values.add(JSON.stringify(v.value ?? null));
      if (op.type === 'ok') k.firstPut = Math.min(k.firstPut, op.completion.time);
      keys.set(key, k);
    }
  }

  // Reads: an absent attached key proves its lease gone.
  const presence: { op: Operation; lease: string }[] = [];
  for (const op of ops) {
    if (op.f !== 'read' || op.type !== 'ok' || !Array.isArray(op.completion.value)) continue;
    reads++;
    const [rawKey, value] = op.completion.value as readonly JsonValue[];
    const k = keys.get(String(rawKey));
    if (k === undefined || k.lease === null) continue;
    const f = leases.get(k.lease);
    if (f === undefined) continue;
    if (value === null || value === undefined) {
      if (op.invoke.time > k.firstPut) {
        f.gone.push({ opId: op.id, at: op.completion.time, byClient: false });
        observations++;
      }
    } else if (k.values.has(JSON.stringify(value))) {
      presence.push({ op, lease: k.lease });
    }
  }

  const anomalies: LeaseAnomaly[] = [];
  for (const f of leases.values()) {
    for (const g of f.gone) {
      if (g.byClient || f.revokeInvoked < g.at) continue;
      let best: { opId: number; deadline: number } | null = null;
      for (const r of f.refreshes) {
        if (r.invoked >= g.at) continue;
        const deadline = r.invoked + r.ttlNs - skew;
        if (best === null || deadline > best.deadline) best = { opId: r.opId, deadline };
      }
      if (best === null || g.at >= best.deadline) continue;
      anomalies.push({
        type: 'early-revocation',
        lease: f.id,
        observedBy: g.opId,
        observedAt: g.at,
        refreshedBy: best.opId,
        deadline: best.deadline,
        message:
          `lease ${show(f.id)} was seen gone by T${g.opId} at ${formatNanos(g.at)}, but T${best.opId}'s refresh ` +
          `keeps it alive until ${formatNanos(best.deadline)} (TTL from its invoke${skew > 0 ? `, minus ${formatNanos(skew)} skew` : ''})`,
      });
    }
  }

  const knownGone = new Map<string, { at: number; by: number }>();
  for (const [k, f] of leases) {
    for (const g of f.gone) {
      const cur = knownGone.get(k);
      if (cur === undefined || g.at < cur.at) knownGone.set(k, { at: g.at, by: g.opId });
    }
  }
  const after = (
    type: 'key-readable-after-revoke' | 'keepalive-after-revoke' | 'put-on-revoked-lease',
    op: Operation,
    leaseKey: string,
    what: string,
  ): void => {
    const gone = knownGone.get(leaseKey);
    const f = leases.get(leaseKey);
    if (gone === undefined || f === undefined || op.invoke.time <= gone.at) return;
    anomalies.push({
      type,
      lease: f.id,
      opId: op.id,
      knownGoneAt: gone.at,
      knownGoneBy: gone.by,
      message: `T${op.id} ${what} at ${formatNanos(op.invoke.time)}, after lease ${show(f.id)} was known gone (T${gone.by}, ${formatNanos(gone.at)})`,
    });
  };
  for (const p of presence)
    after('key-readable-after-revoke', p.op, p.lease, `read ${show(p.op.completion.value)}`);
  for (const op of ops) {
    if (op.type !== 'ok') continue;
    if (op.f === 'keepalive' && ttlOf(op, op.completion.value) > 0) {
      after(
        'keepalive-after-revoke',
        op,
        JSON.stringify(leaseOf(op, op.invoke.value)),
        'kept the lease alive',
      );
    } else if (op.f === 'put') {
      after(
        'put-on-revoked-lease',
        op,
        JSON.stringify(leaseOf(op, op.invoke.value)),
        'put a key under the lease',
      );
    }
  }

  return {
    checker: 'lease',
    valid: anomalies.length === 0,
    anomalies,
    stats: { leases: leases.size, refreshes, observations, reads },
  };
}

/** The human explanation of a lease result. */
export function formatLeases(result: LeaseResult): string {
  const s = result.stats;
  const lines = [
    `lease (never revoked early, gone for good once revoked): ${result.valid === true ? 'VALID' : 'INVALID'}`,
    `  ${s.leases} leases, ${s.refreshes} grants and keep-alives, ${s.observations} observations of a lease gone, ${s.reads} reads`,
  ];
  for (const a of result.anomalies) lines.push(`  ${a.type}: ${a.message}`);
  return lines.join('\n');
}
