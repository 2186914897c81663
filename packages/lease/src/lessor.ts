/**
 * The Lessor: the replicated, deterministic half of leases (etcd's `lease.lessor` without its
 * clock). It lives inside the replicated state machine next to the mvcc store, and every replica
 * applies the same grant/revoke/checkpoint entries in the same log order, so every replica holds
 * the same leases. Time never enters it: when a lease expires is decided by the leader's
 * {@link LeaseTimer}, which then proposes a revoke through Raft (so all replicas revoke at the
 * same log index and delete the same keys in the same revision).
 *
 * Which keys belong to a lease is not stored here: the mvcc store records the lease of every key
 * (a put with `lease` attaches, a put without detaches, a delete forgets) and indexes keys by
 * lease. Asking the store keeps one source of truth, so the two can never disagree, not even
 * after a snapshot restore (etcd instead rebuilds its lessor's item sets from the kv on recovery).
 */
import type { Bytes, DeleteKeysOptions, DeleteRangeResult, TxnRequest, TxnResult } from '@flotilla/mvcc';
import { checkLeaseId, LeaseError } from './errors.js';
import { decodeLeases, encodeLeases, type LeaseRecord } from './lessor-snapshot.js';
import { checkMinTtl, DEFAULT_MIN_TTL, normalizeTtl } from './ttl.js';

/**
 * What the Lessor needs from the mvcc store (`MvccStore` satisfies it). Declared structurally so
 * that tests can pass a fake and this package needs mvcc's types only.
 */
export interface LeaseStore {
  /** The keys currently attached to `lease`, in byte order (empty when none). */
  leaseKeys(lease: number): Uint8Array[];
  /** Deletes all `keys` in ONE new revision (none when nothing existed). */
  deleteKeys(keys: readonly Bytes[], options?: DeleteKeysOptions): DeleteRangeResult;
  /** Runs a transaction (used by `attach`/`detach`, which are puts). */
  txn(request: TxnRequest): TxnResult;
}

/** Construction options of a {@link Lessor}. */
export interface LessorOptions {
  /**
   * Grants below this TTL (seconds) are raised to it. Default {@link DEFAULT_MIN_TTL} (2, etcd's
   * value for a 1 s election timeout); use `minTtlForElectionTimeout` for yours. Every replica
   * must use the same value (it shapes replicated state).
   */
  readonly minTtlSeconds?: number;
}

/** A lease as the Lessor knows it. */
export interface LeaseInfo {
  /** The lease id (a positive safe integer). */
  readonly id: number;
  /** The TTL it was granted, in seconds, after the minimum was applied. */
  readonly grantedTtl: number;
  /**
   * Remaining time in ms at the last applied checkpoint, 0 when there is none (never
   * checkpointed, or cleared by a keep-alive). A new leader starts the lease from this (or from
   * the full TTL when 0).
   */
  readonly remainingMs: number;
}

/** {@link Lessor.timeToLive}'s answer: the lease and the keys attached to it. */
export interface LeaseTimeToLive extends LeaseInfo {
  /** The attached keys, in byte order. */
  readonly keys: Uint8Array[];
}

/** {@link Lessor.revoke}'s answer. */
export interface RevokeResult {
  readonly id: number;
  /** The revision that deleted the keys, or the store's current revision when none was attached. */
  readonly revision: number;
  /** The keys deleted (all in that one revision), in byte order. */
  readonly keys: Uint8Array[];
}

/** A change applied to a {@link Lessor}, as its listeners see it (after the change). */
export type LessorEvent =
  | { readonly type: 'grant'; readonly lease: LeaseInfo }
  | { readonly type: 'revoke'; readonly id: number; readonly revision: number }
  | { readonly type: 'checkpoint'; readonly id: number; readonly remainingMs: number }
  | { readonly type: 'restore' };

/** Receives {@link LessorEvent}s synchronously, in apply order. */
export type LessorListener = (event: LessorEvent) => void;

/** The mutable record behind a {@link LeaseInfo}. */
interface Lease {
  readonly id: number;
  readonly grantedTtl: number;
  remainingMs: number;
}

/**
 * The replicated lease table. Deterministic: no clock, no timers, no randomness; the same calls
 * in the same order leave every replica with the same state and the same snapshot bytes.
 *
 * Wiring (the store asks the Lessor whether a put's lease exists, the Lessor asks the store for
 * a lease's keys):
 *
 * @example
 * ```ts
 * let lessor: Lessor | undefined;
 * const store = new MvccStore({ leaseExists: (id) => lessor?.has(id) ?? false });
 * lessor = new Lessor(store, { minTtlSeconds: 2 });
 * lessor.grant(7, 10);
 * store.put('service/a', 'up', { lease: 7 });
 * lessor.revoke(7); // deletes service/a in one revision
 * ```
 */
