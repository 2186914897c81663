/**
 * A distributed lock with fencing tokens (etcd's `concurrency.Mutex` and `v3lock`, with the fix
 * for the etcd 3.4.3 Jepsen finding). See `queue.ts` for the waiting line and its one-transaction
 * grant, and the README for why holding a lock is not enough to protect anything outside the
 * store: a holder can pause (GC, swap, a stopped VM) past its lease and wake up still believing it
 * holds the lock. Only a token the protected resource checks stops such a holder.
 */
import type { TxnRequest } from '@flotilla/mvcc';
import { toBytes } from './bytes.js';
import { LeaseError } from './errors.js';
import { lockFaultsOf, waitDeletesWithoutRecheck } from './faults.js';
import type { KvLike, TxnResponse } from './kv-like.js';
import { Queue, type QueueEntry } from './queue.js';
import { Session } from './session.js';

/** Options of {@link lock}. */
export interface LockOptions {
  /** The session whose lease the lock key is attached to: the lock dies with it. */
  readonly session: Session;
  /** Cancels the wait: the waiter's key is deleted and `lock` rejects with `ABORTED`. */
  readonly signal?: AbortSignal;
}

/** A held lock. */
export interface LockHandle {
  /** The lock key, `<name>/<leaseId>`. */
  readonly key: Uint8Array;
  /**
   * The fencing token: the lock key's createRevision. Every later holder of the same lock has a
   * strictly larger one. Send it with every write to a protected resource, which must refuse a
   * token smaller than the largest it has seen.
   */
  readonly fencingToken: number;
  /** The session holding it. */
  readonly session: Session;
  /** Releases the lock (deletes the key if it is still this holder's). Idempotent. */
  unlock(): Promise<void>;
  /**
   * Runs `req` as a transaction guarded by this lock: its compares are prefixed with "the lock key
   * still has createRevision = fencingToken". If the lock was lost (expired, revoked, unlocked)
   * the transaction fails (`succeeded: false`, the `failure` branch runs) instead of writing, even
   * if this process was paused for a long time before sending it.
   */
  guard(req: TxnRequest): Promise<TxnResponse>;
}

/**
 * Acquires the lock `name` for `options.session`. The algorithm:
 * 1. create `name/<leaseId>` attached to the session's lease if absent (txn on createRevision = 0);
 * 2. wait, with watches (never polling), until no key under `name/` has a smaller createRevision;
 * 3. in ONE transaction check that the own key still exists with the same createRevision and that
 *    nothing older is queued; only that grants the lock. The token is that createRevision.
 *
 * A session holds a lock once: locking the same name again with the same session while holding it
 * returns the same key and token (the key is per session, as in etcd).
 *
 * @throws LeaseError `LOCK_LOST` when the session's lease was revoked or expired (or its key
 * deleted) before the lock was granted, never a success in that case (etcd 3.4.3's bug);
 * `ABORTED` when `options.signal` fired (the key is deleted first); `INVALID_ARGUMENT`.
 *
 * @example
 * ```ts
 * const session = await Session.create(kv, { ttl: 10, clock });
 * const held = await lock(kv, 'jobs/report', { session });
 * const res = await held.guard({ success: [{ put: { key: 'jobs/report/state', value: 'running' } }] });
 * await held.unlock();
 * ```
 */
export async function lock(kv: KvLike, name: string | Uint8Array, options: LockOptions): Promise<LockHandle> {
  const { session, signal } = checkArgs(kv, name, options);
  if (signal?.aborted === true) throw new LeaseError('ABORTED', 'aborted before locking');
  if (!session.alive) throw new LeaseError('LOCK_LOST', 'the session has already ended');
  const queue = new Queue(kv, lockPrefix(name));
  const entry = await queue.enqueue(session, new Uint8Array(0));
  // Test-only fault (faults.ts): etcd 3.4.3's wait, which never re-checks the session.
  if (lockFaultsOf(kv).skipSessionRecheck) await waitDeletesWithoutRecheck(queue, entry);
  else await queue.waitForTurn(session, entry, signal);
  return new HeldLock(queue, entry, session);
}

/** `name` as a key prefix: its bytes followed by "/". */
export function lockPrefix(name: string | Uint8Array): Uint8Array {
  const bytes = toBytes(name);
  const prefix = new Uint8Array(bytes.length + 1);
  prefix.set(bytes, 0);
  prefix[bytes.length] = 0x2f; // '/'
  return prefix;
}

function checkArgs(kv: KvLike, name: string | Uint8Array, options: LockOptions): LockOptions {
  if (typeof kv?.txn !== 'function' || typeof kv.watch !== 'function') {
    throw new LeaseError('INVALID_ARGUMENT', 'lock needs a KvLike');
  }
  if ((typeof name !== 'string' && !(name instanceof Uint8Array)) || name.length === 0) {
    throw new LeaseError('INVALID_ARGUMENT', 'lock name must be a non-empty string or Uint8Array');
  }
  if (!(options?.session instanceof Session)) {
    throw new LeaseError('INVALID_ARGUMENT', 'lock needs { session }');
  }
  return options;
}

/** The {@link LockHandle} `lock` returns. */
class HeldLock implements LockHandle {
  readonly key: Uint8Array;
  readonly fencingToken: number;
  readonly session: Session;
  readonly #queue: Queue;
  readonly #entry: QueueEntry;

  constructor(queue: Queue, entry: QueueEntry, session: Session) {
    this.#queue = queue;
    this.#entry = entry;
    this.key = entry.key;
    this.fencingToken = entry.createRevision;
    this.session = session;
  }

  async unlock(): Promise<void> {
    await this.#queue.remove(this.#entry);
  }

  guard(req: TxnRequest): Promise<TxnResponse> {
    return this.#queue.kv.txn({
      compare: [...this.#queue.ownerCompare(this.#entry), ...(req.compare ?? [])],
      success: req.success ?? [],
      failure: req.failure ?? [],
    });
  }
}
