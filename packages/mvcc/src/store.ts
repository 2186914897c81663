/**
 * `MvccStore`: the revisioned key-value store with etcd 3.4's v3 semantics.
 *
 * The store is a deterministic state machine: no clock, no randomness, no I/O. Applying the
 * same operations in the same order on two replicas yields the same revisions, the same reads,
 * the same watch events and byte-identical snapshots. Time-driven behaviour (watch progress
 * notifications) is triggered by the host.
 *
 * Revisions follow etcd: a fresh store is at revision 1; each put, delete that deletes
 * something, or transaction that writes anything creates exactly one new revision, shared by all
 * its writes. `compactMain` is etcd's `compactMainRev`: -1 until the first compaction, so that
 * `compact(0)` and `compact(1)` succeed on a fresh store as they do in etcd.
 */
import { describe, toBytes } from './bytes.js';
import { MvccError } from './errors.js';
import { hashHistory } from './hash.js';
import { History } from './history.js';
import { KeyIndex } from './key-index.js';
import { type KeyRev, versionAt } from './key-rev.js';
import { readRange, toKv } from './read.js';
import {
  int,
  key as keyArg,
  type NTxn,
  normalizeDelete,
  normalizePut,
  normalizeRange,
  normalizeTxn,
  normalizeWatch,
} from './requests.js';
import { decodeSnapshot, encodeSnapshot } from './snapshot.js';
import { WatchStreamImpl } from './stream.js';
import {
  checkDuplicates,
  checkPut,
  decide,
  newVersion,
  precheck,
  putResult,
  runTxn,
  WriteTxn,
} from './txn.js';
import type {
  Bytes,
  DeleteKeysOptions,
  DeleteRangeOptions,
  DeleteRangeResult,
  HashKVResult,
  KeyValue,
  MvccStoreOptions,
  PutOptions,
  PutResult,
  RangeOptions,
  RangeResult,
  TxnRequest,
  TxnResult,
  Watcher,
  WatchListener,
  WatchRequest,
  WatchStream,
} from './types.js';
import { WatchHub } from './watch.js';

const DEFAULT_WATCH_BUFFER_EVENTS = 1024;

function fn<T>(v: T | undefined, what: string): T | undefined {
  if (v !== undefined && typeof v !== 'function') {
    throw new MvccError('INVALID_ARGUMENT', `${what} must be a function, got ${describe(v)}`);
  }
  return v;
}

/** By default a throwing listener surfaces as an uncaught exception, like an EventEmitter's. */
function rethrow(error: unknown): void {
  queueMicrotask(() => {
    throw error;
  });
}

/**
 * An in-memory multi-version key-value store with etcd 3.4's v3 semantics: revisions, ranges
 * at any retained revision, transactions, compaction, watches, snapshots.
 *
 * @example
 * ```ts
 * const store = new MvccStore();
 * store.put('a', '1');                                  // revision 2
 * const { kvs } = store.range('a');                     // kvs[0].version === 1
 * store.txn({
 *   compare: [{ key: 'a', target: 'value', result: 'equal', value: '1' }],
 *   success: [{ put: { key: 'a', value: '2' } }],
 *   failure: [],
 * });                                                   // revision 3
 * ```
 */
export class MvccStore {
  private index = new KeyIndex();
  private readonly history = new History();
  private current = 1;
  private compactMain = -1;
  private readonly hub: WatchHub;
  private readonly leaseExists: ((lease: number) => boolean) | undefined;