export class Lessor {
  /** The minimum TTL in seconds (see {@link LessorOptions.minTtlSeconds}). */
  readonly minTtl: number;
  #store: LeaseStore;
  readonly #leases = new Map<number, Lease>();
  readonly #listeners = new Set<LessorListener>();

  /**
   * @param store - the mvcc store the leases' keys live in; or `{ store, ...options }` in one object.
   */
  constructor(
    storeOrAll: LeaseStore | (LessorOptions & { readonly store: LeaseStore }),
    options: LessorOptions = {},
  ) {
    let store = storeOrAll as LeaseStore;
    if (isCombined(storeOrAll)) ({ store, ...options } = storeOrAll);
    checkStore(store);
    const min = options.minTtlSeconds ?? DEFAULT_MIN_TTL;
    checkMinTtl(min);
    this.#store = store;
    this.minTtl = min;
  }

  /**
   * Creates lease `id` with `ttlSeconds` (raised to the minimum TTL; see `normalizeTtl` for the
   * exact rule). Returns the lease as granted.
   *
   * @throws LeaseError `INVALID_ARGUMENT` (id), `INVALID_TTL`, `LEASE_EXISTS`.
   */
  grant(id: number, ttlSeconds: number): LeaseInfo {
    checkLeaseId(id);
    const grantedTtl = normalizeTtl(ttlSeconds, this.minTtl);
    if (this.#leases.has(id)) {
      throw new LeaseError('LEASE_EXISTS', `lease ${id} already exists`, { details: { id } });
    }
    const lease: Lease = { id, grantedTtl, remainingMs: 0 };
    this.#leases.set(id, lease);
    const info = snapshotOf(lease);
    this.#emit({ type: 'grant', lease: info });
    return info;
  }

  /**
   * Deletes lease `id` and every key attached to it, all keys in ONE mvcc revision (etcd's
   * `Revoke` deletes them in one write transaction), so a watcher sees them vanish together.
   *
   * @throws LeaseError `INVALID_ARGUMENT`, `LEASE_NOT_FOUND`.
   */
  revoke(id: number): RevokeResult {
    this.#get(id);
    const keys = this.#store.leaseKeys(id);
    // Keys first, then the lease: if the store refused (it never should), the lease survives
    // and the revoke can be retried; never a lease-less key left behind with a dangling id.
    const deleted = this.#store.deleteKeys(keys);
    this.#leases.delete(id);
    this.#emit({ type: 'revoke', id, revision: deleted.revision });
    return { id, revision: deleted.revision, keys };
  }

