/**
 * The public request and response types of `@flotilla/mvcc`.
 *
 * They mirror etcd 3.4's v3 API messages (`RangeRequest`, `PutRequest`, `DeleteRangeRequest`,
 * `TxnRequest`, `Compare`, `RequestOp`, `WatchCreateRequest`, `mvccpb.KeyValue`, `mvccpb.Event`)
 * field by field, in camelCase, so that a later layer can map etcd's gRPC API onto them 1:1.
 * Plain objects only: every type crosses a Raft log entry or a network frame through msgpackr
 * unchanged (bytes decode as `Buffer`, a `Uint8Array` subclass).
 *
 * Conventions shared by every request:
 * - Keys, values and range ends are bytes. Inputs accept `string | Uint8Array` ({@link Bytes});
 *   strings are UTF-8 encoded. Results always carry `Uint8Array`s (fresh copies the caller may
 *   keep or mutate).
 * - Keys order by unsigned byte comparison (etcd's `bytes.Compare`).
 * - Revisions are positive integers; a fresh store is at revision 1 and its first write creates
 *   revision 2 (as etcd). `0` means "none" or "current", as documented per field.
 */

/** A key, value or range end as given by the caller: a string (UTF-8 encoded) or raw bytes. */
export type Bytes = string | Uint8Array;

/**
 * One version of a key (etcd's `mvccpb.KeyValue`).
 *
 * Invariants: `createRevision <= modRevision`; `version >= 1` for a live key. In a delete
 * {@link WatchEvent} the `kv` is a tombstone: `value` is empty and `createRevision`, `version`
 * and `lease` are 0, only `key` and `modRevision` (the deleting revision) are set.
 */
export interface KeyValue {
  readonly key: Uint8Array;
  /** Empty when the range asked for `keysOnly`. */
  readonly value: Uint8Array;
  /** Revision of the put that created this generation of the key. */
  readonly createRevision: number;
  /** Revision of the last put to the key. */
  readonly modRevision: number;
  /** Number of puts since the key was (re)created; 1 after the creating put. */
  readonly version: number;
  /** The lease id attached to the key, 0 for none. */
  readonly lease: number;
}

// ---------------------------------------------------------------------------------------------
// Put

/** Options of a put (etcd's `PutRequest` without key and value). */
export interface PutOptions {
  /** Attach the key to this lease id (0 or absent: no lease; a put without lease detaches). */
  readonly lease?: number;
  /** Return the key's previous version in {@link PutResult.prevKv}. */
  readonly prevKv?: boolean;
  /**
   * Keep the key's current value and change only its lease (and bump version/modRevision).
   * The value given must then be empty (`VALUE_PROVIDED`) and the key must exist (`KEY_NOT_FOUND`).
   */
  readonly ignoreValue?: boolean;
  /**
   * Keep the key's current lease. No lease may be given (`LEASE_PROVIDED`) and the key must
   * exist (`KEY_NOT_FOUND`).
   */
  readonly ignoreLease?: boolean;
}

/** A put as an operation of a transaction (etcd's `PutRequest`). */
export interface PutRequest extends PutOptions {
  readonly key: Bytes;
  /** The new value; absent means empty (protobuf's default). */
  readonly value?: Bytes;
}

/** The answer to a put (etcd's `PutResponse`). */
export interface PutResult {
  /** The revision the put created (the transaction's revision when inside a txn). */
  readonly revision: number;
  /** The key before the put, when `prevKv` was asked and the key existed. */
  readonly prevKv?: KeyValue;
}

// ---------------------------------------------------------------------------------------------
// Range

/** Order of range results. `'none'` keeps key order (but see {@link RangeOptions.sortTarget}). */
export type SortOrder = 'none' | 'ascend' | 'descend';

/** The field range results are sorted by. */
export type SortTarget = 'key' | 'version' | 'createRevision' | 'modRevision' | 'value';

/** Options of a range read (etcd's `RangeRequest` without key and range end). */
export interface RangeOptions {
  /**
   * Read the store as of this revision. 0 or absent: the current revision. Below the compacted
   * revision → `COMPACTED`; above the current revision → `FUTURE_REVISION`.
   */
  readonly revision?: number;
  /** At most this many kvs (0 or absent: no limit); `more` tells whether some were left out. */
  readonly limit?: number;
  readonly sortOrder?: SortOrder;
  /**
   * A target other than `'key'` with `sortOrder: 'none'` sorts ascending (etcd 3.4). Ties keep
   * key order in both directions.
   */
  readonly sortTarget?: SortTarget;
  /** Return kvs with empty values. */
  readonly keysOnly?: boolean;
  /** Return only `count` (no kvs; `more` is false). */
  readonly countOnly?: boolean;
  /** Filters applied to the kvs after counting (0 or absent: no bound). `count` ignores them. */
  readonly minModRevision?: number;
  readonly maxModRevision?: number;
  readonly minCreateRevision?: number;
  readonly maxCreateRevision?: number;
}