  constructor(options: MvccStoreOptions = {}) {
    if (typeof options !== 'object' || options === null) {
      throw new MvccError('INVALID_ARGUMENT', `options must be an object, got ${describe(options)}`);
    }
    const bufferEvents = options.watchBufferEvents ?? DEFAULT_WATCH_BUFFER_EVENTS;
    if (!Number.isSafeInteger(bufferEvents) || bufferEvents < 1) {
      throw new MvccError(
        'INVALID_ARGUMENT',
        `watchBufferEvents must be a positive integer, got ${bufferEvents}`,
      );
    }
    this.leaseExists = fn(options.leaseExists, 'leaseExists');
    const store = this;
    this.hub = new WatchHub(
      {
        get revision() {
          return store.current;
        },
        get compactMain() {
          return store.compactMain;
        },
        history: this.history,
        get index() {
          return store.index;
        },
      },
      {
        bufferEvents,
        schedule: fn(options.schedule, 'schedule') ?? queueMicrotask,
        onListenerError: fn(options.onListenerError, 'onListenerError') ?? rethrow,
      },
    );
  }

  /** The current revision: 1 on a fresh store, then the revision of the last write. */
  get revision(): number {
    return this.current;
  }

  /** The revision of the last compaction; 0 if the store was never compacted. */
  get compactRevision(): number {
    return Math.max(this.compactMain, 0);
  }

  /** Applies staged changes at one new revision and queues them to the watchers. */
  private commit(changes: readonly KeyRev[]): void {
    if (changes.length === 0) return;
    const rev = this.current + 1;
    for (const rec of changes) {
      this.index.setHead(rec);
      this.history.append(rec);
    }
    this.current = rev;
    this.hub.notify(changes, rev);
  }

  private begin(): WriteTxn {
    return new WriteTxn(this.index, this.current, this.compactMain);
  }

  /**
   * Sets `key` to `value` at a new revision (etcd's Put).
   *
   * @throws MvccError `EMPTY_KEY`, `VALUE_PROVIDED` (`ignoreValue` with a value),
   *   `LEASE_PROVIDED` (`ignoreLease` with a lease), `KEY_NOT_FOUND` (an ignore flag on a
   *   missing key), `LEASE_NOT_FOUND` (with a `leaseExists` hook), `INVALID_ARGUMENT`.
   */
  put(key: Bytes, value: Bytes, opts?: PutOptions): PutResult {
    const p = normalizePut(key, value, opts);
    // A plain put checks its lease before the ignore flags (etcd's applier Put), the reverse of
    // a put inside a transaction (etcd's checkRequestPut); both orders are etcd 3.4's.
    checkPut(p, this.index, this.leaseExists, true);
    // The single-write fast path of a txn: no staging needed, nothing can fail from here.
    const cur = this.index.head(p.key);
    const rec = newVersion(p, cur, this.current + 1);
    const res = putResult(p, cur, rec.main);
    this.commit([rec]);
    return res;
  }

  /**
   * Reads a key or a range (etcd's Range). See {@link RangeOptions} for the range-end
   * convention and etcd's count/limit/sort rules.
   *
   * @throws MvccError `EMPTY_KEY`, `COMPACTED`, `FUTURE_REVISION`, `INVALID_ARGUMENT`.
   */
  range(key: Bytes, rangeEnd?: Bytes, opts?: RangeOptions): RangeResult {
    if (rangeEnd === undefined && opts === undefined) {
      // Point read at the current revision, the common case: no options to normalize.
      const head = this.index.head(keyArg(key));
      const kvs = head === undefined || head.version === 0 ? [] : [toKv(head)];
      return { kvs, count: kvs.length, more: false, revision: this.current };
    }
    const r = normalizeRange(key, rangeEnd, opts);
    return readRange(this.index, undefined, r, this.current, this.compactMain);
  }

  /**
   * Deletes a key or a range at one new revision (etcd's DeleteRange). Deleting nothing creates
   * no revision.
   *
   * @throws MvccError `EMPTY_KEY`, `INVALID_ARGUMENT`.
   */
  deleteRange(key: Bytes, rangeEnd?: Bytes, opts?: DeleteRangeOptions): DeleteRangeResult {
    const d = normalizeDelete(key, rangeEnd, opts);
    const w = this.begin();
    const res = w.deleteRange(d);
    this.commit(w.changes);
    return res;
  }