  /**
   * Attaches the existing `key` to lease `id` by a put that keeps its value (etcd: a put with
   * `--lease` and `--ignore-value`). A key belongs to at most one lease; this moves it.
   * Returns the put's revision. Attaching and detaching are puts: any put with `lease` attaches,
   * any put without detaches, a delete forgets.
   *
   * @throws LeaseError `INVALID_ARGUMENT`, `LEASE_NOT_FOUND`, `KEY_NOT_FOUND`.
   */
  attach(id: number, key: Bytes): { readonly revision: number } {
    this.#get(id);
    const res = this.#store.txn({
      compare: [{ key, target: 'version', result: 'greater', value: 0 }],
      success: [{ put: { key, lease: id, ignoreValue: true } }],
    });
    if (!res.succeeded) throw new LeaseError('KEY_NOT_FOUND', `cannot attach a missing key to lease ${id}`);
    return { revision: res.revision };
  }

  /**
   * Detaches `key` from lease `id` by a put that keeps its value and clears its lease. Returns
   * the put's revision.
   *
   * @throws LeaseError `INVALID_ARGUMENT`, `LEASE_NOT_FOUND`, `KEY_NOT_FOUND` (missing, or not
   * attached to this lease).
   */
  detach(id: number, key: Bytes): { readonly revision: number } {
    this.#get(id);
    const res = this.#store.txn({
      compare: [
        { key, target: 'version', result: 'greater', value: 0 },
        { key, target: 'lease', result: 'equal', value: id },
      ],
      success: [{ put: { key, ignoreValue: true } }],
    });
    if (!res.succeeded) throw new LeaseError('KEY_NOT_FOUND', `the key is not attached to lease ${id}`);
    return { revision: res.revision };
  }

  /**
   * Records that lease `id` had `remainingMs` left when the leader took this checkpoint (etcd
   * 3.4's `LeaseCheckpoint`). `0` clears the checkpoint (a keep-alive renewed the full TTL). A
   * checkpoint only changes what a future leader starts the lease from; it never changes the
   * current leader's deadline.
   *
   * @throws LeaseError `INVALID_ARGUMENT` (id, or `remainingMs` not a non-negative safe
   * integer), `LEASE_NOT_FOUND` (a checkpoint entry applied after the revoke: hosts ignore it).
   */
  checkpoint(id: number, remainingMs: number): void {
    const lease = this.#get(id);
    if (typeof remainingMs !== 'number' || !Number.isSafeInteger(remainingMs) || remainingMs < 0) {
      throw new LeaseError(
        'INVALID_ARGUMENT',
        `remainingMs must be a non-negative safe integer, got ${String(remainingMs)}`,
      );
    }
    lease.remainingMs = remainingMs;
    this.#emit({ type: 'checkpoint', id, remainingMs });
  }

  /** True when lease `id` exists. Pass it as mvcc's `leaseExists` hook. Never throws. */
  has(id: number): boolean {
    return this.#leases.has(id);
  }

  /** Lease `id`, or undefined. */
  lookup(id: number): LeaseInfo | undefined {
    const lease = this.#leases.get(id);
    return lease === undefined ? undefined : snapshotOf(lease);
  }

  /**
   * The granted TTL, the last checkpointed remaining time and the attached keys of lease `id`.
   * (The live remaining time is known only to the leader's {@link LeaseTimer}.)
   *
   * @throws LeaseError `INVALID_ARGUMENT`, `LEASE_NOT_FOUND`.
   */
  timeToLive(id: number): LeaseTimeToLive {
    const lease = this.#get(id);
    return { ...snapshotOf(lease), keys: this.#store.leaseKeys(id) };
  }

  /** Every lease, ascending by id. */
  leases(): LeaseInfo[] {
    return [...this.#leases.values()].sort((a, b) => a.id - b.id).map(snapshotOf);
  }

  /** Number of leases. */
  get size(): number {
    return this.#leases.size;
  }

  /**
   * The leases as deterministic, checksummed bytes (format in `lessor-snapshot.ts` and the
   * README). Take it at the same applied index as the store's snapshot.
   */
  snapshot(): Uint8Array {
    return encodeLeases(this.leases());
  }

  /**
   * Replaces every lease with those in `bytes` (from {@link Lessor.snapshot}). Validates
   * everything first: on `CORRUPT_SNAPSHOT` nothing changed. Listeners get a `restore` event.
   *
   * `store`: the store restored from the same snapshot, when the host replaced its store object
   * (`MvccStore.restore` returns a new one); from then on the Lessor reads and deletes keys there.
   */
  restore(bytes: Uint8Array, store?: LeaseStore): void {
    const records: LeaseRecord[] = decodeLeases(bytes);
    if (store !== undefined) {
      checkStore(store);
      this.#store = store;
    }
    this.#leases.clear();
    for (const r of records) this.#leases.set(r.id, { ...r });
    this.#emit({ type: 'restore' });
  }

  /**
   * Calls `listener` after every grant, revoke, checkpoint and restore, synchronously and in
   * order. A {@link LeaseTimer} subscribes so the leader's view follows the replicated state.
   * Returns a function that unsubscribes. A listener that throws does not disturb the apply: its
   * error is rethrown asynchronously.
   */
  subscribe(listener: LessorListener): () => void {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }

  #get(id: number): Lease {
    checkLeaseId(id);
    const lease = this.#leases.get(id);
    if (lease === undefined) {
      throw new LeaseError('LEASE_NOT_FOUND', `lease ${id} not found`, { details: { id } });
    }
    return lease;
  }

  #emit(event: LessorEvent): void {
    for (const listener of [...this.#listeners]) {
      try {
        listener(event);
      } catch (err) {
        // The replicated apply must not depend on a local observer: report, carry on.
        queueMicrotask(() => {
          throw err;
        });
      }
    }
  }
}

/** True for the `{ store, ...options }` form of the constructor's argument. */
function isCombined(arg: unknown): arg is LessorOptions & { readonly store: LeaseStore } {
  return typeof arg === 'object' && arg !== null && 'store' in arg && !('leaseKeys' in arg);
}

function checkStore(store: LeaseStore): void {
  if (
    typeof store?.leaseKeys !== 'function' ||
    typeof store.deleteKeys !== 'function' ||
    typeof store.txn !== 'function'
  ) {
    throw new LeaseError(
      'INVALID_ARGUMENT',
      'a Lessor needs a store with leaseKeys(), deleteKeys() and txn()',
    );
  }
}

function snapshotOf(lease: Lease): LeaseInfo {
  return { id: lease.id, grantedTtl: lease.grantedTtl, remainingMs: lease.remainingMs };
}