/** A range read as an operation of a transaction (etcd's `RangeRequest`). */
export interface RangeRequest extends RangeOptions {
  readonly key: Bytes;
  /**
   * Absent: the single `key`. `"\0"`: every key ≥ `key` (and `key = "\0"` with it: all keys).
   * Otherwise the half-open interval `[key, rangeEnd)`. See `prefixEnd` for prefixes.
   */
  readonly rangeEnd?: Bytes;
}

/** The answer to a range read (etcd's `RangeResponse`). */
export interface RangeResult {
  readonly kvs: KeyValue[];
  /**
   * Number of keys in the range at the read revision, ignoring `limit` and the min/max
   * filters (etcd 3.4).
   */
  readonly count: number;
  /** True when `limit` cut the (filtered, sorted) kvs; always false with `countOnly`. */
  readonly more: boolean;
  /**
   * The store's current revision (etcd's header revision), even when reading an older one.
   * Inside a transaction: the revision before the txn until its first write, the txn's new
   * revision after it.
   */
  readonly revision: number;
}

// ---------------------------------------------------------------------------------------------
// Delete range

/** Options of a delete (etcd's `DeleteRangeRequest` without key and range end). */
export interface DeleteRangeOptions {
  /** Return the deleted keys' last versions in {@link DeleteRangeResult.prevKvs}. */
  readonly prevKv?: boolean;
}

/** A delete as an operation of a transaction (etcd's `DeleteRangeRequest`). */
export interface DeleteRangeRequest extends DeleteRangeOptions {
  readonly key: Bytes;
  /** Same convention as {@link RangeRequest.rangeEnd}. */
  readonly rangeEnd?: Bytes;
}

/** The answer to a delete (etcd's `DeleteRangeResponse`). */
export interface DeleteRangeResult {
  /** Number of keys deleted. Deleting nothing creates no revision. */
  readonly deleted: number;
  /** The deleted keys' last versions in key order (empty unless `prevKv` was asked). */
  readonly prevKvs: KeyValue[];
  /**
   * The revision that deleted them, or the current revision when nothing was deleted (inside
   * a transaction: the txn's new revision once it has written anything).
   */
  readonly revision: number;
}

// ---------------------------------------------------------------------------------------------
// Transactions

/** The field a {@link Compare} reads. */
export type CompareTarget = 'version' | 'createRevision' | 'modRevision' | 'value' | 'lease';

/** The relation a {@link Compare} checks: `stored <result> given`. */
export type CompareResult = 'equal' | 'notEqual' | 'greater' | 'less';

/** Fields common to every compare. */
interface CompareBase {
  readonly key: Bytes;
  /**
   * Same convention as {@link RangeRequest.rangeEnd}: a range compare holds when it holds for
   * every key in the range (etcd 3.3+).
   */
  readonly rangeEnd?: Bytes;
  readonly result: CompareResult;
}

/**
 * A compare on a numeric field. A missing key compares as 0 (so `version equal 0` tests that a
 * key does not exist).
 */
export interface NumericCompare extends CompareBase {
  readonly target: 'version' | 'createRevision' | 'modRevision' | 'lease';
  readonly value: number;
}

/**
 * A compare on the value bytes (unsigned byte order). A missing key makes it false, even for
 * `notEqual` (etcd 3.4).
 */
export interface ValueCompare extends CompareBase {
  readonly target: 'value';
  readonly value: Bytes;
}

/** One guard of a transaction (etcd's `Compare`), discriminated by `target`. */
export type Compare = NumericCompare | ValueCompare;

/** One operation of a transaction branch (etcd's `RequestOp`). Nested txns are allowed. */
export type Op =
  | { readonly put: PutRequest }
  | { readonly range: RangeRequest }
  | { readonly deleteRange: DeleteRangeRequest }
  | { readonly txn: TxnRequest };

/** A transaction (etcd's `TxnRequest`): if every compare holds, `success` runs, else `failure`. */
export interface TxnRequest {
  /** Absent means none (then `success` runs). */
  readonly compare?: readonly Compare[];
  readonly success?: readonly Op[];
  readonly failure?: readonly Op[];
}

/** The answer to one operation, mirroring the operation's kind (etcd's `ResponseOp`). */
export type OpResponse =
  | { readonly put: PutResult }
  | { readonly range: RangeResult }
  | { readonly deleteRange: DeleteRangeResult }
  | { readonly txn: TxnResult };

/** The answer to a transaction (etcd's `TxnResponse`). */
export interface TxnResult {
  /** Whether the compares held (so `success` ran). */
  readonly succeeded: boolean;
  /** One response per operation of the branch that ran, in order. */
  readonly responses: OpResponse[];
  /**
   * The txn's new revision if it wrote anything, else the current revision. A nested txn's own
   * `revision` is 0 (etcd 3.4 leaves its header empty).
   */
  readonly revision: number;
}

// ---------------------------------------------------------------------------------------------
// Watches

/** Kinds of events a watch can leave out (etcd's `WatchCreateRequest.filters`). */
export type WatchFilter = 'noPut' | 'noDelete';