  /**
   * Runs a transaction (etcd's Txn): if every compare holds, the `success` ops run, otherwise
   * the `failure` ops, all at one new revision (none if nothing is written). Nested txns are
   * allowed. On any error nothing is applied.
   *
   * @throws MvccError `EMPTY_KEY`, `VALUE_PROVIDED`, `LEASE_PROVIDED`, `DUPLICATE_KEY`,
   *   `KEY_NOT_FOUND`, `LEASE_NOT_FOUND`, `FUTURE_REVISION`, `COMPACTED`, `INVALID_ARGUMENT`.
   */
  txn(req: TxnRequest): TxnResult {
    const t = normalizeTxn(req);
    checkDuplicates(t.success);
    checkDuplicates(t.failure);
    const decisions = new Map<NTxn, boolean>();
    decide(t, this.index, this.current, decisions);
    precheck(t, decisions, this.index, this.current, this.compactMain, this.leaseExists);
    const w = this.begin();
    const res = runTxn(t, w, decisions, false);
    this.commit(w.changes);
    return res;
  }

  /**
   * Drops the history before `revision` (etcd's Compact): afterwards reads below it fail with
   * `COMPACTED`, while every key keeps its newest version at or below it, so reads at
   * `revision` and later are unchanged. A deletion at or below `revision` is forgotten entirely.
   *
   * @throws MvccError `COMPACTED` (at or below the compacted revision; any negative revision),
   *   `FUTURE_REVISION` (above the current revision), `INVALID_ARGUMENT`.
   */
  compact(revision: number): void {
    if (revision === undefined) throw new MvccError('INVALID_ARGUMENT', 'revision is required');
    const rev = int(revision, 'revision');
    if (rev <= this.compactMain) {
      throw new MvccError(
        'COMPACTED',
        `revision ${rev} has been compacted (compacted at ${this.compactMain})`,
      );
    }
    if (rev > this.current) {
      throw new MvccError('FUTURE_REVISION', `revision ${rev} is above the current revision ${this.current}`);
    }
    const index = this.index;
    // Records at `rev` stay in the log only if compaction keeps them in the index (live and the
    // key's newest at `rev`): what an etcd backend still holds after compacting.
    const touched = this.history.compact(
      rev,
      (r) => r.version !== 0 && versionAt(index.head(r.key), rev) === r,
    );
    // `touched` holds every record made since the previous compaction up to `rev`, so each key
    // changed in that span has its newest version at or below `rev` among them: the version
    // compaction keeps (etcd's keyIndex.compact). Cutting `prev` under every touched record cuts
    // each chain right under that version, without looking anything up. Keys not in `touched`
    // were already cut by the previous compaction.
    for (const r of touched) r.prev = undefined;
    // A kept version that is a tombstone goes too: the key was deleted at or below `rev`.
    for (const r of touched) if (r.version === 0) this.dropTombstone(r, rev);
    this.compactMain = rev;
  }

  /** Drops tombstone `t` if it is its key's newest version at or below `rev`. */
  private dropTombstone(t: KeyRev, rev: number): void {
    let newer: KeyRev | undefined;
    let r = this.index.head(t.key);
    while (r !== undefined && r.main > rev) {
      newer = r;
      r = r.prev;
    }
    if (r !== t) return;
    if (newer === undefined) this.index.remove(t.key);
    else newer.prev = undefined;
  }

  /**
   * Watches a key or range (etcd's Watch). With a listener, responses are delivered to it
   * asynchronously; without one, the returned {@link WatchStream} yields them to `for await`.
   *
   * A watch that must be canceled (start below the compacted revision, an empty key, an empty
   * range) is reported through a response with `canceled: true`, never thrown.
   *
   * @throws MvccError `INVALID_ARGUMENT` only for a request of the wrong shape or types.
   */
  watch(req: WatchRequest): WatchStream;
  watch(req: WatchRequest, listener: WatchListener): Watcher;
  watch(req: WatchRequest, listener?: WatchListener): Watcher | WatchStream {
    if (listener !== undefined && typeof listener !== 'function') {
      throw new MvccError('INVALID_ARGUMENT', `listener must be a function, got ${describe(listener)}`);
    }
    const n = normalizeWatch(req);
    if (listener === undefined) return new WatchStreamImpl((l) => this.hub.watch(n, l));
    return this.hub.watch(n, listener);
  }

