/**
 * `@flotilla/lease`: leases, sessions, locks with fencing tokens, and leader election.
 *
 * Two halves:
 * - Server side, inside the replicated service: {@link Lessor} (deterministic lease table,
 *   applied from the Raft log next to the mvcc store) and {@link LeaseTimer} (leader-only
 *   deadlines on a monotonic clock, which propose revokes and checkpoints through Raft).
 * - Client side, over any {@link KvLike}: {@link Session} (a lease kept alive), {@link lock}
 *   (a lock whose holder gets a fencing token, and `guard()` for writes that must only happen
 *   while the lock is held) and {@link Election}.
 *
 * The lock never reports success to a waiter whose session expired while it waited (the bug
 * Jepsen found in etcd 3.4.3), and hands out fencing tokens, because a lock alone cannot protect
 * a resource outside the store from a holder that pauses past its lease.
 *
 * @example
 * ```ts
 * import { lock, Session } from '@flotilla/lease';
 * import { createLocalKv, ManualClock } from '@flotilla/lease/testing';
 *
 * const clock = new ManualClock();
 * const kv = createLocalKv({ clock });
 * const session = await Session.create(kv, { ttl: 10, clock });
 * const held = await lock(kv, 'reports', { session });
 * console.log(held.fencingToken); // the lock key's createRevision
 * await held.unlock();
 * await session.close();
 * kv.close();
 * ```
 *
 * @packageDocumentation
 */
export { applyCheckpoints, applyRevoke } from './apply.js';
export { type Clock, systemClock } from './clock.js';
export {
  Election,
  type ElectionLeader,
  type ElectionOptions,
  type ElectionWaitOptions,
} from './election.js';
export { LeaseError, type LeaseErrorCode } from './errors.js';
export type {
  DeleteRangeResponse,
  KvDeleteOptions,
  KvGetOptions,
  KvLike,
  KvWatch,
  LeaseGrantResponse,
  LeaseKeepAliveResponse,
  LeaseRevokeResponse,
  LeaseTimeToLiveResponse,
  PutResponse,
  RangeResponse,
  ResponseHeader,
  TxnResponse,
  WithHeader,
} from './kv-like.js';
export {
  type LeaseCheckpoint,
  LeaseTimer,
  type LeaseTimerOptions,
  type LessorView,
} from './lease-timer.js';
export {
  type LeaseInfo,
  type LeaseStore,
  type LeaseTimeToLive,
  Lessor,
  type LessorEvent,
  type LessorListener,
  type LessorOptions,
  type RevokeResult,
} from './lessor.js';
export { type LockHandle, type LockOptions, lock } from './lock.js';
export { Session, type SessionEndReason, type SessionOptions } from './session.js';
export {
  DEFAULT_MIN_TTL,
  MAX_LEASE_TTL,
  minTtlForElectionTimeout,
  normalizeTtl,
} from './ttl.js';