/** What to watch (etcd's `WatchCreateRequest`). */
export interface WatchRequest {
  readonly key: Bytes;
  /** Same convention as {@link RangeRequest.rangeEnd}. */
  readonly rangeEnd?: Bytes;
  /**
   * First revision to report. 0 or absent: only changes after the current revision (etcd's
   * default: a watch does NOT replay the current value). An older retained revision replays
   * history first, then continues live. Below the compacted revision: canceled.
   */
  readonly startRevision?: number;
  /** Attach each event's previous version (the key as of `modRevision - 1`). */
  readonly prevKv?: boolean;
  readonly filters?: readonly WatchFilter[];
  /** Receive progress responses when the host calls `MvccStore.notifyProgress()`. */
  readonly progressNotify?: boolean;
}

/** Kind of a {@link WatchEvent}. */
export type EventType = 'put' | 'delete';

/** One change seen by a watch (etcd's `mvccpb.Event`). */
export interface WatchEvent {
  readonly type: EventType;
  /** The new version (put) or a tombstone with the deleting revision (delete). */
  readonly kv: KeyValue;
  /**
   * The key as of `kv.modRevision - 1` when the watch asked for `prevKv`; absent when the key
   * did not exist then (a create) or that revision was compacted.
   */
  readonly prevKv?: KeyValue;
}

/** One delivery to a watch listener (etcd's `WatchResponse`). */
export interface WatchResponse {
  /**
   * Events in revision order. All events of one revision are in the same response (never
   * split); a catch-up response may hold several revisions.
   */
  readonly events: WatchEvent[];
  /**
   * Every matching change up to and including this revision has now been delivered: the
   * revision of the events for a live response, the revision scanned to for a catch-up
   * response, the current revision for a progress or cancel response.
   */
  readonly revision: number;
  /** Set (with `canceled`) when the watch's position had been compacted. */
  readonly compactRevision?: number;
  /** The watch ended; no further responses follow. */
  readonly canceled?: boolean;
  /** Why the watch was canceled when the request itself was invalid (etcd's `cancel_reason`). */
  readonly cancelReason?: string;
  /** A progress notification: no events, `revision` is the current revision. */
  readonly progress?: boolean;
}

/**
 * Receives a watch's responses, one call at a time and never synchronously from the write that
 * caused them. Returning a promise applies back-pressure: the next response waits until it
 * settles (and the watch falls back to catching up from history if too much piles up).
 */
export type WatchListener = (resp: WatchResponse) => void | Promise<void>;

/** A running watch. */
export interface Watcher {
  /** Unique per store, increasing from 1. */
  readonly id: number;
  /** Stops the watch; no response is delivered after this returns. Idempotent. */
  cancel(): void;
}

/**
 * The `for await` form of a watch: iterates its responses; the iteration ends after a canceled
 * response, or when {@link Watcher.cancel} is called (or the loop is left with `break`).
 */
export interface WatchStream extends Watcher, AsyncIterableIterator<WatchResponse> {
  /** The next response; `done` once the watch is canceled or ended by a canceled response. */
  next(): Promise<IteratorResult<WatchResponse, undefined>>;
  /** Cancels the watch (called by `break` in a `for await` loop). */
  return(): Promise<IteratorResult<WatchResponse, undefined>>;
}

// ---------------------------------------------------------------------------------------------
// Store-level results and options

/** The answer to `MvccStore.hashKV` (etcd's `HashKVResponse`). */
export interface HashKVResult {
  /** A 32-bit hash of the retained history up to the requested revision. */
  readonly hash: number;
  /** The store's current revision. */
  readonly revision: number;
  /** The store's compacted revision (0 when never compacted). */
  readonly compactRevision: number;
}

/** Options of `MvccStore.deleteKeys` (used by the lease package to revoke a lease in one revision). */
export interface DeleteKeysOptions {
  readonly prevKv?: boolean;
}

/** Construction options of `MvccStore`. All optional; the defaults suit most hosts. */
export interface MvccStoreOptions {
  /**
   * Most events a watcher may have queued but not yet delivered before it stops queueing and
   * falls back to catching up from history (etcd's "unsynced" watchers). Also the size of one
   * catch-up response (whole revisions, so a single large revision may exceed it). Default 1024.
   */
  readonly watchBufferEvents?: number;
  /**
   * Tells whether a lease id exists. When given, a put with an unknown lease fails with
   * `LEASE_NOT_FOUND` (etcd's "requested lease not found"); when absent, any lease id is stored.
   */
  readonly leaseExists?: (lease: number) => boolean;
  /**
   * Runs watch deliveries later. Default `queueMicrotask`; a deterministic simulation may pass
   * its own scheduler. Must never run the task synchronously.
   */
  readonly schedule?: (task: () => void) => void;
  /**
   * Called when a watch listener throws or its promise rejects; the watch is canceled first.
   * Default: rethrows asynchronously (an uncaught exception, like an EventEmitter listener).
   */
  readonly onListenerError?: (error: unknown, watchId: number) => void;
}