  /**
   * Sends a progress response to each watch created with `progressNotify` that is caught up and
   * received no events since the previous call. The host calls this periodically (etcd: every
   * 10 minutes by default), since the store has no clock.
   */
  notifyProgress(): void {
    this.hub.notifyProgress();
  }

  /**
   * The whole state (every retained version, the revision, the compaction point) as bytes with
   * a checksum. Deterministic: equal histories give equal bytes. Watches are not included.
   */
  snapshot(): Uint8Array {
    return encodeSnapshot(this.index, this.history, this.current, this.compactMain);
  }

  /**
   * A new store holding the state `bytes` was taken from.
   *
   * @throws MvccError `CORRUPT_SNAPSHOT` for truncated, damaged or inconsistent input.
   */
  static restore(bytes: Uint8Array, options?: MvccStoreOptions): MvccStore {
    const state = decodeSnapshot(bytes);
    const store = new MvccStore(options);
    store.index = KeyIndex.load(state.keys, state.heads, state.leased);
    const log = state.log;
    for (let i = 0; i < log.length; i++) store.history.append(log[i] as KeyRev);
    store.current = state.revision;
    store.compactMain = state.compactMain;
    return store;
  }

  /**
   * A hash of the retained history up to `revision` (default: current), for comparing
   * replicas (etcd's HashKV).
   *
   * @throws MvccError `COMPACTED` (at or below the compacted revision), `FUTURE_REVISION`,
   *   `INVALID_ARGUMENT` (negative).
   */
  hashKV(revision?: number): HashKVResult {
    let rev = int(revision, 'revision');
    if (rev < 0) throw new MvccError('INVALID_ARGUMENT', `revision must not be negative, got ${rev}`);
    if (rev > 0 && rev <= this.compactMain) {
      throw new MvccError(
        'COMPACTED',
        `revision ${rev} has been compacted (compacted at ${this.compactMain})`,
      );
    }
    if (rev > this.current) {
      throw new MvccError('FUTURE_REVISION', `revision ${rev} is above the current revision ${this.current}`);
    }
    if (rev === 0) rev = this.current;
    const hash = hashHistory(this.index, this.history, this.compactMain, rev);
    return { hash, revision: this.current, compactRevision: this.compactRevision };
  }

  /** The keys currently attached to `lease`, in byte order (for the lease package). */
  leaseKeys(lease: number): Uint8Array[] {
    const id = int(lease, 'lease');
    return this.index.leaseKeys(id).map(toBytes);
  }

  /** Every lease id with at least one key attached, ascending (to rebuild a lessor). */
  leaseIds(): number[] {
    return this.index.leaseIds();
  }

  /**
   * Deletes the given keys that exist, all at one new revision, in byte order (how etcd's
   * lessor revokes a lease: one transaction of single-key deletes over the sorted keys). Keys
   * that do not exist are skipped; if none exists no revision is created.
   *
   * @throws MvccError `EMPTY_KEY`, `INVALID_ARGUMENT`.
   */
  deleteKeys(keys: readonly Bytes[], opts?: DeleteKeysOptions): DeleteRangeResult {
    if (!Array.isArray(keys)) {
      throw new MvccError('INVALID_ARGUMENT', `keys must be an array, got ${describe(keys)}`);
    }
    const names = [...new Set(keys.map((k) => keyArg(k)))].sort();
    const prevKv = normalizeDelete('k', undefined, opts).prevKv;
    const w = this.begin();
    let deleted = 0;
    const prevKvs: KeyValue[] = [];
    for (const k of names) {
      const res = w.deleteRange({ kind: 'deleteRange', key: k, end: undefined, prevKv });
      deleted += res.deleted;
      prevKvs.push(...res.prevKvs);
    }
    this.commit(w.changes);
    return { deleted, prevKvs, revision: w.rev };
  }
}
